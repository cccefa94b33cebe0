//! Thin wrappers over the system calls the tester issues, returning the
//! errno (0 for success) so that two filesystems' answers compare directly.

use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

/// A path as a C string (paths here never hold NUL bytes).
pub fn c(p: &Path) -> CString {
    CString::new(p.as_os_str().as_bytes()).expect("no NUL in generated paths")
}

/// Converts a libc return value to 0 or the errno.
pub fn rc(r: libc::c_int) -> i32 {
    if r < 0 {
        std::io::Error::last_os_error()
            .raw_os_error()
            .unwrap_or(libc::EIO)
    } else {
        0
    }
}

/// The symbolic name of an errno, for readable reports.
pub fn errname(e: i32) -> String {
    if e == 0 {
        return "ok".into();
    }
    let names = [
        (libc::ENOENT, "ENOENT"),
        (libc::EEXIST, "EEXIST"),
        (libc::ENOTDIR, "ENOTDIR"),
        (libc::EISDIR, "EISDIR"),
        (libc::ENOTEMPTY, "ENOTEMPTY"),
        (libc::EINVAL, "EINVAL"),
        (libc::EPERM, "EPERM"),
        (libc::EACCES, "EACCES"),
        (libc::ENODATA, "ENODATA"),
        (libc::EMLINK, "EMLINK"),
        (libc::ELOOP, "ELOOP"),
        (libc::EBUSY, "EBUSY"),
        (libc::ENOSPC, "ENOSPC"),
        (libc::EIO, "EIO"),
        (libc::EOPNOTSUPP, "EOPNOTSUPP"),
        (libc::EXDEV, "EXDEV"),
        (libc::EFBIG, "EFBIG"),
    ];
    names
        .iter()
        .find(|(n, _)| *n == e)
        .map_or_else(|| format!("errno {e}"), |(_, s)| s.to_string())
}
