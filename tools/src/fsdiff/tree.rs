//! Snapshots of a directory tree, compared line by line. Times are left
//! out (two filesystems run the same operations at different instants);
//! directory sizes too (they are a layout detail).

use std::collections::hash_map::DefaultHasher;
use std::ffi::CString;
use std::hash::Hasher;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::Path;

/// One line per entry, sorted by path.
pub fn snapshot(root: &Path) -> std::io::Result<Vec<String>> {
    let mut out = Vec::new();
    walk(root, root, &mut out)?;
    Ok(out)
}

fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) -> std::io::Result<()> {
    let mut names: Vec<_> = std::fs::read_dir(dir)?.collect::<Result<Vec<_>, _>>()?;
    names.sort_by_key(|e| e.file_name());
    for e in names {
        let path = e.path();
        let rel = path.strip_prefix(root).unwrap().display().to_string();
        let md = std::fs::symlink_metadata(&path)?;
        let ft = md.file_type();
        let mode = md.mode() & 0o7777;
        let mut line = if ft.is_dir() {
            format!("{rel} dir {mode:o} nlink={}", md.nlink())
        } else if ft.is_symlink() {
            format!("{rel} symlink -> {}", std::fs::read_link(&path)?.display())
        } else if ft.is_file() {
            let data = std::fs::read(&path)?;
            let mut h = DefaultHasher::new();
            h.write(&data);
            format!(
                "{rel} file {mode:o} nlink={} size={} hash={:016x}",
                md.nlink(),
                md.len(),
                h.finish()
            )
        } else if ft.is_fifo() {
            format!("{rel} fifo {mode:o}")
        } else {
            format!("{rel} other {mode:o}")
        };
        for (name, value) in xattrs(&path) {
            line.push_str(&format!(" xattr:{name}={}", value.len()));
        }
        out.push(line);
        if ft.is_dir() {
            walk(root, &path, out)?;
        }
    }
    Ok(())
}

/// user.* xattrs of a path (not following symlinks), sorted.
fn xattrs(path: &Path) -> Vec<(String, Vec<u8>)> {
    let p = CString::new(path.as_os_str().as_bytes()).unwrap();
    let mut buf = vec![0u8; 65536];
    // SAFETY: the buffer is valid for its length.
    let n = unsafe { libc::llistxattr(p.as_ptr(), buf.as_mut_ptr().cast(), buf.len()) };
    if n <= 0 {
        return Vec::new();
    }
    let mut out: Vec<(String, Vec<u8>)> = buf[..n as usize]
        .split(|&b| b == 0)
        .filter(|n| n.starts_with(b"user."))
        .map(|name| {
            let cname = CString::new(name).unwrap();
            let mut val = vec![0u8; 65536];
            // SAFETY: valid C strings and buffer.
            let len = unsafe {
                libc::lgetxattr(
                    p.as_ptr(),
                    cname.as_ptr(),
                    val.as_mut_ptr().cast(),
                    val.len(),
                )
            };
            val.truncate(len.max(0) as usize);
            (String::from_utf8_lossy(name).into_owned(), val)
        })
        .collect();
    out.sort();
    out
}

/// The lines that differ, marked "-" (only in `a`) and "+" (only in `b`).
pub fn diff(a: &[String], b: &[String]) -> Vec<String> {
    let sa: std::collections::BTreeSet<_> = a.iter().collect();
    let sb: std::collections::BTreeSet<_> = b.iter().collect();
    let mut out: Vec<String> = sa.difference(&sb).map(|l| format!("- {l}")).collect();
    out.extend(sb.difference(&sa).map(|l| format!("+ {l}")));
    out
}
