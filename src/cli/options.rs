//! `-o` mount options.

use super::CliError;
use super::fuse2fs_options;
use fuse4fs::fs::atime::{AtimeMode, AtimePolicy};
use fuse4fs::fs::mount::state::OnError;
use fuse4fs::partition::Selection;

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
    /// Where the filesystem starts in the image file (`offset=BYTES`, as
    /// fuse2fs).
    pub offset: Option<u64>,
    /// Which partition of a whole-disk image (`partition=N`).
    pub partition: Option<u32>,
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
    /// Quota types whose limits are enforced, by QuotaType number (user,
    /// group, project): `usrquota` (or `quota`), `grpquota`, `prjquota`;
    /// `noquota` clears them.
    pub quota_limits: [bool; 3],
}

/// Why `-o io_uring` is refused with --supervise and the fd store.
pub const IO_URING_NO_RECOVERY: &str = "-o io_uring cannot be used with --supervise or a \
     systemd fd store (--recover): requests a dead server holds in io_uring entries are \
     never resent (FUSE_NOTIFY_RESEND covers only /dev/fuse), so no restarted server could \
     answer them";

/// One `-o` option (or a pair or family of them) as `--help` and the man
/// page list it: the one place it is documented. [`Options::parse`] refuses
/// a name that is not here, so an option cannot be added undocumented.
#[derive(Debug)]
pub struct OptionDoc {
    /// The names it goes by; one ending in `*` stands for every name with
    /// that prefix.
    pub names: &'static [&'static str],
    /// What follows `=` (`None`: a flag).
    pub value: Option<&'static str>,
    /// What it does.
    pub help: &'static str,
}

impl OptionDoc {
    /// Whether `key` (the part before any `=`) is one of its names.
    pub fn names_key(&self, key: &str) -> bool {
        self.names.iter().any(|n| match n.strip_suffix('*') {
            Some(prefix) => key.starts_with(prefix),
            None => *n == key,
        })
    }

    /// How it is written: `nosuid, suid` or `errors=continue|remount-ro|panic`.
    pub fn syntax(&self) -> String {
        let names = self.names.iter().map(|n| match self.value {
            Some(v) => format!("{n}={v}"),
            None => n.to_string(),
        });
        names.collect::<Vec<_>>().join(", ")
    }
}

/// Every `-o` option, in the order `--help` and fuse4fs(1) list them.
pub const OPTION_DOCS: &[OptionDoc] = &[
    OptionDoc {
        names: &["ro"],
        value: None,
        help: "Read-only.",
    },
    OptionDoc {
        names: &["rw"],
        value: None,
        help: "Read-write (the default).",
    },
    OptionDoc {
        names: &["acl", "noacl"],
        value: None,
        help: "Serve POSIX ACLs: the kernel enforces them and new files inherit \
               default ACLs (noacl, the default: ACL xattrs are plain xattrs).",
    },
    OptionDoc {
        names: &["errors"],
        value: Some("continue|remount-ro|panic"),
        help: "After damage is found while writing: go on, refuse every later \
               change (EROFS), or stop the server. The error is recorded in the \
               superblock as the kernel does. Default: the superblock's setting.",
    },
    OptionDoc {
        names: &["allow_other"],
        value: None,
        help: "Let other users in (a plain user needs user_allow_other in \
               /etc/fuse.conf).",
    },
    OptionDoc {
        names: &["default_permissions", "no_default_permissions"],
        value: None,
        help: "The kernel checks permissions (the default); with \
               no_default_permissions fuse4fs checks them itself, with the \
               caller's groups and capabilities, and names are not cached.",
    },
    OptionDoc {
        names: &["fsname"],
        value: Some("NAME"),
        help: "The mount's source as /proc/mounts shows it (default: the image).",
    },
    OptionDoc {
        names: &["subtype"],
        value: Some("NAME"),
        help: "The mount's type is fuse.NAME (default: fuse.fuse4fs).",
    },
    OptionDoc {
        names: &["max_read"],
        value: Some("BYTES"),
        help: "The largest READ request the kernel sends.",
    },
    OptionDoc {
        names: &["logfile"],
        value: Some("PATH"),
        help: "Where a background server writes its log (default: nowhere).",
    },
    OptionDoc {
        names: &["commit"],
        value: Some("SECONDS"),
        help: "The longest time between durable journal commits (default 5; \
               fsync, fdatasync and syncfs always make one).",
    },
    OptionDoc {
        names: &["fsck"],
        value: None,
        help: "After a crash, run the checker's repair pass (fuse4fs-fsck -y) \
               before serving again, as --recover --fsck does.",
    },
    OptionDoc {
        names: &["norecovery", "noload"],
        value: None,
        help: "Serve an image whose journal needs recovery without replaying \
               it; implies ro.",
    },
    OptionDoc {
        names: &["nosuid", "suid"],
        value: None,
        help: "Ignore set-user-ID and set-group-ID bits (nosuid, the default when \
               fuse4fs is run directly, as with libfuse) or honour them.",
    },
    OptionDoc {
        names: &["nodev", "dev"],
        value: None,
        help: "Refuse device nodes (nodev, the default when fuse4fs is run \
               directly) or allow them.",
    },
    OptionDoc {
        names: &["noexec", "exec"],
        value: None,
        help: "Refuse or allow (the default) running programs from the mount.",
    },
    OptionDoc {
        names: &["sync", "async"],
        value: None,
        help: "Make every change durable (a durable journal commit) before its \
               reply, as ext4 does; async (the default) undoes it.",
    },
    OptionDoc {
        names: &["dirsync"],
        value: None,
        help: "Make every directory change (create, link, unlink, rename, mkdir, \
               rmdir, mknod, symlink) durable before its reply.",
    },
    OptionDoc {
        names: &["noatime"],
        value: None,
        help: "Reads never update atime.",
    },
    OptionDoc {
        names: &["relatime", "atime", "norelatime"],
        value: None,
        help: "A read updates atime when it is not after mtime or ctime, or is \
               a day old (the default, as the kernel's).",
    },
    OptionDoc {
        names: &["strictatime", "nostrictatime"],
        value: None,
        help: "Every read updates atime; nostrictatime goes back to relatime.",
    },
    OptionDoc {
        names: &["nodiratime", "diratime"],
        value: None,
        help: "Reading a directory does not (or does, the default) update its \
               atime.",
    },
    OptionDoc {
        names: &["lazytime", "nolazytime"],
        value: None,
        help: "Keep atime updates out of the periodic commit and out of other \
               files' fsync.",
    },
    OptionDoc {
        names: &["discard", "nodiscard"],
        value: None,
        help: "Give freed blocks back to the host once their free is durable, \
               as ext4's discard does; nodiscard (the default) leaves it to \
               fstrim MOUNTPOINT.",
    },
    OptionDoc {
        names: &["partition"],
        value: Some("N"),
        help: "Serve partition N of a whole-disk image (MBR or GPT; \
               fuse4fs --list IMAGE shows them). Default: the image's only \
               ext2/3/4 partition when it has a partition table.",
    },
    OptionDoc {
        names: &["offset"],
        value: Some("BYTES"),
        help: "Where the filesystem starts in the image, in bytes (fuse2fs's \
               option); nothing before it is read or written. Not with \
               partition=.",
    },
    OptionDoc {
        names: &["noquota", "quota", "usrquota", "grpquota", "prjquota"],
        value: None,
        help: "Enforce the user (usrquota, or quota), group (grpquota) or \
               project (prjquota) limits kept in the image's quota files, as \
               ext4 does: EDQUOT past a hard limit, or past a soft limit once \
               its grace time has run out; CAP_SYS_RESOURCE is exempt. Needs \
               the quota feature and that type's quota file. Usage is kept \
               with the quota feature whatever these say; noquota (the \
               default) enforces nothing. Limits are set with fuse4fs \
               --setquota on the unmounted image. See docs/quota.md.",
    },
    OptionDoc {
        names: &["fakeroot"],
        value: None,
        help: "fuse2fs's: fuse4fs checks permissions itself and lets every \
               caller pass as root would; with default_permissions given too, \
               the kernel still checks.",
    },
    OptionDoc {
        names: &["minixdf", "bsddf"],
        value: None,
        help: "fuse2fs's: statfs counts the metadata's blocks as used too \
               (minixdf), or leaves them out (bsddf, the default).",
    },
    OptionDoc {
        names: &["lockfile"],
        value: Some("FILE"),
        help: "fuse2fs's: FILE is made when the mount starts and removed when \
               its server ends (kept across a recovery); a mount whose FILE \
               exists is refused.",
    },
    OptionDoc {
        names: &["kernel"],
        value: None,
        help: "fuse2fs's: allow_other, default_permissions, suid, dev and acl \
               at once (later words may undo one).",
    },
    OptionDoc {
        names: &["debug", "fuse2fs_debug"],
        value: None,
        help: "fuse2fs's: debug is -d (foreground, debug log); fuse2fs_debug \
               the debug log alone. fuse2fs's other options and the libfuse 2 \
               ones it passes on are accepted and ignored or refused in one \
               line, as README.md's \"fuse2fs compatibility\" says.",
    },
    OptionDoc {
        names: &["io_uring"],
        value: None,
        help: "Serve requests over FUSE over io_uring (Linux 6.14+ with the fuse \
               module's enable_uring=1, else read(2) as usual). Not with \
               --supervise or the systemd fd store, whose crash recovery cannot \
               reach requests held in ring entries.",
    },
    OptionDoc {
        names: &["defaults"],
        value: None,
        help: "rw,suid,dev,exec,async (mount(8)'s meaning).",
    },
    OptionDoc {
        names: &[
            "auto", "noauto", "user", "users", "nouser", "owner", "group", "_netdev", "nofail",
            "x-*",
        ],
        value: None,
        help: "fstab's: accepted and ignored (mount(8) applies what they imply).",
    },
    OptionDoc {
        names: &["comment", "user"],
        value: Some("TEXT"),
        help: "fstab's: accepted and ignored.",
    },
];

/// The `-o` list as `fuse4fs --help` prints it after the options.
pub fn help_text() -> String {
    const WIDTH: usize = 78;
    const INDENT: &str = "          ";
    let mut out = String::from("Mount options (-o):\n");
    for doc in OPTION_DOCS {
        out.push_str("  ");
        out.push_str(&doc.syntax());
        out.push('\n');
        let mut line = String::new();
        for word in doc.help.split_whitespace() {
            if !line.is_empty() && INDENT.len() + line.len() + 1 + word.len() > WIDTH {
                out.push_str(INDENT);
                out.push_str(&line);
                out.push('\n');
                line.clear();
            }
            if !line.is_empty() {
                line.push(' ');
            }
            line.push_str(word);
        }
        out.push_str(INDENT);
        out.push_str(&line);
        out.push('\n');
    }
    out
}

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
            offset: None,
            partition: None,
            fakeroot: false,
            minixdf: false,
            lockfile: None,
            debug_log: false,
            foreground: false,
            quota_limits: [false; 3],
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
            if !OPTION_DOCS.iter().any(|d| d.names_key(key))
                && !super::fuse2fs_options::documented_in_readme(key)
            {
                return Err(CliError::Usage(format!("unknown mount option '{opt}'")));
            }
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
                ("offset", v) => {
                    let v = need(v)?;
                    let n = v.parse().map_err(|_| {
                        CliError::Usage(format!("offset={v}: expected a number of bytes"))
                    })?;
                    o.offset = Some(n);
                }
                ("partition", v) => {
                    let v = need(v)?;
                    match v.parse() {
                        Ok(n) if n > 0 => o.partition = Some(n),
                        _ => {
                            return Err(CliError::Usage(format!(
                                "partition={v}: expected a partition number (1, 2, ...)"
                            )));
                        }
                    }
                }
                ("commit", v) => {
                    let v = need(v)?;
                    o.commit_secs = v.parse().map_err(|_| {
                        CliError::Usage(format!("commit={v}: expected a number of seconds"))
                    })?;
                }
                // ext4's quota options: usage is kept whatever they say
                // (feature quota); they choose whose limits are enforced,
                // checked against the image when it is opened. As ext4,
                // `quota` is `usrquota` and `noquota` clears them all.
                ("noquota", None) => o.quota_limits = [false; 3],
                ("quota" | "usrquota", None) => o.quota_limits[0] = true,
                ("grpquota", None) => o.quota_limits[1] = true,
                ("prjquota", None) => o.quota_limits[2] = true,
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
        if o.offset.is_some() && o.partition.is_some() {
            return Err(CliError::Usage(
                "give -o offset= or -o partition=, not both".into(),
            ));
        }
        Ok(o)
    }

    /// Where in the image the options say the filesystem is.
    pub fn selection(&self) -> Selection {
        match (self.offset, self.partition) {
            (Some(o), _) => Selection::Offset(o),
            (None, Some(n)) => Selection::Partition(n),
            (None, None) => Selection::Auto,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A value each documented `NAME=VALUE` option takes.
    fn sample_value(doc: &OptionDoc) -> &'static str {
        match doc.value {
            Some(v) if v.contains('|') => v.split('|').next().unwrap(),
            Some("SECONDS" | "BYTES" | "N") => "1",
            Some(_) => "x",
            None => unreachable!("a flag has no value"),
        }
    }

    #[test]
    fn every_documented_option_is_accepted_or_refused_as_documented() {
        for doc in OPTION_DOCS {
            assert!(!doc.help.is_empty(), "{doc:?}");
            for name in doc.names {
                let name = name.replace('*', "test");
                let opt = match doc.value {
                    Some(_) => format!("{name}={}", sample_value(doc)),
                    None => name.clone(),
                };
                // Documented names parse, or are refused by a rule of
                // their own that their help text announces.
                if let Err(e) = Options::parse(std::slice::from_ref(&opt)) {
                    let e = e.to_string();
                    assert!(
                        !e.contains("unknown mount option") && doc.help.contains("refused"),
                        "-o {opt}: {e}"
                    );
                }
            }
        }
    }

    #[test]
    fn help_lists_every_option_once() {
        let help = help_text();
        for doc in OPTION_DOCS {
            let line = format!("\n  {}\n", doc.syntax());
            assert_eq!(help.matches(&line).count(), 1, "{line}");
        }
        assert!(help.lines().all(|l| l.len() <= 78), "{help}");
    }

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
    fn quota_options_choose_the_types_enforced() {
        let q = |o: &str| Options::parse(&[o.into()]).unwrap().quota_limits;
        assert_eq!(q("quota"), [true, false, false]);
        assert_eq!(q("usrquota"), [true, false, false]);
        assert_eq!(q("grpquota,prjquota"), [false, true, true]);
        assert_eq!(q("usrquota,grpquota,noquota"), [false; 3]);
        assert_eq!(q("noquota,prjquota"), [false, false, true]);
        assert_eq!(
            Options::parse(&["noquota".into()]).unwrap(),
            Options::default()
        );
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
    fn whole_disk_options() {
        assert_eq!(Options::default().selection(), Selection::Auto);
        let o = Options::parse(&["offset=1048576".into()]).unwrap();
        assert_eq!(o.selection(), Selection::Offset(1 << 20));
        let o = Options::parse(&["ro,partition=2".into()]).unwrap();
        assert_eq!(o.selection(), Selection::Partition(2));
        for bad in [
            "offset=",
            "offset=-1",
            "offset=1M",
            "partition=0",
            "partition=x",
        ] {
            assert!(Options::parse(&[bad.into()]).is_err(), "{bad}");
        }
        assert_eq!(
            Options::parse(&["offset=512,partition=1".into()])
                .unwrap_err()
                .to_string(),
            "give -o offset= or -o partition=, not both"
        );
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
