//! POSIX ACL semantics the kernel's VFS applies before ext4 stores an ACL:
//! parsing and validating the `posix_acl_xattr` form (fs/posix_acl.c
//! `posix_acl_from_xattr`, `posix_acl_valid`), the mode an access ACL
//! implies (`posix_acl_equiv_mode`) and the masking of an inherited
//! default ACL by a new inode's mode (`posix_acl_create_masq`). Over FUSE
//! the server has to do these itself. The encodings live in
//! `ext4::xattr`.

use crate::ext4::CorruptKind;
use crate::ext4::FormatError;
use crate::ext4::layout::xattr::{Ext4AclHeader, PosixAclXattrEntry};
use crate::ext4::xattr::{
    ACL_GROUP, ACL_GROUP_OBJ, ACL_MASK, ACL_OTHER, ACL_UNDEFINED_ID, ACL_USER, ACL_USER_OBJ,
    POSIX_ACL_XATTR_VERSION, acl_disk_to_vfs, acl_vfs_to_disk,
};
use crate::fs::{FsError, Result};
use zerocopy::{FromBytes, IntoBytes};

/// Permission bits of an ACL entry (read, write, execute).
const ACL_PERMS: u16 = 0o7;

/// One ACL entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct AclEntry {
    pub tag: u16,
    pub perm: u16,
    /// The uid or gid for `ACL_USER`/`ACL_GROUP`, else undefined.
    pub id: u32,
}

/// Parses the VFS form as `posix_acl_from_xattr` does: a wrong version is
/// EOPNOTSUPP, a bad length or tag EINVAL. Ids of tags without one are
/// ignored. No entries means "no ACL" (`None`).
pub(crate) fn parse_vfs(vfs: &[u8]) -> Result<Option<Vec<AclEntry>>> {
    let Ok((header, body)) = Ext4AclHeader::ref_from_prefix(vfs) else {
        return Err(FsError::Invalid);
    };
    if header.a_version.get() != POSIX_ACL_XATTR_VERSION {
        return Err(FsError::Unsupported);
    }
    let Ok(entries) = <[PosixAclXattrEntry]>::ref_from_bytes(body) else {
        return Err(FsError::Invalid);
    };
    let mut acl = Vec::with_capacity(entries.len());
    for e in entries {
        let (tag, perm) = (e.e_tag.get(), e.e_perm.get());
        let id = match tag {
            ACL_USER | ACL_GROUP => e.e_id.get(),
            ACL_USER_OBJ | ACL_GROUP_OBJ | ACL_MASK | ACL_OTHER => ACL_UNDEFINED_ID,
            _ => return Err(FsError::Invalid),
        };
        acl.push(AclEntry { tag, perm, id });
    }
    Ok((!acl.is_empty()).then_some(acl))
}

/// The VFS form of `acl`.
pub(crate) fn to_vfs(acl: &[AclEntry]) -> Vec<u8> {
    let header = Ext4AclHeader {
        a_version: POSIX_ACL_XATTR_VERSION.into(),
    };
    let mut out =
        Vec::with_capacity(header.as_bytes().len() + acl.len() * size_of::<PosixAclXattrEntry>());
    out.extend_from_slice(header.as_bytes());
    for e in acl {
        let entry = PosixAclXattrEntry {
            e_tag: e.tag.into(),
            e_perm: e.perm.into(),
            e_id: e.id.into(),
        };
        out.extend_from_slice(entry.as_bytes());
    }
    out
}

/// ext4's on-disk form of `acl` (`ext4_acl_to_disk`).
pub(crate) fn to_disk(acl: &[AclEntry]) -> Result<Vec<u8>> {
    Ok(acl_vfs_to_disk(&to_vfs(acl))?)
}

/// Parses a stored ACL (`ext4_acl_from_disk`): damage is corruption; an
/// ACL without entries counts as none.
pub(crate) fn from_disk(disk: &[u8]) -> Result<Option<Vec<AclEntry>>> {
    let vfs = acl_disk_to_vfs(disk)?;
    parse_vfs(&vfs)
        .map_err(|_| FsError::from(FormatError::Corrupt(CorruptKind::StoredAclUnconvertible)))
}

/// `posix_acl_valid`: entries in the canonical order USER_OBJ, USER…,
/// GROUP_OBJ, GROUP…, MASK, OTHER; a MASK required when there are named
/// entries; permissions within rwx; named ids valid (the kernel rejects
/// ids without a mapping, of which -1 is the one that always is).
pub(crate) fn validate(acl: &[AclEntry]) -> Result<()> {
    #[derive(PartialEq)]
    enum State {
        UserObj,
        User,
        Group,
        Other,
        Done,
    }
    let mut state = State::UserObj;
    let mut needs_mask = false;
    for e in acl {
        if e.perm & !ACL_PERMS != 0 {
            return Err(FsError::Invalid);
        }
        state = match (e.tag, state) {
            (ACL_USER_OBJ, State::UserObj) => State::User,
            (ACL_USER, State::User) if e.id != ACL_UNDEFINED_ID => {
                needs_mask = true;
                State::User
            }
            (ACL_GROUP_OBJ, State::User) => State::Group,
            (ACL_GROUP, State::Group) if e.id != ACL_UNDEFINED_ID => {
                needs_mask = true;
                State::Group
            }
            (ACL_MASK, State::Group) => State::Other,
            (ACL_OTHER, State::Other) => State::Done,
            (ACL_OTHER, State::Group) if !needs_mask => State::Done,
            _ => return Err(FsError::Invalid),
        };
    }
    if state == State::Done {
        Ok(())
    } else {
        Err(FsError::Invalid)
    }
}

/// `posix_acl_equiv_mode`: the permission bits `acl` implies (the group
/// bits come from the mask when there is one) merged into `mode`, and
/// whether the ACL says more than the mode can (named entries or a mask).
pub(crate) fn equiv_mode(acl: &[AclEntry], mode: u16) -> Result<(u16, bool)> {
    let mut bits = 0u16;
    let mut not_equiv = false;
    for e in acl {
        let p = e.perm & ACL_PERMS;
        match e.tag {
            ACL_USER_OBJ => bits |= p << 6,
            ACL_GROUP_OBJ => bits |= p << 3,
            ACL_OTHER => bits |= p,
            ACL_MASK => {
                bits = (bits & !0o070) | (p << 3);
                not_equiv = true;
            }
            ACL_USER | ACL_GROUP => not_equiv = true,
            _ => return Err(FsError::Invalid),
        }
    }
    Ok(((mode & !0o777) | bits, not_equiv))
}

/// `posix_acl_create_masq`: masks the inherited `acl` with the new
/// inode's requested `mode` and the mode with the ACL. Returns the new
/// mode and whether the ACL must be stored (it says more than the mode).
/// An ACL lacking both GROUP_OBJ and MASK, or with an unknown tag, is
/// damage (the kernel answers EIO).
pub(crate) fn create_masq(acl: &mut [AclEntry], mode: u16) -> Result<(u16, bool)> {
    let bad = || FsError::from(FormatError::Corrupt(CorruptKind::InheritedAclMalformed));
    let mut m = mode;
    let mut not_equiv = false;
    let mut group_obj = None;
    let mut mask_obj = None;
    for (i, e) in acl.iter_mut().enumerate() {
        match e.tag {
            ACL_USER_OBJ => {
                e.perm &= (m >> 6) | !ACL_PERMS;
                m &= (e.perm << 6) | !0o700;
            }
            ACL_USER | ACL_GROUP => not_equiv = true,
            ACL_GROUP_OBJ => group_obj = Some(i),
            ACL_OTHER => {
                e.perm &= m | !ACL_PERMS;
                m &= e.perm | !0o007;
            }
            ACL_MASK => {
                mask_obj = Some(i);
                not_equiv = true;
            }
            _ => return Err(bad()),
        }
    }
    let g = mask_obj.or(group_obj).ok_or_else(bad)?;
    let e = &mut acl[g];
    e.perm &= (m >> 3) | !ACL_PERMS;
    m &= (e.perm << 3) | !0o070;
    Ok(((mode & !0o777) | (m & 0o777), not_equiv))
}

/// `posix_acl_chmod_masq`: a chmod rewrites the owner, group (the mask
/// when there is one) and other entries from the new mode. An ACL lacking
/// both GROUP_OBJ and MASK is damage.
pub(crate) fn chmod_masq(acl: &mut [AclEntry], mode: u16) -> Result<()> {
    let mut group_obj = None;
    let mut mask_obj = None;
    for (i, e) in acl.iter_mut().enumerate() {
        match e.tag {
            ACL_USER_OBJ => e.perm = (mode >> 6) & ACL_PERMS,
            ACL_GROUP_OBJ => group_obj = Some(i),
            ACL_MASK => mask_obj = Some(i),
            ACL_OTHER => e.perm = mode & ACL_PERMS,
            _ => {}
        }
    }
    let g = mask_obj
        .or(group_obj)
        .ok_or_else(|| FsError::from(FormatError::Corrupt(CorruptKind::AccessAclWithoutGroup)))?;
    acl[g].perm = (mode >> 3) & ACL_PERMS;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e(tag: u16, perm: u16, id: u32) -> AclEntry {
        AclEntry { tag, perm, id }
    }
    const U: u32 = ACL_UNDEFINED_ID;

    #[test]
    fn chmod_rewrites_owner_mask_and_other() {
        let mut acl = vec![
            e(ACL_USER_OBJ, 7, U),
            e(ACL_USER, 7, 1234),
            e(ACL_GROUP_OBJ, 5, U),
            e(ACL_MASK, 7, U),
            e(ACL_OTHER, 4, U),
        ];
        chmod_masq(&mut acl, 0o640).unwrap();
        let perms: Vec<u16> = acl.iter().map(|x| x.perm).collect();
        // The named user and GROUP_OBJ keep theirs; the mask takes the
        // group bits.
        assert_eq!(perms, vec![6, 7, 5, 4, 0]);
        let mut no_mask = vec![
            e(ACL_USER_OBJ, 7, U),
            e(ACL_GROUP_OBJ, 7, U),
            e(ACL_OTHER, 7, U),
        ];
        chmod_masq(&mut no_mask, 0o751).unwrap();
        assert_eq!(
            no_mask.iter().map(|x| x.perm).collect::<Vec<_>>(),
            vec![7, 5, 1]
        );
        assert!(chmod_masq(&mut [e(ACL_USER_OBJ, 7, U)], 0o700).is_err());
    }

    #[test]
    fn parse_and_validate() {
        let minimal = vec![
            e(ACL_USER_OBJ, 6, U),
            e(ACL_GROUP_OBJ, 4, U),
            e(ACL_OTHER, 4, U),
        ];
        let bytes = to_vfs(&minimal);
        assert_eq!(parse_vfs(&bytes).unwrap(), Some(minimal.clone()));
        validate(&minimal).unwrap();
        assert_eq!(parse_vfs(b"\x02\0\0\0").unwrap(), None);
        assert!(matches!(
            parse_vfs(b"\x01\0\0\0"),
            Err(FsError::Unsupported)
        ));
        assert!(matches!(parse_vfs(b"\x02\0\0"), Err(FsError::Invalid)));
        assert!(matches!(parse_vfs(&bytes[..9]), Err(FsError::Invalid)));

        let full = vec![
            e(ACL_USER_OBJ, 7, U),
            e(ACL_USER, 6, 1000),
            e(ACL_GROUP_OBJ, 5, U),
            e(ACL_GROUP, 4, 20),
            e(ACL_MASK, 6, U),
            e(ACL_OTHER, 0, U),
        ];
        validate(&full).unwrap();
        // Named entry without a mask, wrong order, bad perm, -1 id, missing OTHER.
        let mut no_mask = full.clone();
        no_mask.remove(4);
        for bad in [
            no_mask,
            vec![
                e(ACL_GROUP_OBJ, 4, U),
                e(ACL_USER_OBJ, 6, U),
                e(ACL_OTHER, 4, U),
            ],
            vec![
                e(ACL_USER_OBJ, 8, U),
                e(ACL_GROUP_OBJ, 4, U),
                e(ACL_OTHER, 4, U),
            ],
            vec![
                e(ACL_USER_OBJ, 6, U),
                e(ACL_USER, 6, U),
                e(ACL_GROUP_OBJ, 4, U),
                e(ACL_MASK, 6, U),
                e(ACL_OTHER, 4, U),
            ],
            minimal[..2].to_vec(),
        ] {
            assert!(validate(&bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn equiv() {
        let minimal = [
            e(ACL_USER_OBJ, 6, U),
            e(ACL_GROUP_OBJ, 4, U),
            e(ACL_OTHER, 1, U),
        ];
        assert_eq!(equiv_mode(&minimal, 0o104777).unwrap(), (0o104641, false));
        let masked = [
            e(ACL_USER_OBJ, 7, U),
            e(ACL_USER, 6, 5),
            e(ACL_GROUP_OBJ, 4, U),
            e(ACL_MASK, 5, U),
            e(ACL_OTHER, 1, U),
        ];
        assert_eq!(equiv_mode(&masked, 0o100000).unwrap(), (0o100751, true));
    }

    #[test]
    fn masq() {
        // Default u::rwx,u:1000:rwx,g::r-x,m::rwx,o::r-x and open(0o644).
        let mut acl = vec![
            e(ACL_USER_OBJ, 7, U),
            e(ACL_USER, 7, 1000),
            e(ACL_GROUP_OBJ, 5, U),
            e(ACL_MASK, 7, U),
            e(ACL_OTHER, 5, U),
        ];
        let (mode, store) = create_masq(&mut acl, 0o100644).unwrap();
        assert_eq!((mode, store), (0o100644, true));
        assert_eq!(
            acl.iter().map(|e| e.perm).collect::<Vec<_>>(),
            [6, 7, 5, 4, 4]
        );
        // Without a mask the group entry is masked; equivalent to the mode.
        let mut acl = vec![
            e(ACL_USER_OBJ, 7, U),
            e(ACL_GROUP_OBJ, 5, U),
            e(ACL_OTHER, 0, U),
        ];
        assert_eq!(create_masq(&mut acl, 0o40777).unwrap(), (0o40750, false));
        let mut broken = vec![e(ACL_USER_OBJ, 7, U), e(ACL_OTHER, 0, U)];
        assert!(create_masq(&mut broken, 0o777).is_err());
    }
}
