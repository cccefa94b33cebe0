//! Who serves a mount, and how it ended: a small file the server writes
//! once its mount is live and completes when it exits, so that
//! `fuse4fs -u DIR` can find the processes to wait for and their outcome.
//!
//! The kernel does not wait for a FUSE server at unmount (docs/unmount.md):
//! `umount` returns while the server still writes its last commit and
//! checkpoint. Nothing in the kernel maps a mount to the process holding
//! its /dev/fuse fd, so the server names itself here, keyed by the
//! mount's device number (the FUSE connection; the same in every mount
//! namespace, unlike the mount point), in a directory private to the
//! user who mounted (the owner `user_id=` in the mount options names):
//! `/run/fuse4fs-servers` for root; for other users
//! `$XDG_RUNTIME_DIR/fuse4fs-servers`, or `/tmp/fuse4fs-servers-UID`
//! without a runtime directory (UID as seen outside a user namespace, whose
//! root is such a user too). Only a file owned by that user (or root)
//! is believed.
//!
//! The file, one fact a line: `pid PID START` (START: the process's
//! start time in clock ticks, /proc/PID/stat field 22, so that a reused
//! pid is not taken for the server), `holder PID START` under
//! `--supervise`, and at the very end `exit 0` or `exit 1 REASON`.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use fuse4fs::fuse::userns::IdMap;

/// The variable the `--supervise` holder sets for its server: its pid.
pub const HOLDER_ENV: &str = "FUSE4FS_HOLDER_PID";

/// Root's record directory.
const ROOT_DIR: &str = "/run/fuse4fs-servers";
/// The directory's name under a runtime directory.
const NAME: &str = "fuse4fs-servers";

/// A process, told apart from a later one with the same pid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Proc {
    pub pid: u32,
    pub start: u64,
}

impl Proc {
    /// `pid` as it runs now, if it does (a zombie has ended: its files are
    /// closed, its writes done).
    pub fn find(pid: u32) -> Option<Proc> {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        // The command name (field 2) is in parentheses and may hold
        // anything; the fields after the last ')' start at field 3.
        let rest = &stat[stat.rfind(')')? + 1..];
        let fields: Vec<&str> = rest.split_whitespace().collect();
        let state = *fields.first()?;
        if state == "Z" || state == "X" {
            return None;
        }
        let start = fields.get(19)?.parse().ok()?;
        Some(Proc { pid, start })
    }

    /// Whether this very process still runs.
    pub fn alive(&self) -> bool {
        Proc::find(self.pid) == Some(*self)
    }
}

/// What a record says.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Record {
    pub server: Option<Proc>,
    pub holder: Option<Proc>,
    /// The server's exit status and reason, once it has ended its work.
    pub exit: Option<(i32, String)>,
}

impl Record {
    /// Parses a record's text; lines it does not know are skipped.
    pub fn parse(text: &str) -> Record {
        let mut r = Record::default();
        for line in text.lines() {
            let mut w = line.splitn(3, ' ');
            let key = w.next().unwrap_or("");
            let a = w.next().unwrap_or("");
            let b = w.next().unwrap_or("");
            let proc_of = || {
                Some(Proc {
                    pid: a.parse().ok()?,
                    start: b.parse().ok()?,
                })
            };
            match key {
                "pid" => r.server = proc_of(),
                "holder" => r.holder = proc_of(),
                "exit" => {
                    if let Ok(code) = a.parse() {
                        r.exit = Some((code, b.to_string()));
                    }
                }
                _ => {}
            }
        }
        r
    }

    fn text(&self) -> String {
        let mut s = String::new();
        if let Some(p) = self.server {
            s += &format!("pid {} {}\n", p.pid, p.start);
        }
        if let Some(p) = self.holder {
            s += &format!("holder {} {}\n", p.pid, p.start);
        }
        s
    }
}

/// The device number of the mount on `mountpoint` as mountinfo shows it
/// ("0:55"), with the mount's owner (`user_id=`) and type, for the
/// topmost mount there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MountEntry {
    pub dev: String,
    pub fstype: String,
    pub owner: Option<u32>,
}

/// Undoes mountinfo's octal escapes (`\040` for a space, and so on).
fn unescape(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let oct = b.get(i + 1..i + 4).and_then(|d| {
            d.iter()
                .all(|c| (b'0'..=b'7').contains(c))
                .then(|| d.iter().fold(0u32, |v, c| v * 8 + (c - b'0') as u32))
        });
        match oct {
            Some(v) if b[i] == b'\\' && v < 256 => {
                out.push(v as u8);
                i += 4;
            }
            _ => {
                out.push(b[i]);
                i += 1;
            }
        }
    }
    out
}

/// The topmost mount on `mountpoint` in `mountinfo` (the text of
/// /proc/self/mountinfo).
pub fn mount_entry(mountinfo: &str, mountpoint: &Path) -> Option<MountEntry> {
    use std::os::unix::ffi::OsStrExt;
    let want = mountpoint.as_os_str().as_bytes();
    let mut found = None;
    for line in mountinfo.lines() {
        let Some((left, right)) = line.split_once(" - ") else {
            continue;
        };
        let l: Vec<&str> = left.split(' ').collect();
        let r: Vec<&str> = right.split(' ').collect();
        if l.len() < 5 || r.len() < 3 || unescape(l[4]) != want {
            continue;
        }
        let owner = r[2]
            .split(',')
            .find_map(|o| o.strip_prefix("user_id="))
            .and_then(|v| v.parse().ok());
        found = Some(MountEntry {
            dev: l[2].to_string(),
            fstype: r[0].to_string(),
            owner,
        });
    }
    found
}

/// Where user `uid`'s server records live, most likely first; the first
/// is where a server running as `uid` writes.
fn dirs(uid: u32, own: bool) -> Vec<PathBuf> {
    dirs_in(uid, own, &IdMap::own_uids())
}

/// [`dirs`] in the user namespace `map` describes. Root of a user
/// namespace (`unshare -Ur`, bwrap, a rootless container) is a plain user
/// outside it: /run/fuse4fs-servers belongs to the real root (it shows as
/// the overflow id), so after it come the directories of the user it
/// stands for. Those are named by the outside id (the same directory
/// whichever namespace of that user looks), and owned, seen from inside,
/// by `uid`.
fn dirs_in(uid: u32, own: bool, map: &IdMap) -> Vec<PathBuf> {
    let named = map.outside(uid).unwrap_or(uid);
    if named == 0 {
        return vec![PathBuf::from(ROOT_DIR)];
    }
    let mut v = Vec::new();
    if uid == 0 {
        // A private /run (a container's own) still has root's.
        v.push(PathBuf::from(ROOT_DIR));
    }
    // Only a runtime directory of the user's own (su keeps the caller's).
    if own
        && let Some(x) = std::env::var_os("XDG_RUNTIME_DIR").map(PathBuf::from)
        && x.is_absolute()
        && std::fs::metadata(&x).is_ok_and(|m| m.is_dir() && m.uid() == uid)
    {
        v.push(x.join(NAME));
    }
    let standard = PathBuf::from(format!("/run/user/{named}/{NAME}"));
    if !v.contains(&standard) {
        v.push(standard);
    }
    v.push(PathBuf::from(format!("/tmp/{NAME}-{named}")));
    v
}

/// The record file of the mount with device `dev` in `dir`.
fn file_in(dir: &Path, dev: &str) -> PathBuf {
    dir.join(dev.replace(':', "_"))
}

/// The record of the mount `entry` and its path, if a trustworthy one
/// exists: owned by the mount's owner or root.
pub fn find(entry: &MountEntry) -> Option<(PathBuf, Record)> {
    let owner = entry.owner.unwrap_or(0);
    let me = rustix::process::geteuid().as_raw();
    for dir in dirs(owner, owner == me) {
        let path = file_in(&dir, &entry.dev);
        let Ok(md) = std::fs::symlink_metadata(&path) else {
            continue;
        };
        if !md.is_file() || (md.uid() != owner && md.uid() != 0) {
            continue;
        }
        if let Ok(text) = std::fs::read_to_string(&path) {
            return Some((path, Record::parse(&text)));
        }
    }
    None
}

/// Suffix of the status file a server keeps beside its record (see
/// `status`).
const STATUS_SUFFIX: &str = ".status";

/// The status file of the mount `entry`, if a trustworthy one exists
/// (owned by the mount's owner or root, as records).
pub fn find_status(entry: &MountEntry) -> Option<PathBuf> {
    let owner = entry.owner.unwrap_or(0);
    let me = rustix::process::geteuid().as_raw();
    dirs(owner, owner == me).into_iter().find_map(|dir| {
        let mut path = file_in(&dir, &entry.dev).into_os_string();
        path.push(STATUS_SUFFIX);
        let path = PathBuf::from(path);
        let md = std::fs::symlink_metadata(&path).ok()?;
        (md.is_file() && (md.uid() == owner || md.uid() == 0)).then_some(path)
    })
}

/// The record a live server keeps for its mount.
pub struct Published {
    path: PathBuf,
}

impl Published {
    /// Writes the record of this server (and its holder, if the holder
    /// started it) for the mount on `mountpoint`. A server that cannot
    /// write it serves all the same; `fuse4fs -u` then says it cannot
    /// find the server.
    pub fn publish(mountpoint: &Path) -> Option<Published> {
        match Published::try_publish(mountpoint) {
            Ok(p) => Some(p),
            Err(e) => {
                tracing::warn!("cannot record this server for `fuse4fs -u`: {e}");
                None
            }
        }
    }

    fn try_publish(mountpoint: &Path) -> std::io::Result<Published> {
        let info = std::fs::read_to_string("/proc/self/mountinfo")?;
        let entry = mount_entry(&info, mountpoint)
            .ok_or_else(|| std::io::Error::other("the mount is not in /proc/self/mountinfo"))?;
        let uid = rustix::process::geteuid().as_raw();
        let mut tried = Vec::new();
        let dir = dirs(uid, true)
            .into_iter()
            .find(|d| match private_dir(d, uid) {
                Ok(()) => true,
                Err(e) => {
                    tried.push(e.to_string());
                    false
                }
            })
            .ok_or_else(|| std::io::Error::other(tried.join("; ")))?;
        let server = Proc::find(std::process::id());
        let parent = rustix::process::getppid().map(|p| p.as_raw_nonzero().get() as u32);
        let holder = std::env::var(HOLDER_ENV)
            .ok()
            .and_then(|v| v.parse::<u32>().ok())
            .filter(|&h| Some(h) == parent)
            .and_then(Proc::find);
        let rec = Record {
            server,
            holder,
            exit: None,
        };
        sweep(&dir);
        let path = file_in(&dir, &entry.dev);
        // Written whole under another name, then renamed: a reader never
        // sees half a record.
        let tmp = dir.join(format!(".{}.tmp", std::process::id()));
        let mut f = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o644)
            .open(&tmp)?;
        f.write_all(rec.text().as_bytes())?;
        drop(f);
        std::fs::rename(&tmp, &path)?;
        Ok(Published { path })
    }

    /// Where this server keeps its status file.
    pub fn status_path(&self) -> PathBuf {
        let mut p = self.path.clone().into_os_string();
        p.push(STATUS_SUFFIX);
        PathBuf::from(p)
    }

    /// Appends how the server ends: `Ok` after the image was left clean.
    pub fn finish<E: std::fmt::Display>(&self, outcome: &Result<(), E>) {
        let line = match outcome {
            Ok(()) => "exit 0\n".to_string(),
            // One line, whatever the message holds.
            Err(e) => format!("exit 1 {}\n", e.to_string().replace('\n', " ")),
        };
        let done = OpenOptions::new()
            .append(true)
            .open(&self.path)
            .and_then(|mut f: File| f.write_all(line.as_bytes()));
        if let Err(e) = done {
            tracing::warn!("{}: {e}", self.path.display());
        }
    }
}

/// How long the record of an ended server is kept for a `fuse4fs -u`
/// still reading it; after a plain `umount` nobody removes it otherwise.
const KEEP_ENDED: std::time::Duration = std::time::Duration::from_secs(60);

/// Removes the records in `dir` whose processes have all ended more than
/// [`KEEP_ENDED`] ago.
fn sweep(dir: &Path) {
    let Ok(list) = std::fs::read_dir(dir) else {
        return;
    };
    for e in list.flatten() {
        let path = e.path();
        // A status file goes with its record (its server rewrites it
        // only when something changed, so its age says nothing).
        if let Some(record) = path.to_str().and_then(|p| p.strip_suffix(STATUS_SUFFIX)) {
            if !Path::new(record).exists() {
                let _ = std::fs::remove_file(&path);
            }
            continue;
        }
        let old = e
            .metadata()
            .and_then(|m| m.modified())
            .is_ok_and(|t| t.elapsed().is_ok_and(|age| age > KEEP_ENDED));
        if !old {
            continue;
        }
        let rec = std::fs::read_to_string(&path)
            .map(|t| Record::parse(&t))
            .unwrap_or_default();
        if ![rec.server, rec.holder].iter().flatten().any(Proc::alive) {
            let _ = std::fs::remove_file(&path);
        }
    }
}

/// Makes `dir` if needed and checks it is a directory (not a link) of
/// `uid`'s that nobody else may write.
fn private_dir(dir: &Path, uid: u32) -> std::io::Result<()> {
    let mode = if uid == 0 { 0o755 } else { 0o700 };
    match std::fs::DirBuilder::new().mode(mode).create(dir) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(in_dir(dir, e)),
    }
    let md = std::fs::symlink_metadata(dir).map_err(|e| in_dir(dir, e))?;
    if !md.is_dir() || md.uid() != uid || md.mode() & 0o022 != 0 {
        return Err(std::io::Error::other(format!(
            "{} is not a private directory of uid {uid}",
            dir.display()
        )));
    }
    Ok(())
}

fn in_dir(dir: &Path, e: std::io::Error) -> std::io::Error {
    std::io::Error::new(e.kind(), format!("{}: {e}", dir.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip() {
        let r = Record {
            server: Some(Proc {
                pid: 12,
                start: 345,
            }),
            holder: Some(Proc { pid: 6, start: 7 }),
            exit: None,
        };
        assert_eq!(Record::parse(&r.text()), r);
        let done = Record::parse(&(r.text() + "exit 1 marking clean: no space left\n"));
        assert_eq!(done.exit, Some((1, "marking clean: no space left".into())));
        assert_eq!(Record::parse("exit 0\n").exit, Some((0, String::new())));
        assert_eq!(Record::parse("pid x 1\n").server, None);
    }

    #[test]
    fn finds_the_topmost_mount_with_escapes() {
        let info = "\
22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw
40 22 0:51 / /mnt/a\\040b rw,nosuid shared:5 - fuse.fuse4fs /img/x.img rw,user_id=1000,group_id=1000
41 40 0:52 / /mnt/a\\040b rw - fuse.fuse4fs /img/y.img rw,user_id=0,group_id=0,allow_other
";
        let e = mount_entry(info, Path::new("/mnt/a b")).unwrap();
        assert_eq!(e.dev, "0:52");
        assert_eq!(e.fstype, "fuse.fuse4fs");
        assert_eq!(e.owner, Some(0));
        let root = mount_entry(info, Path::new("/")).unwrap();
        assert_eq!((root.fstype.as_str(), root.owner), ("ext4", None));
        assert!(mount_entry(info, Path::new("/mnt")).is_none());
    }

    #[test]
    fn sweep_removes_only_old_records_of_ended_servers() {
        let dir = tempfile::tempdir().unwrap();
        let me = Proc::find(std::process::id()).unwrap();
        let dead = Proc {
            start: me.start + 1,
            ..me
        };
        let old = std::time::SystemTime::now() - 2 * KEEP_ENDED;
        let make = |name: &str, p: Proc, aged: bool| {
            let path = dir.path().join(name);
            let r = Record {
                server: Some(p),
                ..Default::default()
            };
            std::fs::write(&path, r.text()).unwrap();
            if aged {
                let f = File::options().write(true).open(&path).unwrap();
                f.set_modified(old).unwrap();
            }
            path
        };
        let gone = make("0_1", dead, true);
        let recent = make("0_2", dead, false);
        let running = make("0_3", me, true);
        // Status files, as old as can be: they go with their record.
        let status = |name: &str| {
            let path = dir.path().join(format!("{name}{STATUS_SUFFIX}"));
            std::fs::write(&path, "{}").unwrap();
            let f = File::options().write(true).open(&path).unwrap();
            f.set_modified(old).unwrap();
            path
        };
        let (gone_s, running_s, orphan_s) = (status("0_1"), status("0_3"), status("0_4"));
        sweep(dir.path());
        assert!(!gone.exists(), "an old record of an ended server goes");
        assert!(recent.exists(), "a -u may still be reading it");
        assert!(running.exists(), "its server runs");
        assert!(
            running_s.exists(),
            "an idle server's status is old but current"
        );
        assert!(!orphan_s.exists(), "a status without a record goes");
        // Its record went in this sweep: it goes in this one or the next.
        sweep(dir.path());
        assert!(!gone_s.exists());
    }

    #[test]
    fn a_user_namespace_root_uses_its_users_directories() {
        let init = IdMap::initial();
        assert_eq!(dirs_in(0, true, &init), vec![PathBuf::from(ROOT_DIR)]);
        // unshare -Ur as uid 1000: root's directory first (a container's
        // own /run), then uid 1000's, named by the outside id.
        let ur = IdMap::parse("0 1000 1\n");
        let d = dirs_in(0, false, &ur);
        assert_eq!(d.first(), Some(&PathBuf::from(ROOT_DIR)));
        assert!(d.contains(&PathBuf::from("/run/user/1000/fuse4fs-servers")));
        assert_eq!(d.last(), Some(&PathBuf::from("/tmp/fuse4fs-servers-1000")));
        // A container's uid 33 is the host's 100032.
        let pod = IdMap::parse("0 1000 1\n1 100000 65536\n");
        assert_eq!(
            dirs_in(33, false, &pod).last(),
            Some(&PathBuf::from("/tmp/fuse4fs-servers-100032"))
        );
        // Root mapped to root (a namespace made by root): root's alone.
        let rootns = IdMap::parse("0 0 1000\n");
        assert_eq!(dirs_in(0, true, &rootns), vec![PathBuf::from(ROOT_DIR)]);
    }

    #[test]
    fn this_process_is_found_and_alive() {
        let me = Proc::find(std::process::id()).unwrap();
        assert!(me.alive());
        let other = Proc {
            start: me.start + 1,
            ..me
        };
        assert!(!other.alive(), "a different start time is another process");
    }
}
