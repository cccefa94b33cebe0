//! `-o` mount options.

use super::CliError;
use super::fuse2fs_options;
use fuse4fs::fs::atime::{AtimeMode, AtimePolicy};
use fuse4fs::fs::mount_state::OnError;

/// Options given with `-o`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    pub ro: bool,
    pub allow_other: bool,
    pub default_permissions: bool,
    pub fsname: Option<String>,
    pub subtype: String,
    pub max_read: Option<u32>,
    /// Where a background server writes its log (default: nowhere).
    pub logfile: Option<std::path::PathBuf>,
    /// Serve POSIX ACLs (FUSE_POSIX_ACL; the kernel enforces them).
    pub acl: bool,
    /// What to do after damage is found (None: the superblock's setting).
    pub errors: Option<OnError>,
    /// Do not replay the journal (`norecovery`/`noload`; implies `ro`).
    pub norecovery: bool,
    /// Seconds between durable journal commits (`commit=`; 0: default).
    pub commit_secs: u64,
    /// After a crash, run the checker's repair pass before serving again
    /// (`fsck`; the same as `fuse4fs --recover --fsck`, but kept with the
    /// mount so that a restart under systemd or --supervise sees it).
    pub fsck: bool,
    /// Set-user-ID bits ignored (`nosuid`; default on, as libfuse).
    pub nosuid: bool,
    /// Device nodes refused (`nodev`; default on, as libfuse).
    pub nodev: bool,
    /// Execution refused (`noexec`).
    pub noexec: bool,
    /// Every change durable before its reply (`sync`).
    pub sync: bool,
    /// Directory changes durable before their reply (`dirsync`).
    pub dirsync: bool,
    /// When reads set atime (`noatime`, `relatime`, `strictatime`,
    /// `nodiratime`, `lazytime`).
    pub atime: AtimePolicy,
    /// Serve requests over FUSE over io_uring (`io_uring`); read(2) when
    /// the kernel does not offer it. Not with crash recovery (see
    /// [`IO_URING_NO_RECOVERY`]).
    pub io_uring: bool,
    /// Give freed blocks back to the host once their free is durable
    /// (`discard`; `nodiscard`, the default, leaves it to `fstrim`).
    pub discard: bool,
    /// Every caller passes the server's permission checks as root would
    /// (fuse2fs's `fakeroot`; the server checks, unless
    /// `default_permissions` is asked for as well).
    pub fakeroot: bool,
    /// statfs counts the metadata's blocks too (`minixdf`; `bsddf`).
    pub minixdf: bool,
    /// A file made when the mount starts and removed when its server ends
    /// (fuse2fs's `lockfile=`); a mount whose lock file exists is refused.
    pub lockfile: Option<std::path::PathBuf>,
    /// Debug logging (`debug`, as -d; fuse2fs's `fuse2fs_debug`).
    pub debug_log: bool,
    /// Stay in the foreground (`debug`, as -d).
    pub foreground: bool,
}

/// Why `-o io_uring` is refused with --supervise and the fd store.
pub const IO_URING_NO_RECOVERY: &str = "-o io_uring cannot be used with --supervise or a \
     systemd fd store (--recover): requests a dead server holds in io_uring entries are \
     never resent (FUSE_NOTIFY_RESEND covers only /dev/fuse), so no restarted server could \
     answer them";

impl Default for Options {
    fn default() -> Self {
        Options {
            ro: false,
            allow_other: false,
            default_permissions: true,
            fsname: None,
            subtype: "fuse4fs".into(),
            max_read: None,
            logfile: None,
            acl: false,
            errors: None,
            norecovery: false,
            commit_secs: 0,
            fsck: false,
            nosuid: true,
            nodev: true,
            noexec: false,
            sync: false,
            dirsync: false,
            atime: AtimePolicy::default(),
            io_uring: false,
            discard: false,
            fakeroot: false,
            minixdf: false,
            lockfile: None,
            debug_log: false,
            foreground: false,
        }
    }
}

impl Options {
    /// Parses every `-o` argument (each comma separated).
    pub fn parse(args: &[String]) -> Result<Self, CliError> {
        let mut o = Options::default();
        let words: Vec<&str> = (args.iter().flat_map(|a| a.split(',')))
            .filter(|s| !s.is_empty())
            .collect();
        fuse2fs_options::kernel_mode(&words, &mut o);
        for &opt in &words {
            let (key, value) = match opt.split_once('=') {
                Some((k, v)) => (k, Some(v)),
                None => (opt, None),
            };
            let need = |v: Option<&str>| {
                v.map(str::to_string)
                    .ok_or_else(|| CliError::Usage(format!("option '{key}' needs a value")))
            };
            match (key, value) {
                ("ro", None) => o.ro = true,
                ("rw", None) => o.ro = false,
                // mount(8)'s meaning; auto and nouser are fstab's.
                ("defaults", None) => {
                    o.ro = false;
                    o.nosuid = false;
                    o.nodev = false;
                    o.noexec = false;
                    o.sync = false;
                }
                ("nosuid", None) => o.nosuid = true,
                ("suid", None) => o.nosuid = false,
                ("nodev", None) => o.nodev = true,
                ("dev", None) => o.nodev = false,
                ("noexec", None) => o.noexec = true,
                ("exec", None) => o.noexec = false,
                ("sync", None) => o.sync = true,
                ("async", None) => o.sync = false,
                ("dirsync", None) => o.dirsync = true,
                ("noatime", None) => o.atime.mode = AtimeMode::Never,
                // Without noatime (or strictatime) the kernel's default,
                // relatime, applies: so for atime and norelatime too.
                ("atime" | "relatime" | "norelatime", None) => o.atime.mode = AtimeMode::Relative,
                ("strictatime", None) => o.atime.mode = AtimeMode::Always,
                ("nostrictatime", None) => {
                    if o.atime.mode == AtimeMode::Always {
                        o.atime.mode = AtimeMode::Relative;
                    }
                }
                ("nodiratime", None) => o.atime.nodiratime = true,
                ("diratime", None) => o.atime.nodiratime = false,
                ("lazytime", None) => o.atime.lazytime = true,
                ("nolazytime", None) => o.atime.lazytime = false,
                // For mount(8) and fstab only (who may mount, when, what
                // to wait for); mount(8) applies what they imply itself.
                (
                    "auto" | "noauto" | "user" | "users" | "nouser" | "owner" | "group" | "_netdev"
                    | "nofail",
                    None,
                ) => {}
                ("user" | "comment", Some(_)) => {}
                (k, _) if k.starts_with("x-") => {}
                ("allow_other", None) => o.allow_other = true,
                ("default_permissions", None) => o.default_permissions = true,
                ("no_default_permissions", None) => o.default_permissions = false,
                ("fsname", v) => o.fsname = Some(need(v)?),
                ("subtype", v) => o.subtype = need(v)?,
                ("max_read", v) => {
                    let v = need(v)?;
                    let n = v
                        .parse()
                        .map_err(|_| CliError::Usage(format!("max_read={v}: not a number")))?;
                    o.max_read = Some(n);
                }
                ("logfile", v) => o.logfile = Some(need(v)?.into()),
                ("acl", None) => o.acl = true,
                ("noacl", None) => o.acl = false,
                ("errors", v) => {
                    o.errors = Some(match need(v)?.as_str() {
                        "continue" => OnError::Continue,
                        "remount-ro" => OnError::RemountRo,
                        "panic" => OnError::Panic,
                        other => {
                            return Err(CliError::Usage(format!(
                                "errors={other}: expected continue, remount-ro or panic"
                            )));
                        }
                    })
                }
                ("norecovery" | "noload", None) => o.norecovery = true,
                ("fsck", None) => o.fsck = true,
                ("io_uring", None) => o.io_uring = true,
                ("discard", None) => o.discard = true,
                ("nodiscard", None) => o.discard = false,
                ("commit", v) => {
                    let v = need(v)?;
                    o.commit_secs = v.parse().map_err(|_| {
                        CliError::Usage(format!("commit={v}: expected a number of seconds"))
                    })?;
                }
                (k, v) if let Some(done) = fuse2fs_options::apply(k, v, &mut o) => done?,
                // A flag given a value: say so rather than "unknown".
                (_, Some(_)) if Options::parse(&[key.to_string()]).is_ok() => {
                    return Err(CliError::Usage(format!(
                        "mount option '{key}' takes no value"
                    )));
                }
                _ => return Err(CliError::Usage(format!("unknown mount option '{opt}'"))),
            }
        }
        // fuse2fs's fakeroot skips its own checks: here the server must
        // make them, unless the kernel is asked to.
        if o.fakeroot
            && !words
                .iter()
                .any(|w| *w == "default_permissions" || *w == "kernel")
        {
            o.default_permissions = false;
        }
        // As fuse2fs: without replay the filesystem can only be read.
        if o.norecovery {
            o.ro = true;
        }
        Ok(o)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn discard_is_a_flag_off_by_default() {
        assert!(!Options::default().discard);
        assert!(Options::parse(&["rw,discard".into()]).unwrap().discard);
        assert!(
            !Options::parse(&["discard,nodiscard".into()])
                .unwrap()
                .discard
        );
        assert!(Options::parse(&["discard=1".into()]).is_err());
    }

    #[test]
    fn io_uring_is_a_flag() {
        assert!(!Options::parse(&["rw".into()]).unwrap().io_uring);
        assert!(Options::parse(&["rw,io_uring".into()]).unwrap().io_uring);
        assert!(Options::parse(&["io_uring=1".into()]).is_err());
    }

    #[test]
    fn parses_lists_and_values() {
        let o =
            Options::parse(&["ro,allow_other".into(), "fsname=img,max_read=4096".into()]).unwrap();
        assert!(o.ro && o.allow_other && o.default_permissions);
        assert_eq!(o.fsname.as_deref(), Some("img"));
        assert_eq!(o.max_read, Some(4096));
    }

    #[test]
    fn rejects_unknown_and_malformed() {
        assert!(
            Options::parse(&["frobnicate".into()])
                .unwrap_err()
                .to_string()
                .contains("frobnicate")
        );
        assert!(Options::parse(&["max_read=x".into()]).is_err());
        assert!(Options::parse(&["fsname".into()]).is_err());
        assert!(Options::parse(&["ro=1".into()]).is_err());
        assert!(Options::parse(&["errors=explode".into()]).is_err());
    }

    #[test]
    fn read_write_options() {
        let o = Options::parse(&["acl,errors=remount-ro".into()]).unwrap();
        assert!(!o.ro && o.acl);
        assert_eq!(o.errors, Some(OnError::RemountRo));
    }

    #[test]
    fn vfs_options() {
        let d = Options::default();
        assert!(d.nosuid && d.nodev && !d.noexec && !d.sync && !d.dirsync);
        assert_eq!(d.atime, AtimePolicy::default());
        assert_eq!(d.atime.mode, AtimeMode::Relative);
        let o = Options::parse(&["rw,nosuid,nodev,noatime".into()]).unwrap();
        assert!(!o.ro && o.nosuid && o.nodev);
        assert_eq!(o.atime.mode, AtimeMode::Never);
        let o = Options::parse(&["suid,dev,noexec,sync,dirsync".into()]).unwrap();
        assert!(!o.nosuid && !o.nodev && o.noexec && o.sync && o.dirsync);
        let o = Options::parse(&["noexec,exec,sync,async".into()]).unwrap();
        assert!(!o.noexec && !o.sync);
        let o = Options::parse(&["strictatime,nodiratime,lazytime".into()]).unwrap();
        assert_eq!(
            o.atime,
            AtimePolicy {
                mode: AtimeMode::Always,
                nodiratime: true,
                lazytime: true
            }
        );
        let o = Options::parse(&["strictatime,nostrictatime,diratime,nolazytime".into()]).unwrap();
        assert_eq!(o.atime, AtimePolicy::default());
        for relative in [
            "noatime,atime",
            "noatime,relatime",
            "strictatime,norelatime",
        ] {
            let o = Options::parse(&[relative.into()]).unwrap();
            assert_eq!(o.atime.mode, AtimeMode::Relative, "{relative}");
        }
        // The last word wins, as with mount(8).
        let o = Options::parse(&["ro,noexec".into(), "rw,exec".into()]).unwrap();
        assert!(!o.ro && !o.noexec);
    }

    #[test]
    fn defaults_and_fstab_only_options() {
        let o = Options::parse(&["ro,noexec,sync,defaults".into()]).unwrap();
        assert!(!o.ro && !o.nosuid && !o.nodev && !o.noexec && !o.sync);
        let o = Options::parse(&["defaults,nosuid".into()]).unwrap();
        assert!(o.nosuid && !o.nodev);
        let ignored = "auto,noauto,user,users,nouser,owner,group,_netdev,nofail,\
                       x-systemd.automount,x-gvfs-show,x-mount.mkdir=0755,user=alice,comment=x";
        let o = Options::parse(&[ignored.into()]).unwrap();
        assert_eq!(o, Options::default());
    }

    #[test]
    fn unknown_options_are_named() {
        let e = Options::parse(&["rw,nosuid,bogus,noatime".into()])
            .unwrap_err()
            .to_string();
        assert_eq!(e, "unknown mount option 'bogus'");
        // Flags take no value.
        assert_eq!(
            Options::parse(&["nosuid=1".into()])
                .unwrap_err()
                .to_string(),
            "mount option 'nosuid' takes no value"
        );
        assert!(Options::parse(&["noatime=yes".into()]).is_err());
        assert!(Options::parse(&["defaults=1".into()]).is_err());
        assert!(Options::parse(&["nofail=0".into()]).is_err());
    }

    #[test]
    fn journal_options() {
        let o = Options::parse(&["noload".into()]).unwrap();
        assert!(o.norecovery && o.ro);
        assert!(Options::parse(&["rw,fsck".into()]).unwrap().fsck);
        let o = Options::parse(&["rw,norecovery".into()]).unwrap();
        assert!(o.ro, "norecovery implies ro");
        assert_eq!(
            Options::parse(&["commit=30".into()]).unwrap().commit_secs,
            30
        );
        assert!(Options::parse(&["commit=soon".into()]).is_err());
        assert!(Options::parse(&["commit".into()]).is_err());
    }
}
