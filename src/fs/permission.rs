//! Who may do what: the checks the kernel's VFS makes for a mount with
//! `default_permissions` (`generic_permission`, `may_create`,
//! `may_delete`, `may_linkat`, `may_setattr`/`setattr_prepare`,
//! `xattr_permission`), made by the server when the mount has
//! `no_default_permissions` and the kernel leaves them to it.
//!
//! The decisions are pure functions of an inode's mode, owner, group and
//! access ACL and of a [`Caller`]'s credentials; the `Fs` methods at the
//! end load what a decision needs (the inode's ACL, the victim of an
//! unlink) and apply it. Capabilities are checked as the kernel checks
//! them in the initial user namespace (`capable_wrt_inode_uidgid` with
//! every id mapped).

use super::setattr::{Changes, SetTime};
use super::xattr::acl::{self, AclEntry};
use super::{Fs, FsError, Result};
use crate::ext4::inode::{Inode, mode};
use crate::ext4::xattr::{ACL_GROUP, ACL_GROUP_OBJ, ACL_MASK, ACL_OTHER, ACL_USER, ACL_USER_OBJ};
use crate::ext4::{CorruptKind, InodeDamage};

/// Access wanted, as the kernel's MAY_* bits (and access(2)'s X/W/R_OK).
pub mod access {
    pub const EXEC: u32 = 1;
    pub const WRITE: u32 = 2;
    pub const READ: u32 = 4;
}

/// Capability numbers (linux/capability.h) the checks use.
pub mod cap {
    pub const CHOWN: u32 = 0;
    pub const DAC_OVERRIDE: u32 = 1;
    pub const DAC_READ_SEARCH: u32 = 2;
    pub const FOWNER: u32 = 3;
    pub const FSETID: u32 = 4;
    /// Setting or clearing the immutable and append-only flags.
    pub const LINUX_IMMUTABLE: u32 = 9;
    pub const SYS_ADMIN: u32 = 21;
    /// Changing the data-journaling flag.
    pub const SYS_RESOURCE: u32 = 24;
    /// Every capability bit.
    pub const ALL: u64 = u64::MAX;
}

const S_ISUID: u16 = 0o4000;
const S_ISGID: u16 = 0o2000;
const S_ISVTX: u16 = 0o1000;
const S_IXGRP: u16 = 0o0010;
const S_IXUGO: u16 = 0o0111;
const S_IRWXG: u16 = 0o0070;

/// The credentials a request is checked with: the filesystem uid and gid,
/// and, read only when a decision needs them, the supplementary groups
/// and effective capabilities ([`Extra`]).
pub struct Caller {
    pub uid: u32,
    pub gid: u32,
    extra: std::cell::OnceCell<Extra>,
    load: Option<Box<dyn Fn() -> Extra>>,
    /// Whether the caller's user namespace maps an owner and group (None:
    /// the initial namespace, which maps every id).
    maps: Option<Box<dyn Fn(u32, u32) -> bool>>,
}

/// The part of a caller's credentials the request header lacks.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Extra {
    pub groups: Vec<u32>,
    /// Effective capability set, bit n = capability n.
    pub caps: u64,
    /// Set when the caller runs in a user namespace other than the
    /// mount's (`unshare -Ur` by a plain user, a container): its
    /// capabilities are its namespace's, which the kernel counts only
    /// over inodes whose owner and group that namespace maps
    /// (`capable_wrt_inode_uidgid`), and never as the mount's own
    /// (`capable`).
    pub other_namespace: Option<OtherNamespace>,
}

/// The ids a user namespace other than the mount's maps, as the mount
/// sees them (the second column of its `uid_map`/`gid_map` read from
/// the server's namespace): `(first, count)` spans.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OtherNamespace {
    pub uids: Vec<(u32, u32)>,
    pub gids: Vec<(u32, u32)>,
}

impl OtherNamespace {
    /// Whether the namespace maps both `uid` and `gid`
    /// (`privileged_wrt_inode_uidgid`).
    pub fn maps(&self, uid: u32, gid: u32) -> bool {
        let within = |spans: &[(u32, u32)], id: u32| {
            spans
                .iter()
                .any(|&(first, count)| id.checked_sub(first).is_some_and(|off| off < count))
        };
        within(&self.uids, uid) && within(&self.gids, gid)
    }
}

/// What `/proc/<pid>/status` says about a process's credentials.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
struct Status {
    /// Real, effective, saved and filesystem uid.
    uids: [u32; 4],
    gids: [u32; 4],
    groups: Vec<u32>,
    cap_eff: u64,
    cap_prm: u64,
}

fn parse_status(text: &str) -> Option<Status> {
    let ids = |v: &str| -> Option<[u32; 4]> {
        let mut out = [0u32; 4];
        let mut it = v.split_whitespace();
        for o in &mut out {
            *o = it.next()?.parse().ok()?;
        }
        Some(out)
    };
    let (mut uids, mut gids, mut groups, mut eff, mut prm) = (None, None, None, None, None);
    for line in text.lines() {
        let Some((key, value)) = line.split_once(':') else {
            continue;
        };
        match key {
            "Uid" => uids = ids(value),
            "Gid" => gids = ids(value),
            "Groups" => {
                groups = value
                    .split_whitespace()
                    .map(|g| g.parse().ok())
                    .collect::<Option<Vec<u32>>>()
            }
            "CapEff" => eff = u64::from_str_radix(value.trim(), 16).ok(),
            "CapPrm" => prm = u64::from_str_radix(value.trim(), 16).ok(),
            _ => {}
        }
    }
    Some(Status {
        uids: uids?,
        gids: gids?,
        groups: groups?,
        cap_eff: eff?,
        cap_prm: prm?,
    })
}

impl Extra {
    /// The groups and capabilities of a request from `uid`/`gid` (the
    /// request header's) whose process has this `/proc/<pid>/status`.
    /// `None` when the text does not parse or belongs to someone else (the
    /// process is gone and its pid reused, or it changed ids since it
    /// asked).
    ///
    /// An access(2) check (`for_access`) runs with the real ids, and the
    /// kernel gives it no capabilities unless the real uid is 0, then the
    /// permitted set (`access_override_creds`); with AT_EACCESS it runs
    /// with the filesystem ids and effective set like any other request.
    pub fn from_status(text: &str, uid: u32, gid: u32, for_access: bool) -> Option<Extra> {
        let s = parse_status(text)?;
        let caps = if for_access && s.uids[0] == uid && s.gids[0] == gid {
            if uid == 0 { s.cap_prm } else { 0 }
        } else if s.uids[3] == uid && s.gids[3] == gid {
            s.cap_eff
        } else {
            return None;
        };
        Some(Extra {
            groups: s.groups,
            caps,
            other_namespace: None,
        })
    }

    /// For a caller known only from a request header (no process to ask,
    /// or it is gone): no supplementary groups. A request the kernel makes
    /// itself (pid 0) as root gets every capability; any other unknown
    /// caller none.
    pub fn from_header(uid: u32, pid: u32) -> Extra {
        Extra {
            groups: Vec::new(),
            caps: if uid == 0 && pid == 0 { cap::ALL } else { 0 },
            other_namespace: None,
        }
    }
}

impl Caller {
    /// A caller whose groups and capabilities are known.
    pub fn new(uid: u32, gid: u32, extra: Extra) -> Caller {
        let cell = std::cell::OnceCell::new();
        let _ = cell.set(extra);
        Caller {
            uid,
            gid,
            extra: cell,
            load: None,
            maps: None,
        }
    }

    /// A caller whose groups and capabilities `load` finds, once, when a
    /// decision first needs them (most need neither: the owner, or mode
    /// bits that give group and others the same).
    pub fn lazy(uid: u32, gid: u32, load: impl Fn() -> Extra + 'static) -> Caller {
        Caller {
            uid,
            gid,
            extra: std::cell::OnceCell::new(),
            load: Some(Box::new(load)),
            maps: None,
        }
    }

    fn extra(&self) -> &Extra {
        self.extra
            .get_or_init(|| self.load.as_ref().map(|f| f()).unwrap_or_default())
    }

    /// The supplementary groups.
    pub fn groups(&self) -> &[u32] {
        &self.extra().groups
    }

    /// The effective capabilities, bit n = capability n.
    pub fn caps(&self) -> u64 {
        self.extra().caps
    }

    /// Whether `gid` is the caller's group or one of its supplementary ones.
    pub fn in_group(&self, gid: u32) -> bool {
        self.gid == gid || self.groups().contains(&gid)
    }

    /// A caller in a user namespace that maps only the owners and groups
    /// `maps` accepts: its capabilities reach no inode of another owner
    /// or group (the kernel's `capable_wrt_inode_uidgid`).
    pub fn in_namespace(mut self, maps: impl Fn(u32, u32) -> bool + 'static) -> Caller {
        self.maps = Some(Box::new(maps));
        self
    }

    /// `capable(c)` as the mount's namespace judges it: capability `c`
    /// in the caller's effective set, and the caller in that namespace
    /// (capabilities held in a namespace of one's own, which any user
    /// can make, count for nothing here).
    pub fn capable(&self, c: u32) -> bool {
        self.has_cap(c) && self.extra().other_namespace.is_none()
    }

    /// Capability `c` in the effective set, in whatever namespace.
    fn has_cap(&self, c: u32) -> bool {
        c < 64 && self.caps() & (1 << c) != 0
    }

    /// Whether the caller's own namespace, when it is not the mount's,
    /// maps `uid` and `gid`.
    fn own_namespace_maps(&self, uid: u32, gid: u32) -> bool {
        self.extra()
            .other_namespace
            .as_ref()
            .is_none_or(|n| n.maps(uid, gid))
    }

    /// `capable(c)`: capability `c` in the initial user namespace, which a
    /// caller inside another namespace never has (the kernel asks this for
    /// CAP_LINUX_IMMUTABLE and for ext4's data-journaling flag).
    pub fn capable_initial(&self, c: u32) -> bool {
        self.capable(c) && self.maps.is_none()
    }

    /// `inode_owner_or_capable` for an inode owned by `uid`:`gid`.
    pub fn owns_or_capable(&self, uid: u32, gid: u32) -> bool {
        self.uid == uid
            || (self.has_cap(cap::FOWNER)
                && self.own_namespace_maps(uid, gid)
                && self.maps.as_ref().is_none_or(|m| m(uid, gid)))
    }

    /// `capable_wrt_inode_uidgid`: capability `c` over the inode `f`,
    /// which needs its owner and group mapped in the caller's namespace.
    fn capable_over(&self, c: u32, f: &Attrs<'_>) -> bool {
        self.has_cap(c)
            && self.own_namespace_maps(f.uid, f.gid)
            && self.maps.as_ref().is_none_or(|m| m(f.uid, f.gid))
    }

    /// `inode_owner_or_capable`.
    fn owner_or_capable(&self, f: &Attrs<'_>) -> bool {
        self.uid == f.uid || self.capable_over(cap::FOWNER, f)
    }

    /// `in_group_or_capable` for group `gid` of the inode `f`.
    fn in_group_or_capable(&self, f: &Attrs<'_>, gid: u32) -> bool {
        self.in_group(gid) || self.capable_over(cap::FSETID, f)
    }
}

/// What a decision needs of an inode.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Attrs<'a> {
    /// Full i_mode (type and permission bits).
    pub mode: u16,
    pub uid: u32,
    pub gid: u32,
    /// The access ACL, with ACLs served and one stored.
    pub acl: Option<&'a [AclEntry]>,
    /// EXT4_IMMUTABLE_FL is set: no write access for anyone.
    pub immutable: bool,
}

impl Attrs<'_> {
    fn is_dir(&self) -> bool {
        self.mode & mode::S_IFMT == mode::S_IFDIR
    }
    fn is_reg(&self) -> bool {
        self.mode & mode::S_IFMT == mode::S_IFREG
    }
}

/// `posix_acl_permission`: the first entry that names the caller decides,
/// limited by the mask for named entries and the owning group.
fn acl_permission(c: &Caller, f: &Attrs<'_>, acl: &[AclEntry], want: u32) -> Result<()> {
    let want = want as u16 & 7;
    let mask = acl.iter().find(|e| e.tag == ACL_MASK).map_or(7, |e| e.perm);
    let mut found = false;
    for e in acl {
        match e.tag {
            ACL_USER_OBJ if f.uid == c.uid => return ok_if(e.perm & want == want),
            ACL_USER if e.id == c.uid => return ok_if(e.perm & mask & want == want),
            ACL_GROUP_OBJ | ACL_GROUP => {
                let gid = if e.tag == ACL_GROUP_OBJ { f.gid } else { e.id };
                if c.in_group(gid) {
                    found = true;
                    if e.perm & want == want {
                        return ok_if(e.perm & mask & want == want);
                    }
                }
            }
            ACL_OTHER => return ok_if(!found && e.perm & want == want),
            _ => {}
        }
    }
    // posix_acl_valid guarantees an OTHER entry; a stored ACL without one
    // is damage.
    Err(super::error::corrupted(CorruptKind::AccessAclWithoutOther))
}

fn ok_if(allowed: bool) -> Result<()> {
    if allowed {
        Ok(())
    } else {
        Err(FsError::Access)
    }
}

/// `acl_permission_check`: owner bits, else the ACL (when the group bits
/// are not all clear), else group or other bits.
fn mode_permission(c: &Caller, f: &Attrs<'_>, want: u32) -> Result<()> {
    let want = want as u16 & 7;
    let mut m = f.mode;
    if c.uid == f.uid {
        return ok_if(want & !(m >> 6) == 0);
    }
    if let Some(acl) = f.acl
        && m & S_IRWXG != 0
    {
        return acl_permission(c, f, acl, want as u32);
    }
    if want & (m ^ (m >> 3)) != 0 && c.in_group(f.gid) {
        m >>= 3;
    }
    ok_if(want & !m == 0)
}

/// `generic_permission`: the mode (or ACL) check, then the overrides
/// CAP_DAC_READ_SEARCH and CAP_DAC_OVERRIDE give (execute on a file only
/// when some execute bit is set).
pub(crate) fn permission(c: &Caller, f: &Attrs<'_>, want: u32) -> Result<()> {
    // inode_permission: an immutable inode refuses write before any mode
    // check, to root as well.
    if want & access::WRITE != 0 && f.immutable {
        return Err(FsError::Perm);
    }
    let r = mode_permission(c, f, want);
    if !matches!(r, Err(FsError::Access)) {
        return r;
    }
    let want = want & 7;
    if f.is_dir() {
        if want & access::WRITE == 0 && c.capable_over(cap::DAC_READ_SEARCH, f) {
            return Ok(());
        }
        return if c.capable_over(cap::DAC_OVERRIDE, f) {
            Ok(())
        } else {
            r
        };
    }
    if want == access::READ && c.capable_over(cap::DAC_READ_SEARCH, f) {
        return Ok(());
    }
    if (want & access::EXEC == 0 || f.mode & S_IXUGO != 0) && c.capable_over(cap::DAC_OVERRIDE, f) {
        return Ok(());
    }
    r
}

/// `may_create`: write and search on the directory.
pub(crate) fn may_create(c: &Caller, dir: &Attrs<'_>) -> Result<()> {
    permission(c, dir, access::WRITE | access::EXEC)
}

/// `may_delete`: write and search on the directory; in a sticky directory
/// only the owner of the entry or of the directory (or CAP_FOWNER).
pub(crate) fn may_delete(c: &Caller, dir: &Attrs<'_>, victim: &Attrs<'_>) -> Result<()> {
    may_create(c, dir)?;
    if dir.mode & S_ISVTX != 0
        && c.uid != victim.uid
        && c.uid != dir.uid
        && !c.capable_over(cap::FOWNER, victim)
    {
        return Err(FsError::Perm);
    }
    Ok(())
}

/// `may_linkat` with `fs.protected_hardlinks` on: only the owner (or
/// CAP_FOWNER) may link a file that is not a regular, non-setuid,
/// non-executable-setgid file the caller may read and write.
pub(crate) fn may_link_source(c: &Caller, f: &Attrs<'_>) -> Result<()> {
    let safe = f.is_reg()
        && f.mode & S_ISUID == 0
        && f.mode & (S_ISGID | S_IXGRP) != (S_ISGID | S_IXGRP)
        && permission(c, f, access::READ | access::WRITE).is_ok();
    if safe || c.owner_or_capable(f) {
        Ok(())
    } else {
        Err(FsError::Perm)
    }
}

/// `setattr_should_drop_suidgid`: the mode bits a change of the data by
/// this caller clears: setuid, and setgid when group-executable or when
/// the caller is outside the group; none for a caller with CAP_FSETID or
/// anything but a regular file. Setgid without group execute stays for a
/// member of the group (it marks mandatory locking, not privilege).
pub(crate) fn suidgid_to_drop(c: &Caller, f: &Attrs<'_>) -> u16 {
    let mut bits = f.mode & S_ISUID;
    if f.mode & S_ISGID != 0 && (f.mode & S_IXGRP != 0 || !c.in_group_or_capable(f, f.gid)) {
        bits |= S_ISGID;
    }
    if bits == 0 || !f.is_reg() || c.capable(cap::FSETID) {
        return 0;
    }
    bits
}

/// The checks of `vfs_truncate`, `may_setattr` and `setattr_prepare` for
/// a SETATTR; `via_fh` when it came through an open file (ftruncate needs
/// no permission: the open did). A mode change the caller may make but
/// whose setgid bit it may not set loses that bit, as the kernel strips it.
///
/// Without default_permissions the kernel itself clears setuid/setgid
/// after a write or truncate by sending a mode change with those bits
/// removed (no FUSE_HANDLE_KILLPRIV): such a change is allowed to anyone
/// who may write the file, as the write it follows was.
pub(crate) fn check_setattr(
    c: &Caller,
    f: &Attrs<'_>,
    ch: &mut Changes,
    via_fh: bool,
) -> Result<()> {
    if ch.size.is_some() && !via_fh {
        permission(c, f, access::WRITE)?;
    }
    // utimes(NULL): the owner, or anyone who may write.
    let touch = ch.atime == Some(SetTime::Now) && ch.mtime == Some(SetTime::Now);
    if touch && !c.owner_or_capable(f) {
        permission(c, f, access::WRITE)?;
    }
    if let Some(u) = ch.uid {
        let own = c.uid == f.uid && u == f.uid;
        if !own && !c.capable_over(cap::CHOWN, f) {
            return Err(FsError::Perm);
        }
    }
    if let Some(g) = ch.gid {
        let own = c.uid == f.uid && (g == f.gid || c.in_group(g));
        if !own && !c.capable_over(cap::CHOWN, f) {
            return Err(FsError::Perm);
        }
    }
    if let Some(m) = ch.mode {
        let (old, new) = (f.mode & 0o7777, m & 0o7777);
        let kill_only = new != old && new == old & !(S_ISUID | S_ISGID);
        if !c.owner_or_capable(f) {
            // The clearing comes with a chown (checked above) or after a
            // write or truncate (which needed write permission).
            let chown = ch.uid.is_some() || ch.gid.is_some();
            if !(kill_only && (chown || permission(c, f, access::WRITE).is_ok())) {
                return Err(FsError::Perm);
            }
        } else if !c.in_group_or_capable(f, ch.gid.unwrap_or(f.gid)) {
            ch.mode = Some(m & !S_ISGID);
        }
    }
    let explicit =
        matches!(ch.atime, Some(SetTime::At(_))) || matches!(ch.mtime, Some(SetTime::At(_)));
    let lone_now = !touch && (ch.atime.is_some() || ch.mtime.is_some());
    if (explicit || lone_now) && !c.owner_or_capable(f) {
        return Err(FsError::Perm);
    }
    Ok(())
}

/// `xattr_permission` (and, for ACLs, `set_posix_acl`'s owner check):
/// trusted.* needs CAP_SYS_ADMIN; user.* is for regular files and
/// directories, in a sticky directory written by the owner only, and
/// follows the file's permission bits; security.* and system.* are not
/// restricted by the VFS, but an ACL is changed by the owner only.
pub(crate) fn xattr_permission(c: &Caller, f: &Attrs<'_>, name: &[u8], write: bool) -> Result<()> {
    let refused = if write {
        FsError::Perm
    } else {
        FsError::NoAttr
    };
    if name.starts_with(b"system.posix_acl_") {
        return if write && !c.owner_or_capable(f) {
            Err(FsError::Perm)
        } else {
            Ok(())
        };
    }
    if name.starts_with(b"security.") || name.starts_with(b"system.") {
        return Ok(());
    }
    if name.starts_with(b"trusted.") {
        return if c.capable(cap::SYS_ADMIN) {
            Ok(())
        } else {
            Err(refused)
        };
    }
    if name.starts_with(b"user.") {
        if !f.is_reg() && !f.is_dir() {
            return Err(refused);
        }
        if f.is_dir() && f.mode & S_ISVTX != 0 && write && !c.owner_or_capable(f) {
            return Err(FsError::Perm);
        }
    }
    permission(c, f, if write { access::WRITE } else { access::READ })
}

/// The access an open with these flags needs (`ACC_MODE` plus write for
/// O_TRUNC and execute for an exec).
pub fn open_access(flags: u32) -> u32 {
    const O_ACCMODE: u32 = 0o3;
    const O_TRUNC: u32 = 0o1000;
    /// `__FMODE_EXEC`: the open of a program by execve.
    const FMODE_EXEC: u32 = 0x20;
    let mut want = match flags & O_ACCMODE {
        0 => access::READ,
        1 => access::WRITE,
        _ => access::READ | access::WRITE,
    };
    if flags & O_TRUNC != 0 {
        want |= access::WRITE;
    }
    if flags & FMODE_EXEC != 0 {
        want |= access::EXEC;
    }
    want
}

impl Fs {
    /// `inode`'s access ACL with ACLs served (`acl`); only consulted when
    /// the group bits are not all clear, as `acl_permission_check` does.
    fn load_acl(&self, inode: &Inode, acl: bool) -> Result<Option<Vec<AclEntry>>> {
        if !acl || inode.mode & S_IRWXG == 0 {
            return Ok(None);
        }
        let stored = match self.getxattr(inode, b"system.posix_acl_access") {
            Ok(v) => acl::parse_vfs(&v)
                .map_err(|_| super::error::damaged(inode.ino, InodeDamage::AccessAclUnparsable))?,
            Err(FsError::NoAttr) => None,
            Err(e) => return Err(e),
        };
        Ok(stored)
    }

    fn with_attrs<T>(
        &self,
        inode: &Inode,
        acl: bool,
        f: impl FnOnce(&Attrs<'_>) -> Result<T>,
    ) -> Result<T> {
        let l = self.load_acl(inode, acl)?;
        f(&Attrs {
            mode: inode.mode,
            uid: inode.uid,
            gid: inode.gid,
            acl: l.as_deref(),
            immutable: inode.has_flag(crate::ext4::inode::flags::IMMUTABLE),
        })
    }

    /// `generic_permission` for `want` (see [`access`]) on `inode`;
    /// `acl`: POSIX ACLs are served.
    pub fn check_permission(&self, c: &Caller, inode: &Inode, want: u32, acl: bool) -> Result<()> {
        self.with_attrs(inode, acl, |f| permission(c, f, want))
    }

    /// May `c` make a new entry in `dir`?
    pub fn check_create(&self, c: &Caller, dir: &Inode, acl: bool) -> Result<()> {
        self.with_attrs(dir, acl, |d| may_create(c, d))
    }

    /// May `c` remove `dir/name`? A missing name is left for the removal
    /// to report.
    pub fn check_delete(&self, c: &Caller, dir: &Inode, name: &[u8], acl: bool) -> Result<()> {
        self.with_attrs(dir, acl, |d| may_create(c, d))?;
        let victim = match self.lookup(dir, name) {
            Ok(found) => self.entry_inode(found.ino)?,
            Err(FsError::NotFound) => return Ok(()),
            Err(e) => return Err(e),
        };
        self.with_attrs(dir, acl, |d| {
            self.with_attrs(&victim, false, |v| may_delete(c, d, v))
        })
    }

    /// `vfs_rename`'s checks: the source removable, the target removable
    /// or creatable, and a directory moving to another parent writable
    /// (its ".." changes), for both sides of an exchange.
    #[allow(clippy::too_many_arguments)]
    pub fn check_rename(
        &self,
        c: &Caller,
        sdir: &Inode,
        sname: &[u8],
        ddir: &Inode,
        dname: &[u8],
        exchange: bool,
        acl: bool,
    ) -> Result<()> {
        let source = self.entry_inode(self.lookup(sdir, sname)?.ino)?;
        let target = match self.lookup(ddir, dname) {
            Ok(found) => Some(self.entry_inode(found.ino)?),
            Err(FsError::NotFound) => None,
            Err(e) => return Err(e),
        };
        if target.as_ref().is_some_and(|t| t.ino == source.ino) {
            return Ok(());
        }
        self.check_delete(c, sdir, sname, acl)?;
        match target {
            None => self.check_create(c, ddir, acl)?,
            Some(_) => self.check_delete(c, ddir, dname, acl)?,
        }
        if sdir.ino != ddir.ino {
            if source.is_dir() {
                self.check_permission(c, &source, access::WRITE, acl)?;
            }
            if exchange && let Some(t) = target.as_ref().filter(|t| t.is_dir()) {
                self.check_permission(c, t, access::WRITE, acl)?;
            }
        }
        Ok(())
    }

    /// May `c` link `inode` into `dir`? `protected`: the host's
    /// `fs.protected_hardlinks` is on (the VFS checks it before it asks
    /// for the directory's permission).
    pub fn check_link(
        &self,
        c: &Caller,
        inode: &Inode,
        dir: &Inode,
        protected: bool,
        acl: bool,
    ) -> Result<()> {
        if protected {
            self.with_attrs(inode, acl, |f| may_link_source(c, f))?;
        }
        self.check_create(c, dir, acl)
    }

    /// May `c` make the changes `ch` to `inode`? Strips a setgid bit `c`
    /// may not set from `ch`.
    pub fn check_setattr(
        &self,
        c: &Caller,
        inode: &Inode,
        ch: &mut Changes,
        via_fh: bool,
        acl: bool,
    ) -> Result<()> {
        self.with_attrs(inode, acl, |f| check_setattr(c, f, ch, via_fh))
    }

    /// May `c` read (or, `write`, change) the xattr `name` of `inode`?
    pub fn check_xattr(
        &self,
        c: &Caller,
        inode: &Inode,
        name: &[u8],
        write: bool,
        acl: bool,
    ) -> Result<()> {
        self.with_attrs(inode, acl, |f| xattr_permission(c, f, name, write))
    }

    /// The setuid/setgid bits a change of `inode`'s data by `c` clears
    /// (see [`suidgid_to_drop`]), for [`Changes::drop_suidgid`] and
    /// [`Fs::write`].
    pub fn suidgid_to_drop(&self, c: &Caller, inode: &Inode) -> u16 {
        suidgid_to_drop(
            c,
            &Attrs {
                mode: inode.mode,
                uid: inode.uid,
                gid: inode.gid,
                acl: None,
                immutable: false,
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ext4::xattr::ACL_UNDEFINED_ID as U;

    fn user(uid: u32, gid: u32, groups: &[u32]) -> Caller {
        let extra = Extra {
            groups: groups.to_vec(),
            caps: 0,
            other_namespace: None,
        };
        Caller::new(uid, gid, extra)
    }
    fn root(caps: &[u32]) -> Caller {
        let extra = Extra {
            groups: vec![],
            caps: caps.iter().fold(0, |a, c| a | 1 << c),
            other_namespace: None,
        };
        Caller::new(0, 0, extra)
    }
    fn file(m: u16, uid: u32, gid: u32) -> Attrs<'static> {
        Attrs {
            mode: mode::S_IFREG | m,
            uid,
            gid,
            acl: None,
            immutable: false,
        }
    }
    fn dir(m: u16, uid: u32, gid: u32) -> Attrs<'static> {
        Attrs {
            mode: mode::S_IFDIR | m,
            uid,
            gid,
            acl: None,
            immutable: false,
        }
    }
    const R: u32 = access::READ;
    const W: u32 = access::WRITE;
    const X: u32 = access::EXEC;

    /// A plain user's own namespace (`unshare -Ur` as uid 1000): full
    /// capabilities there, which reach only the inodes it maps and never
    /// count as the mount's own.
    #[test]
    fn capabilities_of_another_namespace() {
        let ns = Caller::new(
            1000,
            1000,
            Extra {
                groups: vec![],
                caps: cap::ALL,
                other_namespace: Some(OtherNamespace {
                    uids: vec![(1000, 1)],
                    gids: vec![(1000, 1)],
                }),
            },
        );
        assert!(!ns.capable(cap::SYS_ADMIN));
        assert!(!ns.capable(cap::SYS_RESOURCE));
        assert!(!ns.capable_initial(cap::LINUX_IMMUTABLE));
        assert!(ns.owns_or_capable(1000, 1000));
        assert!(!ns.owns_or_capable(2000, 2000));
        let theirs = file(0o600, 2000, 2000);
        assert!(matches!(
            permission(&ns, &theirs, access::READ),
            Err(FsError::Access)
        ));
        assert!(permission(&ns, &file(0o600, 1000, 1000), access::READ).is_ok());
        assert!(matches!(
            xattr_permission(&ns, &theirs, b"trusted.a", false),
            Err(FsError::NoAttr)
        ));
        // The setuid bit goes at a write, as for any caller without
        // CAP_FSETID in the mount's namespace.
        assert_eq!(suidgid_to_drop(&ns, &file(0o4777, 2000, 2000)), S_ISUID);
        // The mount's own root keeps every capability.
        assert!(root(&[cap::SYS_ADMIN]).capable(cap::SYS_ADMIN));
    }

    #[test]
    fn namespace_root_has_no_power_over_unmapped_owners() {
        // unshare -Ur as uid 1000: only id 0 is mapped.
        let ns_root = || {
            root(&[
                cap::DAC_OVERRIDE,
                cap::DAC_READ_SEARCH,
                cap::CHOWN,
                cap::FOWNER,
            ])
            .in_namespace(|u, g| u == 0 && g == 0)
        };
        let theirs = dir(0o700, 1000, 1000);
        assert!(matches!(
            permission(&ns_root(), &theirs, R | X),
            Err(FsError::Access)
        ));
        // The group counts as well.
        assert!(permission(&ns_root(), &file(0o000, 0, 1000), R).is_err());
        assert!(permission(&ns_root(), &file(0o000, 0, 0), R).is_ok());
        // A mapped owner: the capabilities count, as in the initial namespace.
        assert!(permission(&ns_root(), &dir(0o700, 0, 0), R | X).is_ok());
        assert!(permission(&root(&[cap::DAC_OVERRIDE]), &theirs, R | X).is_ok());
        // chown and sticky deletion need the inode's ids mapped too.
        let mut ch = Changes {
            uid: Some(0),
            ..Default::default()
        };
        assert!(check_setattr(&ns_root(), &file(0o644, 1000, 0), &mut ch, false).is_err());
        assert!(check_setattr(&ns_root(), &file(0o644, 5, 0), &mut ch, false).is_err());
        assert!(check_setattr(&ns_root(), &file(0o644, 0, 0), &mut ch, false).is_ok());
        let tmp = dir(0o1777, 1000, 1000);
        assert!(may_delete(&ns_root(), &tmp, &file(0o644, 1000, 1000)).is_err());
        assert!(may_delete(&ns_root(), &tmp, &file(0o644, 0, 0)).is_ok());
    }

    #[test]
    fn owner_group_other_bits() {
        let f = file(0o640, 1000, 100);
        assert!(permission(&user(1000, 1, &[]), &f, R | W).is_ok());
        assert!(permission(&user(1000, 100, &[]), &f, X).is_err());
        // Group by primary or supplementary id; group bits only read.
        assert!(permission(&user(2000, 100, &[]), &f, R).is_ok());
        assert!(permission(&user(2000, 5, &[7, 100]), &f, R).is_ok());
        assert!(matches!(
            permission(&user(2000, 5, &[7, 100]), &f, W),
            Err(FsError::Access)
        ));
        assert!(permission(&user(2000, 5, &[]), &f, R).is_err());
        // The owner gets the owner bits even when others get more.
        let g = file(0o077, 1000, 100);
        assert!(permission(&user(1000, 100, &[]), &g, R).is_err());
        assert!(permission(&user(3000, 3000, &[]), &g, R | W | X).is_ok());
        // A group member gets the group bits even when other gets more.
        let h = file(0o607, 1000, 100);
        assert!(permission(&user(3000, 100, &[]), &h, R).is_err());
    }

    #[test]
    fn capabilities_override_as_the_kernel_does() {
        let f = file(0o600, 1000, 100);
        let x = file(0o700, 1000, 100);
        let d = dir(0o700, 1000, 100);
        let none = root(&[]);
        assert!(permission(&none, &f, R).is_err());
        let rs = root(&[cap::DAC_READ_SEARCH]);
        assert!(permission(&rs, &f, R).is_ok());
        assert!(permission(&rs, &f, W).is_err());
        assert!(permission(&rs, &d, R | X).is_ok());
        assert!(permission(&rs, &d, W | X).is_err());
        let ov = root(&[cap::DAC_OVERRIDE]);
        assert!(permission(&ov, &f, R | W).is_ok());
        // Execute needs some execute bit even with the override.
        assert!(permission(&ov, &f, X).is_err());
        assert!(permission(&ov, &x, X).is_ok());
        assert!(permission(&ov, &d, R | W | X).is_ok());
        assert!(permission(&ov, &dir(0, 1, 1), X).is_ok());
    }

    fn e(tag: u16, perm: u16, id: u32) -> AclEntry {
        AclEntry { tag, perm, id }
    }

    #[test]
    fn acl_entries_and_mask() {
        let acl = [
            e(ACL_USER_OBJ, 6, U),
            e(ACL_USER, 6, 2000),
            e(ACL_USER, 7, 2001),
            e(ACL_GROUP_OBJ, 4, U),
            e(ACL_GROUP, 6, 300),
            e(ACL_MASK, 6, U),
            e(ACL_OTHER, 0, U),
        ];
        let f = Attrs {
            mode: mode::S_IFREG | 0o660,
            uid: 1000,
            gid: 100,
            acl: Some(&acl),
            immutable: false,
        };
        // The owner: USER_OBJ, no mask.
        assert!(permission(&user(1000, 1, &[]), &f, R | W).is_ok());
        // Named users, limited by the mask.
        assert!(permission(&user(2000, 1, &[]), &f, R | W).is_ok());
        assert!(permission(&user(2001, 1, &[]), &f, X).is_err());
        // The owning group has read only; a named group read-write.
        assert!(permission(&user(3000, 100, &[]), &f, R).is_ok());
        assert!(permission(&user(3000, 100, &[]), &f, W).is_err());
        assert!(permission(&user(3000, 1, &[300]), &f, W).is_ok());
        // In a matching group without the access: refused, not other.
        let g = Attrs {
            acl: Some(&[
                e(ACL_USER_OBJ, 6, U),
                e(ACL_GROUP_OBJ, 0, U),
                e(ACL_OTHER, 4, U),
            ]),
            mode: mode::S_IFREG | 0o604,
            ..f
        };
        // Group bits all clear: the ACL is not consulted (mode bits).
        assert!(permission(&user(3000, 100, &[]), &g, R).is_err());
        let g = Attrs {
            mode: mode::S_IFREG | 0o614,
            ..g
        };
        assert!(permission(&user(3000, 100, &[]), &g, R).is_err());
        assert!(permission(&user(3000, 5, &[]), &g, R).is_ok());
        // Nobody named: other.
        assert!(permission(&user(4000, 4, &[]), &f, R).is_err());
    }

    #[test]
    fn create_delete_sticky() {
        let d = dir(0o1777, 0, 0);
        let mine = file(0o600, 1000, 1000);
        let theirs = file(0o666, 2000, 2000);
        let u = user(1000, 1000, &[]);
        assert!(may_create(&u, &d).is_ok());
        assert!(may_delete(&u, &d, &mine).is_ok());
        assert!(matches!(may_delete(&u, &d, &theirs), Err(FsError::Perm)));
        assert!(may_delete(&root(&[cap::FOWNER, cap::DAC_OVERRIDE]), &d, &theirs).is_ok());
        // The directory's owner may remove anything in it.
        let own = dir(0o1777, 1000, 0);
        assert!(may_delete(&u, &own, &theirs).is_ok());
        assert!(matches!(
            may_create(&u, &dir(0o755, 0, 0)),
            Err(FsError::Access)
        ));
    }

    #[test]
    fn setattr_rules() {
        let u = user(1000, 1000, &[50]);
        let f = file(0o644, 1000, 1000);
        let other = file(0o666, 2000, 2000);
        let ch = |f: fn(&mut Changes)| {
            let mut c = Changes::default();
            f(&mut c);
            c
        };
        // chmod: owner only; setgid dropped outside the group.
        let mut c = ch(|c| c.mode = Some(0o2755));
        check_setattr(&u, &file(0o644, 1000, 77), &mut c, false).unwrap();
        assert_eq!(c.mode, Some(0o755));
        let mut c = ch(|c| c.mode = Some(0o2755));
        check_setattr(&u, &f, &mut c, false).unwrap();
        assert_eq!(c.mode, Some(0o2755));
        let mut c = ch(|c| c.mode = Some(0o600));
        assert!(matches!(
            check_setattr(&u, &other, &mut c, false),
            Err(FsError::Perm)
        ));
        // The kernel's clearing of setuid after a write by a writer.
        let s = file(0o4766, 2000, 2000);
        let mut c = ch(|c| c.mode = Some(0o766));
        check_setattr(&u, &s, &mut c, true).unwrap();
        let mut c = ch(|c| c.mode = Some(0o766));
        assert!(check_setattr(&u, &file(0o4744, 2000, 2000), &mut c, true).is_err());
        // ... and with a chown by CAP_CHOWN without CAP_FOWNER.
        let mut c = ch(|c| {
            c.uid = Some(5);
            c.mode = Some(0o744)
        });
        check_setattr(
            &root(&[cap::CHOWN]),
            &file(0o4744, 2000, 2000),
            &mut c,
            false,
        )
        .unwrap();
        // chown: CAP_CHOWN; chgrp by the owner to one of its groups.
        let mut c = ch(|c| c.uid = Some(2000));
        assert!(check_setattr(&u, &f, &mut c, false).is_err());
        let mut c = ch(|c| c.uid = Some(1000));
        check_setattr(&u, &f, &mut c, false).unwrap();
        let mut c = ch(|c| c.gid = Some(50));
        check_setattr(&u, &f, &mut c, false).unwrap();
        let mut c = ch(|c| c.gid = Some(51));
        assert!(check_setattr(&u, &f, &mut c, false).is_err());
        let mut c = ch(|c| c.uid = Some(5));
        check_setattr(&root(&[cap::CHOWN]), &other, &mut c, false).unwrap();
        // Times: now for writers, explicit for the owner.
        let mut c = ch(|c| {
            c.atime = Some(SetTime::Now);
            c.mtime = Some(SetTime::Now)
        });
        check_setattr(&u, &other, &mut c, false).unwrap();
        assert!(matches!(
            check_setattr(&u, &file(0o644, 2000, 2000), &mut c, false),
            Err(FsError::Access)
        ));
        let mut c = ch(|c| c.mtime = Some(SetTime::Now));
        assert!(matches!(
            check_setattr(&u, &other, &mut c, false),
            Err(FsError::Perm)
        ));
        // truncate by path needs write; through an open file nothing.
        let mut c = ch(|c| c.size = Some(0));
        let ro = file(0o644, 2000, 2000);
        assert!(matches!(
            check_setattr(&u, &ro, &mut c, false),
            Err(FsError::Access)
        ));
        check_setattr(&u, &ro, &mut c, true).unwrap();
    }

    #[test]
    fn xattrs_links_and_suid() {
        let u = user(1000, 1000, &[]);
        let f = file(0o644, 2000, 2000);
        assert!(xattr_permission(&u, &f, b"user.a", false).is_ok());
        assert!(matches!(
            xattr_permission(&u, &f, b"user.a", true),
            Err(FsError::Access)
        ));
        assert!(matches!(
            xattr_permission(&u, &f, b"trusted.a", false),
            Err(FsError::NoAttr)
        ));
        assert!(xattr_permission(&root(&[cap::SYS_ADMIN]), &f, b"trusted.a", true).is_ok());
        assert!(matches!(
            xattr_permission(&u, &f, b"system.posix_acl_access", true),
            Err(FsError::Perm)
        ));
        assert!(matches!(
            xattr_permission(&u, &dir(0o1777, 2000, 0), b"user.a", true),
            Err(FsError::Perm)
        ));
        // protected_hardlinks.
        assert!(matches!(may_link_source(&u, &f), Err(FsError::Perm)));
        assert!(may_link_source(&u, &file(0o666, 2000, 2000)).is_ok());
        assert!(may_link_source(&u, &file(0o4666, 2000, 2000)).is_err());
        assert!(may_link_source(&u, &file(0o4600, 1000, 2000)).is_ok());
        // setuid always; setgid when group-executable or outside the group.
        assert_eq!(suidgid_to_drop(&u, &file(0o4755, 1000, 1000)), S_ISUID);
        assert_eq!(suidgid_to_drop(&u, &file(0o2755, 1000, 1000)), S_ISGID);
        assert_eq!(suidgid_to_drop(&u, &file(0o2745, 1000, 1000)), 0);
        assert_eq!(suidgid_to_drop(&u, &file(0o2666, 1000, 9)), S_ISGID);
        assert_eq!(suidgid_to_drop(&u, &file(0o6666, 1000, 1000)), S_ISUID);
        assert_eq!(
            suidgid_to_drop(&u, &file(0o6666, 1000, 9)),
            S_ISUID | S_ISGID
        );
        assert_eq!(
            suidgid_to_drop(&root(&[cap::FSETID]), &file(0o6755, 0, 0)),
            0
        );
    }

    #[test]
    fn extra_credentials_are_read_only_when_needed() {
        use std::sync::Arc;
        use std::sync::atomic::{AtomicUsize, Ordering};
        let reads = Arc::new(AtomicUsize::new(0));
        let r = reads.clone();
        let c = Caller::lazy(1000, 1000, move || {
            r.fetch_add(1, Ordering::SeqCst);
            Extra {
                groups: vec![2000],
                caps: 0,
                other_namespace: None,
            }
        });
        // Owner, or group and other alike: no need.
        permission(&c, &dir(0o755, 0, 0), X).unwrap();
        permission(&c, &file(0o600, 1000, 5), R).unwrap();
        assert_eq!(reads.load(Ordering::SeqCst), 0);
        // Group and other differ: the groups are read, once.
        permission(&c, &file(0o640, 0, 2000), R).unwrap();
        assert!(permission(&c, &file(0o604, 0, 2000), R).is_err());
        assert_eq!(reads.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn status_parsing() {
        let text = "Name:\tcat\nUid:\t1000\t1000\t1000\t1000\nGid:\t100\t100\t100\t100\n\
                    Groups:\t100 1001 1002 \nCapPrm:\t0000000000000000\n\
                    CapEff:\t0000000000000000\n";
        let c = Extra::from_status(text, 1000, 100, false).unwrap();
        assert_eq!(c.groups, vec![100, 1001, 1002]);
        assert_eq!(c.caps, 0);
        // Someone else's (a reused pid).
        assert!(Extra::from_status(text, 1001, 100, false).is_none());
        let root = "Uid:\t0\t0\t0\t0\nGid:\t0\t0\t0\t0\nGroups:\t\n\
                    CapPrm:\t000001ffffffffff\nCapEff:\t0000000000000000\n";
        let c = Extra::from_status(root, 0, 0, false).unwrap();
        assert!(c.caps & (1 << cap::DAC_OVERRIDE) == 0 && c.groups.is_empty());
        // access(2) as root uses the permitted set.
        assert!(Extra::from_status(root, 0, 0, true).unwrap().caps & (1 << cap::DAC_OVERRIDE) != 0);
        // access(2) by a setuid-root program run by uid 1000: real ids,
        // no capabilities.
        let suid = "Uid:\t1000\t0\t0\t0\nGid:\t100\t100\t100\t100\nGroups:\t\n\
                    CapPrm:\t000001ffffffffff\nCapEff:\t000001ffffffffff\n";
        assert_eq!(Extra::from_status(suid, 1000, 100, true).unwrap().caps, 0);
        assert_eq!(
            Extra::from_status(suid, 0, 100, false).unwrap().caps,
            0x1ff_ffff_ffff
        );
        assert!(Extra::from_status("garbage", 0, 0, false).is_none());
        assert_eq!(Extra::from_header(0, 0).caps, cap::ALL);
        assert_eq!(Extra::from_header(0, 77).caps, 0);
    }
}
