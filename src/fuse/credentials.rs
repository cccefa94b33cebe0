//! The credentials of the process behind a request, for the server's own
//! permission checks (`no_default_permissions`): the request header has
//! the uid, gid and pid; the supplementary groups and capabilities come
//! from `/proc/<pid>/status`, as libfuse's `fuse_getgroups` reads them.
//! In a user namespace (the server's is the mount's) capabilities reach
//! only inodes whose owner and group the namespace maps, as the kernel's
//! `capable_wrt_inode_uidgid` decides.

use super::ops::{RequestCtx, RequestId};
use super::userns::IdMap;
use crate::fs::permission::{Caller, Extra, OtherNamespace, cap};
use crate::fs::quota::Requester;

/// The caller of `ctx`; its groups and capabilities are read when a
/// decision first needs them. A request the kernel makes itself (pid 0),
/// or whose process is gone or no longer has the header's ids, is judged
/// by the header alone (see [`Extra::from_header`]). `for_access`: an
/// ACCESS request, which the kernel sends with the real ids.
pub fn caller(ctx: &RequestCtx, for_access: bool) -> Caller {
    let (uid, gid, pid) = (ctx.uid, ctx.gid, ctx.pid);
    let c = Caller::lazy(uid, gid, move || extra(uid, gid, pid, for_access));
    match namespace() {
        Some((uids, gids)) => {
            c.in_namespace(|u, g| uids.outside(u).is_some() && gids.outside(g).is_some())
        }
        None => c,
    }
}

/// The uid and gid maps of the server's user namespace, which is the
/// mount's (the kernel gives the request's ids in it), unless it is the
/// initial one. Read once: a namespace's maps are written only once.
fn namespace() -> Option<&'static (IdMap, IdMap)> {
    static MAPS: std::sync::OnceLock<Option<(IdMap, IdMap)>> = std::sync::OnceLock::new();
    MAPS.get_or_init(|| {
        let (uids, gids) = (IdMap::own_uids(), IdMap::own_gids());
        (!uids.is_initial() || !gids.is_initial()).then_some((uids, gids))
    })
    .as_ref()
}

/// The caller of `ctx` with every capability and its own ids: how the
/// server judges requests on a `-o fakeroot` mount.
pub fn fake_root(ctx: &RequestCtx) -> Caller {
    Caller::new(
        ctx.uid,
        ctx.gid,
        Extra {
            groups: Vec::new(),
            caps: cap::ALL,
            other_namespace: None,
        },
    )
}

/// Names the caller of `ctx` as the one whose changes this thread makes
/// until the guard drops: a quota limit that would refuse a change asks
/// it for CAP_SYS_RESOURCE then (the kernel's ignore_hardlimit), and only
/// then, so a request within its limits reads nothing.
pub fn quota_requester(ctx: &RequestCtx) -> Requester {
    Requester::enter([ctx.uid, ctx.gid, ctx.pid], |[uid, gid, pid]| {
        let ctx = RequestCtx {
            unique: RequestId(0),
            uid,
            gid,
            pid,
        };
        caller(&ctx, false).capable(cap::SYS_RESOURCE)
    })
}

fn extra(uid: u32, gid: u32, pid: u32, for_access: bool) -> Extra {
    if pid != 0
        && let Ok(text) = std::fs::read_to_string(format!("/proc/{pid}/status"))
        && let Some(mut e) = Extra::from_status(&text, uid, gid, for_access)
    {
        e.other_namespace = other_namespace(pid);
        return e;
    }
    Extra::from_header(uid, pid)
}

/// The ids the user namespace of process `pid` maps, when it is not the
/// server's (the mount's): `/proc/PID/status` shows capabilities
/// relative to the process's own namespace, which `unshare -Ur` gives any
/// user in full. A process whose namespace cannot be read (it is gone)
/// counts as in another namespace that maps nothing.
fn other_namespace(pid: u32) -> Option<OtherNamespace> {
    static OURS: std::sync::OnceLock<Option<std::path::PathBuf>> = std::sync::OnceLock::new();
    let ours = OURS.get_or_init(|| std::fs::read_link("/proc/self/ns/user").ok());
    let theirs = std::fs::read_link(format!("/proc/{pid}/ns/user")).ok();
    if ours.is_none() || theirs == *ours {
        return None;
    }
    let spans = |file: &str| {
        std::fs::read_to_string(format!("/proc/{pid}/{file}"))
            .map(|t| IdMap::parse(&t).outside_spans())
            .unwrap_or_default()
    };
    Some(OtherNamespace {
        uids: spans("uid_map"),
        gids: spans("gid_map"),
    })
}

/// The host's `fs.protected_hardlinks` (on unless it says 0): the VFS
/// then lets only the owner link a file the caller may not read and
/// write, asking the filesystem for that permission.
pub fn protected_hardlinks() -> bool {
    std::fs::read_to_string("/proc/sys/fs/protected_hardlinks")
        .map(|s| s.trim() != "0")
        .unwrap_or(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_and_a_kernel_request() {
        let uid = unsafe { libc::geteuid() };
        let gid = unsafe { libc::getegid() };
        let ctx = RequestCtx {
            unique: RequestId(1),
            uid,
            gid,
            pid: std::process::id(),
        };
        let c = caller(&ctx, false);
        assert_eq!((c.uid, c.gid), (uid, gid));
        // Another uid than the process has: judged by the header alone.
        let other = caller(
            &RequestCtx {
                uid: uid.wrapping_add(1),
                ..ctx
            },
            false,
        );
        assert!(other.groups().is_empty() && other.caps() == 0);
        let kernel = caller(
            &RequestCtx {
                uid: 0,
                gid: 0,
                pid: 0,
                ..ctx
            },
            false,
        );
        assert_eq!(kernel.caps(), u64::MAX);
        let fake = fake_root(&RequestCtx { uid: 1000, ..ctx });
        assert_eq!((fake.uid, fake.caps()), (1000, u64::MAX));
    }
}
