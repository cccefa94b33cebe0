//! `fuse4fs --generate-docs DIR`: the man pages fuse4fs(1) and
//! mount.fuse.fuse4fs(8) and the bash and zsh completions. The options come
//! from the clap definitions and the `-o` table ([`super::options::OPTION_DOCS`]),
//! so the pages follow them; the rest of each page is written here.

use std::io;
use std::path::Path;

use clap::{Arg, ArgAction, Command, CommandFactory};
use fuse4fs_docgen::{Page, bold, italic, roman, write_completions};

use super::options::OPTION_DOCS;

/// Writes every page and completion file into `dir` (made if missing).
pub fn generate(dir: &Path) -> io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let cmd = super::Args::command();
    fuse4fs_page(cmd.clone())?.write_to(dir)?;
    helper_page()?.write_to(dir)?;
    write_completions(cmd, dir)
}

/// The `.TH` source field: name and version.
fn source() -> String {
    format!("fuse4fs {}", env!("CARGO_PKG_VERSION"))
}

/// fuse4fs(1).
fn fuse4fs_page(cmd: Command) -> io::Result<Page> {
    let mut r = Page::new(cmd, "1", "User Commands", &source())?;
    r.section("DESCRIPTION");
    r.para(
        "fuse4fs serves an ext2, ext3 or ext4 filesystem image (a file or a \
         block device) over FUSE, in the line of fuse2fs(1). Like fuse2fs it \
         returns once the mount is live and keeps serving in the background; \
         -f keeps it in the foreground. As root it mounts with mount(2), as a \
         plain user through fusermount3(1). The mount's type is fuse.fuse4fs.",
    );
    r.para(
        "A plain umount returns before the server has written its last commit \
         and marked the image clean. fuse4fs -u MOUNTPOINT unmounts and waits \
         until the server has exited, and exits 0 only if it left the image \
         clean: use it before copying or checking the image.",
    );
    r.options()?;

    r.section("MOUNT OPTIONS");
    r.para(
        "Given with -o, comma separated; when one contradicts another the \
         last one wins. Any other option fails the mount with one line naming \
         it.",
    );
    for doc in OPTION_DOCS {
        let mut tag = Vec::new();
        for (i, name) in doc.names.iter().enumerate() {
            if i > 0 {
                tag.push(roman(", "));
            }
            tag.push(bold(*name));
            if let Some(v) = doc.value {
                tag.push(bold("="));
                tag.push(italic(v));
            }
        }
        r.tagged(tag, doc.help);
    }

    r.section("FILESYSTEM FEATURES");
    r.para(
        "How far fuse4fs serves each ext4 feature; an image with a refused \
         feature, or one served read-only asked for read-write, is refused \
         with one line naming the feature.",
    );
    for line in super::FEATURES_HELP.lines().skip(1) {
        if let Some((tag, list)) = line.trim().split_once(": ") {
            r.tagged([bold(tag)], list);
        }
    }

    r.section("EXIT STATUS");
    r.tagged(
        [bold("0")],
        "The mount is live (with -f: the server ran until unmounted and left \
         the image clean). With -u: the server exited and left the image clean.",
    );
    r.tagged(
        [bold("1")],
        "An error, said in one line on standard error: missing image, not \
         ext2/3/4, truncated image, unsupported feature, missing mount point, \
         bad mount option, image in use. Nothing is mounted. With -u: the \
         directory is not a fuse4fs mount, or the server did not leave the \
         image clean.",
    );
    r.tagged([bold("2")], "A command line fuse4fs cannot parse.");

    r.section("RECOVERY");
    r.para(
        "fuse4fs is built to survive its own crash. Run under systemd (the \
         unit fuse4fs@.service, which mount.fuse.fuse4fs(8) uses for root's \
         mounts) or under fuse4fs --supervise (a small holder process), the \
         FUSE connection is kept in a file descriptor store; a killed server is \
         restarted at once with --recover, adopts the live connection, replays \
         the journal, and answers the requests the dead one had read. Programs \
         using the mount see a pause, not an error; node ids, file handles and \
         directory offsets stay valid because they come from what is on disk.",
    );
    r.para(
        "With -o fsck (or --recover --fsck) the restarted server runs the \
         checker's repair pass (fuse4fs-fsck -y) on the image before serving \
         again; an image without a journal, or one marked with errors, always \
         gets a -p pass. A server that gives up (exit 1) or is refused its \
         options (exit 2) is not restarted.",
    );

    r.section("ENVIRONMENT");
    r.tagged(
        [bold("FUSE4FS_LOG")],
        "A tracing filter for the log (with -d, or -o logfile=): for example \
         debug or fuse4fs=trace.",
    );
    r.tagged(
        [bold("LISTEN_FDS"), roman(", "), bold("LISTEN_FDNAMES")],
        "Set by systemd or --supervise for a restarted server: the stored FUSE \
         connection and state it adopts (see RECOVERY).",
    );

    r.section("FILES");
    r.tagged(
        [bold("/usr/lib/systemd/system/fuse4fs@.service")],
        "The unit for one crash-surviving mount (scripts/install-systemd puts \
         it in /etc/systemd/system); its instance is the escaped mount point \
         (systemd-escape -p).",
    );
    r.tagged(
        [bold("/sbin/mount.fuse.fuse4fs")],
        "The helper mount(8) runs for type fuse.fuse4fs: see \
         mount.fuse.fuse4fs(8).",
    );
    r.tagged(
        [bold("/etc/fuse.conf")],
        "user_allow_other there lets a plain user's mount take -o allow_other.",
    );

    r.section("EXAMPLES");
    r.example(
        "Mount an image, look around, and unmount it, waiting until the image \
         is final:",
        &[
            "fuse4fs disk.img /mnt/disk",
            "ls /mnt/disk",
            "fuse4fs -u /mnt/disk",
        ],
    );
    r.example(
        "Read-only, letting other users in:",
        &["fuse4fs -o ro,allow_other disk.img /mnt/disk"],
    );
    r.example(
        "A mount that survives a crash of its server, without systemd:",
        &["fuse4fs --supervise -o rw disk.img /mnt/disk"],
    );
    r.example(
        "Through mount(8), and an fstab line (then mount /mnt/disk):",
        &[
            "mount -t fuse.fuse4fs disk.img /mnt/disk",
            "/srv/disk.img /mnt/disk fuse.fuse4fs defaults,noauto 0 0",
        ],
    );

    r.see_also(&[
        ("fuse4fs-fsck", "8"),
        ("mount.fuse.fuse4fs", "8"),
        ("fuse2fs", "1"),
        ("fusermount3", "1"),
        ("mount", "8"),
        ("fstab", "5"),
        ("ext4", "5"),
        ("e2fsck", "8"),
    ]);
    Ok(r)
}

/// The command line mount(8) gives helpers, as scripts/mount.fuse.fuse4fs
/// reads it (tests/integration/manpages.rs holds the script to it).
fn helper_command() -> Command {
    let flag = |id: &'static str, short: char, help: &'static str| {
        Arg::new(id)
            .short(short)
            .action(ArgAction::SetTrue)
            .help(help)
    };
    let valued = |id: &'static str, short: char, name: &'static str, help: &'static str| {
        Arg::new(id)
            .short(short)
            .value_name(name)
            .action(ArgAction::Append)
            .help(help)
    };
    Command::new("mount.fuse.fuse4fs")
        .about("mount a fuse4fs image for mount(8) and fstab")
        .disable_help_flag(true)
        .disable_version_flag(true)
        .arg(
            Arg::new("image")
                .value_name("IMAGE")
                .required(true)
                .help("The filesystem image (a file or block device)."),
        )
        .arg(
            Arg::new("dir")
                .value_name("DIR")
                .required(true)
                .help("The mount point."),
        )
        .arg(valued(
            "options",
            'o',
            "OPTS",
            "Mount options, comma separated: those of fuse4fs(1) and fstab's; may be repeated.",
        ))
        .arg(flag(
            "fake",
            'f',
            "Fake: do everything but the mount (mount -f).",
        ))
        .arg(flag(
            "verbose",
            'v',
            "Verbose: print the command that mounts on standard error.",
        ))
        .arg(flag(
            "sloppy",
            's',
            "Sloppy (mount -s): accepted; fuse4fs refuses unknown options all the same.",
        ))
        .arg(flag(
            "no-mtab",
            'n',
            "No mtab (mount -n): accepted and ignored.",
        ))
        .arg(valued(
            "type",
            't',
            "TYPE",
            "The type mount(8) passes: ignored.",
        ))
        .arg(valued(
            "namespace",
            'N',
            "NS",
            "The namespace mount(8) passes: ignored.",
        ))
}

/// mount.fuse.fuse4fs(8).
fn helper_page() -> io::Result<Page> {
    let mut r = Page::new(helper_command(), "8", "System Administration", &source())?;
    r.section("DESCRIPTION");
    r.para(
        "mount(8) runs /sbin/mount.fuse.fuse4fs for mount -t fuse.fuse4fs \
         IMAGE DIR and for fstab lines of type fuse.fuse4fs. It mounts IMAGE on \
         DIR with fuse4fs(1) so that the mount survives a crash of its server:",
    );
    r.tagged(
        [roman("as root, under systemd")],
        "through the unit fuse4fs@INSTANCE.service, INSTANCE being DIR escaped \
         by systemd-escape -p. The helper writes the image, mount point and \
         options to /run/fuse4fs/DIR.env and starts the unit; systemctl returns \
         once the server is ready. If the server refuses, its message is copied \
         from the journal to standard error.",
    );
    r.tagged(
        [roman("otherwise")],
        "through fuse4fs --supervise, a holder process that keeps the FUSE \
         connection and restarts a crashed server.",
    );
    r.para(
        "The options fstab alone uses (auto, noauto, user, users, nouser, owner, \
         group, nofail, _netdev, x-*, comment=, user=, helper=, uhelper=, loud, \
         silent) are dropped. As with mount.fuse3, the helper asks for suid and \
         dev unless the options say otherwise (mount(8) leaves them out as its \
         defaults, while fuse4fs on its own mounts nosuid,nodev); a user mount \
         gets nosuid,nodev from mount(8), and fusermount3 forces them anyway.",
    );
    r.options()?;

    r.section("UNMOUNTING");
    r.para(
        "umount DIR (or systemctl stop on the unit) ends the mount. A plain \
         umount returns while the server may still be writing its last commit; \
         fuse4fs -u DIR returns once the server has exited and the image is \
         final, and so does systemctl stop.",
    );
    r.section("EXIT STATUS");
    r.tagged([bold("0")], "The mount is live.");
    r.tagged(
        [bold("1")],
        "It is not: a bad command line, a unit already running on DIR, or \
         fuse4fs's own error, said on standard error.",
    );
    r.section("FILES");
    r.tagged(
        [bold("/run/fuse4fs/"), italic("DIR"), bold(".env")],
        "FUSE4FS_IMAGE, FUSE4FS_MOUNTPOINT and FUSE4FS_OPTIONS for the unit of \
         the mount on DIR.",
    );
    r.tagged(
        [bold("/usr/lib/systemd/system/fuse4fs@.service")],
        "The unit (scripts/install-systemd puts it in /etc/systemd/system).",
    );
    r.section("EXAMPLES");
    r.example(
        "Mount an image read-only, then unmount it:",
        &[
            "mount -t fuse.fuse4fs -o ro /srv/disk.img /mnt/disk",
            "fuse4fs -u /mnt/disk",
        ],
    );
    r.example(
        "An fstab line, mounted on demand with mount /mnt/disk:",
        &["/srv/disk.img /mnt/disk fuse.fuse4fs defaults,noauto 0 0"],
    );
    r.see_also(&[
        ("fuse4fs", "1"),
        ("mount", "8"),
        ("fstab", "5"),
        ("mount.fuse3", "8"),
        ("systemd-escape", "1"),
        ("systemd.service", "5"),
    ]);
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_helper_command_is_well_formed() {
        helper_command().debug_assert();
    }

    #[test]
    fn pages_render() {
        let page = String::from_utf8(
            fuse4fs_page(super::super::Args::command())
                .unwrap()
                .finish(),
        )
        .unwrap();
        assert!(page.starts_with(".ie"), "{}", &page[..40]);
        assert!(page.contains(".SH \"MOUNT OPTIONS\""), "{page}");
        let helper = String::from_utf8(helper_page().unwrap().finish()).unwrap();
        assert!(helper.contains(".TH mount.fuse.fuse4fs 8"), "{helper}");
    }
}
