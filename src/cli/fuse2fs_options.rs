//! The `-o` options of fuse2fs 1.47 (its own, and the libfuse 2 ones it
//! passes on) that fuse4fs's own parser does not already know, so that a
//! command line written for fuse2fs works with the program name changed.
//! Each either means the same here, is accepted and ignored (it tunes
//! something fuse4fs does its own way), or is refused with one line
//! saying why. README.md, "fuse2fs compatibility", lists them all; the
//! xtest rw/079 holds fuse4fs and fuse2fs to that table.

use super::CliError;
use super::options::Options;

/// libfuse 2 options with a number, accepted and ignored (fuse4fs tunes
/// the transport its own way); the value is still checked.
const IGNORED_NUMBERS: &[&str] = &[
    "max_write",
    "max_readahead",
    "max_background",
    "congestion_threshold",
    "intr_signal",
    "remember",
];

/// libfuse 2 time-outs in seconds, accepted and ignored (fuse4fs picks its
/// own entry and attribute time-outs and invalidates what it changes).
const IGNORED_SECONDS: &[&str] = &[
    "entry_timeout",
    "negative_timeout",
    "attr_timeout",
    "ac_attr_timeout",
];

/// Flags of fuse2fs and libfuse 2 accepted and ignored (README.md,
/// "fuse2fs compatibility", gives each one's reason).
const IGNORED_FLAGS: &[&str] = &[
    "no_default_opts",
    "directio",
    "user_xattr",
    "noblock_validity",
    "nodelalloc",
    "nonempty",
    "large_read",
    "hard_remove",
    "use_ino",
    "readdir_ino",
    "direct_io",
    "kernel_cache",
    "auto_cache",
    "noauto_cache",
    "noforget",
    "nopath",
    "intr",
    "async_read",
    "sync_read",
    "atomic_o_trunc",
    "big_writes",
    "no_remote_lock",
    "no_remote_flock",
    "no_remote_posix_lock",
    "splice_write",
    "no_splice_write",
    "splice_move",
    "no_splice_move",
    "splice_read",
    "no_splice_read",
];

/// The options refused in one line (see [`refused`]).
const REFUSED: &[&str] = &[
    "allow_root",
    "auto_unmount",
    "uid",
    "gid",
    "umask",
    "modules",
    "subdir",
    "rellinks",
    "norellinks",
    "from_code",
    "to_code",
];

/// Whether `key` is one of the fuse2fs or libfuse 2 options documented by
/// README.md's "fuse2fs compatibility" table rather than by `--help`'s
/// option list (which names only those that do something here): the ones
/// accepted and ignored, and the ones refused.
pub fn documented_in_readme(key: &str) -> bool {
    key == "cache_size"
        || [IGNORED_NUMBERS, IGNORED_SECONDS, IGNORED_FLAGS, REFUSED]
            .iter()
            .any(|names| names.contains(&key))
}

/// Applies the fuse2fs or libfuse option `key` (with `value`) to `o`.
/// `None`: not one of theirs (or not in that form: a flag given a value).
pub fn apply(key: &str, value: Option<&str>, o: &mut Options) -> Option<Result<(), CliError>> {
    let need = || value.ok_or_else(|| CliError::Usage(format!("option '{key}' needs a value")));
    match (key, value) {
        // Same meaning.
        ("minixdf", None) => o.minixdf = true,
        ("bsddf", None) => o.minixdf = false,
        ("fakeroot", None) => o.fakeroot = true,
        ("fuse2fs_debug", None) => o.debug_log = true,
        ("debug", None) => {
            o.debug_log = true;
            o.foreground = true;
        }
        // Applied before the other words (see kernel_mode).
        ("kernel", None) => {}
        ("lockfile", _) => match need() {
            Ok(v) if !v.is_empty() => o.lockfile = Some(v.into()),
            Ok(_) => return Some(Err(CliError::Usage("lockfile=: empty path".into()))),
            Err(e) => return Some(Err(e)),
        },
        // Accepted and ignored, values checked as their owners would.
        ("cache_size", _) => {
            return Some(need().and_then(|v| {
                cache_size(v).map(|_| ()).ok_or_else(|| {
                    CliError::Usage(format!(
                        "cache_size={v}: expected 1 byte to 2G, as N, NK, NM or NG"
                    ))
                })
            }));
        }
        (k, _) if IGNORED_NUMBERS.contains(&k) => {
            return Some(need().and_then(|v| {
                v.parse::<u32>()
                    .map(|_| ())
                    .map_err(|_| CliError::Usage(format!("{key}={v}: not a number")))
            }));
        }
        (k, _) if IGNORED_SECONDS.contains(&k) => {
            return Some(need().and_then(|v| match v.parse::<f64>() {
                Ok(t) if t >= 0.0 => Ok(()),
                _ => Err(CliError::Usage(format!("{key}={v}: expected seconds"))),
            }));
        }
        (k, None) if IGNORED_FLAGS.contains(&k) => {}
        _ => return refused(key).map(|why| Err(CliError::Usage(why))),
    }
    Some(Ok(()))
}

/// The options fuse4fs refuses, and why, in one line.
fn refused(key: &str) -> Option<String> {
    let why = match key {
        "allow_root" => {
            "fuse4fs does not filter callers itself; use allow_other (and permissions) instead"
        }
        "auto_unmount" => {
            "fuse4fs keeps a mount whose server died for recovery (--supervise, systemd) and \
             unmounts on SIGTERM; `fuse4fs -u DIR` unmounts and waits"
        }
        "uid" | "gid" | "umask" => {
            "fuse4fs shows the owners and modes stored in the image; to see other ids, mount \
             in a user namespace (README: Containers and user namespaces)"
        }
        "modules" | "subdir" | "rellinks" | "norellinks" | "from_code" | "to_code" => {
            "libfuse modules (subdir, iconv) are not part of fuse4fs"
        }
        _ => return None,
    };
    Some(format!("mount option '{key}' is not supported: {why}"))
}

/// Whether the words ask for fuse2fs's `kernel` mode, and if so what it
/// implies (as fuse2fs puts it before the user's words, so that any of
/// them can undo one part): allow_other, default_permissions, suid, dev,
/// and ACLs.
pub fn kernel_mode(words: &[&str], o: &mut Options) {
    if words.contains(&"kernel") {
        o.allow_other = true;
        o.default_permissions = true;
        o.nosuid = false;
        o.nodev = false;
        o.acl = true;
    }
}

/// A `cache_size=` value in bytes (N, or N with K, M or G), from one byte
/// to 2 GiB less one as fuse2fs allows.
fn cache_size(v: &str) -> Option<u64> {
    let (digits, shift) = match v.char_indices().last()? {
        (i, 'k' | 'K') => (&v[..i], 10),
        (i, 'm' | 'M') => (&v[..i], 20),
        (i, 'g' | 'G') => (&v[..i], 30),
        _ => (v, 0),
    };
    let n: u64 = digits.parse().ok()?;
    let bytes = n.checked_mul(1 << shift)?;
    (1..=i32::MAX as u64).contains(&bytes).then_some(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<Options, String> {
        Options::parse(&[s.to_string()]).map_err(|e| e.to_string())
    }

    #[test]
    fn every_refused_name_has_its_reason() {
        for key in REFUSED {
            assert!(refused(key).is_some(), "{key}");
            assert!(parse(key).is_err(), "{key}");
        }
        for key in IGNORED_FLAGS {
            assert!(parse(key).is_ok(), "{key}");
        }
    }

    #[test]
    fn same_meaning() {
        let o = parse("fakeroot,minixdf,lockfile=/run/x.lock").unwrap();
        assert!(o.fakeroot && o.minixdf && !o.default_permissions);
        assert_eq!(
            o.lockfile.as_deref(),
            Some(std::path::Path::new("/run/x.lock"))
        );
        assert!(!parse("minixdf,bsddf").unwrap().minixdf);
        let d = parse("debug").unwrap();
        assert!(d.debug_log && d.foreground);
        let d = parse("fuse2fs_debug").unwrap();
        assert!(d.debug_log && !d.foreground);
        // fakeroot with the kernel checking is what the user asked for.
        assert!(
            parse("fakeroot,default_permissions")
                .unwrap()
                .default_permissions
        );
        assert!(parse("lockfile").is_err() && parse("lockfile=").is_err());
    }

    #[test]
    fn kernel_mode_and_the_words_after_it() {
        let o = parse("kernel").unwrap();
        assert!(o.allow_other && o.default_permissions && o.acl && !o.nosuid && !o.nodev);
        // The user's own words win, wherever they stand.
        let o = parse("nosuid,kernel").unwrap();
        assert!(o.allow_other && o.nosuid && !o.nodev);
        // kernel mode checks in the kernel: fakeroot has nothing to skip.
        assert!(parse("kernel,fakeroot").unwrap().default_permissions);
    }

    #[test]
    fn ignored_options_check_their_values() {
        for ok in [
            "no_default_opts,directio,user_xattr,noblock_validity,nodelalloc,nonempty",
            "cache_size=32M,cache_size=4096,cache_size=1g,max_write=131072,intr_signal=10",
            "attr_timeout=0,entry_timeout=1.5,remember=3,big_writes,kernel_cache,use_ino",
        ] {
            assert!(parse(ok).is_ok(), "{ok}");
        }
        for bad in [
            "cache_size=0",
            "cache_size=2G",
            "cache_size=lots",
            "cache_size",
            "max_write=big",
            "attr_timeout=-1",
            "use_ino=1",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
        assert_eq!(cache_size("2047M"), Some(2047 << 20));
    }

    #[test]
    fn refusals_are_one_line_and_named() {
        for opt in [
            "allow_root",
            "auto_unmount",
            "uid=0",
            "gid=0",
            "umask=022",
            "modules=subdir",
            "subdir=/",
            "rellinks",
            "from_code=UTF-8",
        ] {
            let e = parse(opt).unwrap_err();
            let key = opt.split('=').next().unwrap();
            assert!(
                e.starts_with(&format!("mount option '{key}' is not supported: ")),
                "{e}"
            );
            assert!(!e.contains('\n'), "{e}");
        }
    }
}
