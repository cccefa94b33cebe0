//! `fuse4fs --setquota`, `--setgrace`, `--repquota`: quota limits and
//! grace periods set and listed on an unmounted image. FUSE carries no
//! quotactl, and e2fsprogs only reads limits (debugfs get_quota), so this
//! is how a limit gets into a quota file for `-o usrquota` to enforce.
//! Changes go through the filesystem layer as one transaction (logged in
//! the journal, the quota file growing by the kernel's rules when an id
//! needs a new entry).

use std::path::Path;

use fuse4fs::ext4::quota::{Dquot, Limits, QuotaType};
use fuse4fs::fs::mount::mmp::MmpStart;

use super::{CliError, Options, daemon, open_fs, partition};

/// What to do to the image's quota files.
#[derive(Debug, Default)]
pub struct Request {
    /// `TYPE:ID:BSOFT:BHARD:ISOFT:IHARD` each.
    pub limits: Vec<String>,
    /// `TYPE:BGRACE:IGRACE` each.
    pub grace: Vec<String>,
    /// Print every entry after.
    pub report: bool,
}

/// One `--setquota` or `--setgrace` argument, parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Change {
    Limits(QuotaType, u32, Limits),
    Grace(QuotaType, u32, u32),
}

fn parse_type(s: &str) -> Result<QuotaType, String> {
    match s {
        "u" | "user" | "usr" => Ok(QuotaType::User),
        "g" | "group" | "grp" => Ok(QuotaType::Group),
        "p" | "project" | "prj" => Ok(QuotaType::Project),
        _ => Err(format!(
            "'{s}' is not a quota type (user, group or project)"
        )),
    }
}

/// A block limit as setquota(8) takes it: KiB, or with a K, M, G or T
/// suffix; returned in bytes.
fn parse_blocks(s: &str) -> Result<u64, String> {
    let (num, unit) = match s.char_indices().last() {
        Some((i, c)) if c.is_ascii_alphabetic() => (&s[..i], c.to_ascii_uppercase()),
        _ => (s, 'K'),
    };
    let shift = match unit {
        'K' => 10,
        'M' => 20,
        'G' => 30,
        'T' => 40,
        _ => {
            return Err(format!(
                "'{s}': block limits are KiB, or end in K, M, G or T"
            ));
        }
    };
    let n: u64 = num
        .parse()
        .map_err(|_| format!("'{s}' is not a block limit"))?;
    n.checked_mul(1 << shift)
        .ok_or_else(|| format!("'{s}' is too large"))
}

fn parse_number<T: std::str::FromStr>(s: &str, what: &str) -> Result<T, String> {
    s.parse().map_err(|_| format!("'{s}' is not {what}"))
}

fn parse_limits(spec: &str) -> Result<Change, String> {
    let f: Vec<&str> = spec.split(':').collect();
    let [t, id, bsoft, bhard, isoft, ihard] = f[..] else {
        return Err(format!(
            "--setquota {spec}: expected TYPE:ID:BSOFT:BHARD:ISOFT:IHARD"
        ));
    };
    let ctx = |e: String| format!("--setquota {spec}: {e}");
    Ok(Change::Limits(
        parse_type(t).map_err(ctx)?,
        parse_number(id, "an id").map_err(ctx)?,
        Limits {
            bsoft: parse_blocks(bsoft).map_err(ctx)?,
            bhard: parse_blocks(bhard).map_err(ctx)?,
            isoft: parse_number(isoft, "an inode limit").map_err(ctx)?,
            ihard: parse_number(ihard, "an inode limit").map_err(ctx)?,
        },
    ))
}

fn parse_grace(spec: &str) -> Result<Change, String> {
    let f: Vec<&str> = spec.split(':').collect();
    let [t, b, i] = f[..] else {
        return Err(format!("--setgrace {spec}: expected TYPE:BGRACE:IGRACE"));
    };
    let ctx = |e: String| format!("--setgrace {spec}: {e}");
    Ok(Change::Grace(
        parse_type(t).map_err(ctx)?,
        parse_number(b, "a number of seconds").map_err(ctx)?,
        parse_number(i, "a number of seconds").map_err(ctx)?,
    ))
}

/// Applies `req` to `image` (which must not be mounted), then prints the
/// entries if asked.
pub fn run(image: &Path, opts: &Options, req: &Request) -> Result<(), CliError> {
    let changes: Vec<Change> = (req.grace.iter().map(|s| parse_grace(s)))
        .chain(req.limits.iter().map(|s| parse_limits(s)))
        .collect::<Result<_, _>>()
        .map_err(CliError::Usage)?;
    let region = partition::region(image, opts)?;
    let ro = changes.is_empty();
    let _lock = daemon::lock_image(image, ro, region)?;
    let opts = Options { ro, ..opts.clone() };
    let fs = open_fs(image, region, &opts, MmpStart::Fresh, &|_| Ok(()))?;
    let say = |e: fuse4fs::fs::FsError| CliError::Usage(format!("{}: {e}", image.display()));
    if !fs
        .superblock()
        .has_ro_compat(fuse4fs::ext4::superblock::ro_compat::QUOTA)
    {
        return Err(CliError::Usage(format!(
            "{}: the image has no quota feature (tune2fs -O quota adds it)",
            image.display()
        )));
    }
    if !ro {
        super::mount_rw(&fs, image)?;
        let applied = changes.iter().try_for_each(|c| match *c {
            Change::Limits(t, id, l) => fs.set_quota_limits(t, id, l),
            Change::Grace(t, b, i) => fs.set_quota_grace(t, b, i),
        });
        // Left clean even when a change failed (the earlier ones stand).
        let closed = fs.unmount_clean();
        applied.map_err(|e| match e {
            fuse4fs::fs::FsError::Unsupported => CliError::Usage(format!(
                "{}: the image keeps no quota file of a type given",
                image.display()
            )),
            e => say(e),
        })?;
        closed.map_err(say)?;
    }
    if req.report {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let entries = fs.quota_report().map_err(say)?;
        for t in QuotaType::ALL {
            let Some((bg, ig)) = fs.quota_grace(t).map_err(say)? else {
                continue;
            };
            println!(
                "*** {} quotas: block grace {bg}s, inode grace {ig}s",
                t.name()
            );
            println!(
                "{:>10} {:>12} {:>10} {:>10} {:>8} {:>9} {:>8} {:>8} {:>8}",
                "id", "used-KiB", "soft", "hard", "grace", "inodes", "soft", "hard", "grace"
            );
            for e in entries.iter().filter(|e| e.qtype == t) {
                println!("{}", row(e.id, &e.dquot, now));
            }
        }
    }
    Ok(())
}

/// One report line: space in KiB (rounded up), limits in KiB and inodes,
/// and each grace time left (`-`: none running, `expired`).
fn row(id: u32, q: &Dquot, now: u64) -> String {
    let grace = |t: u64| match t {
        0 => "-".to_string(),
        t if t <= now => "expired".to_string(),
        t => format!("{}s", t - now),
    };
    format!(
        "{:>10} {:>12} {:>10} {:>10} {:>8} {:>9} {:>8} {:>8} {:>8}",
        id,
        q.curspace.div_ceil(1024),
        q.bsoftlimit / 1024,
        q.bhardlimit / 1024,
        grace(q.btime),
        q.curinodes,
        q.isoftlimit,
        q.ihardlimit,
        grace(q.itime)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_parse_as_setquota_takes_them() {
        assert_eq!(
            parse_limits("user:1000:100:2M:5:10").unwrap(),
            Change::Limits(
                QuotaType::User,
                1000,
                Limits {
                    bsoft: 100 << 10,
                    bhard: 2 << 20,
                    isoft: 5,
                    ihard: 10
                }
            )
        );
        assert_eq!(
            parse_grace("p:60:3600").unwrap(),
            Change::Grace(QuotaType::Project, 60, 3600)
        );
        for bad in [
            "user:1000:1:2:3",
            "other:1:0:0:0:0",
            "g:x:0:0:0:0",
            "u:1:5Q:0:0:0",
        ] {
            assert!(parse_limits(bad).unwrap_err().contains(bad), "{bad}");
        }
        assert!(parse_grace("u:1").is_err());
    }

    #[test]
    fn a_report_row_shows_grace_left() {
        let q = Dquot {
            curspace: 1025,
            bsoftlimit: 1 << 20,
            bhardlimit: 2 << 20,
            btime: 160,
            curinodes: 3,
            itime: 90,
            ..Default::default()
        };
        let r = row(7, &q, 100);
        let f: Vec<&str> = r.split_whitespace().collect();
        assert_eq!(
            f,
            ["7", "2", "1024", "2048", "60s", "3", "0", "0", "expired"]
        );
    }
}
