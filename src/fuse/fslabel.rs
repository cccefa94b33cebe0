//! FS_IOC_GETFSLABEL (`e2label`-style readers, `btrfs filesystem label`)
//! as ext4 answers it (fs/ext4/ioctl.c, `ext4_ioctl_getlabel`): the
//! 16-byte volume name up to its first NUL, zero-padded, then a NUL: 17
//! bytes copied out, the rest of the caller's 256-byte buffer left as it
//! was. The kernel's FUSE client carries the command (`_IOR`, 256 bytes
//! out). FS_IOC_SETFSLABEL is not served (ENOTTY): the label is set on
//! the unmounted image (`e2label`, `tune2fs -L`).

use super::ops::IoctlReply;

/// FS_IOC_GETFSLABEL = `_IOR(0x94, 49, char[FSLABEL_MAX])`.
pub const FS_IOC_GETFSLABEL: u32 = 0x8100_9431;

/// `EXT4_LABEL_MAX`: the superblock's s_volume_name.
const LABEL_MAX: usize = 16;

/// The answer for `label` (the volume name up to its first NUL), at most
/// the `out_size` bytes the caller takes.
pub fn reply(label: &[u8], out_size: u32) -> IoctlReply {
    let mut output = vec![0u8; LABEL_MAX + 1];
    let n = label.len().min(LABEL_MAX);
    output[..n].copy_from_slice(&label[..n]);
    output.truncate(out_size as usize);
    IoctlReply { result: 0, output }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_number_is_the_kernels() {
        // _IOR: direction 2, size 256, type 0x94, number 49.
        assert_eq!(
            FS_IOC_GETFSLABEL,
            (2 << 30) | (256 << 16) | (0x94 << 8) | 49
        );
    }

    #[test]
    fn seventeen_bytes_label_then_zeros() {
        let r = reply(b"data", 256);
        assert_eq!(r.result, 0);
        assert_eq!(r.output.len(), 17);
        assert_eq!(&r.output[..4], b"data");
        assert!(r.output[4..].iter().all(|&b| b == 0));
        // A full 16-byte label still ends in a NUL.
        let r = reply(b"0123456789abcdef", 256);
        assert_eq!(&r.output[..16], b"0123456789abcdef");
        assert_eq!(r.output[16], 0);
        assert_eq!(reply(b"x", 4).output.len(), 4);
    }
}
