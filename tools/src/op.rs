//! The operations the seeded workloads are made of, on paths relative to
//! the root of the tree a tool works on: the namespace operations, alike
//! in `crashcheck` (calls to `Fs`) and `fsdiff` (system calls on two
//! mounts), and each tool's own operations beside them.

use std::fmt;

/// One operation; `T` is the tool's own kind of operation (data, xattrs,
/// fsync...), whose arguments and text differ between the tools.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op<T> {
    /// Path, permission bits.
    Create(String, u16),
    /// Path, permission bits.
    Mkdir(String, u16),
    Rmdir(String),
    Unlink(String),
    /// From, to, renameat2 flags.
    Rename(String, String, u32),
    /// Existing path, new name.
    Link(String, String),
    /// Target, path.
    Symlink(String, String),
    /// Path, mode bits (setuid, setgid and sticky too).
    Chmod(String, u16),
    /// Path, new size.
    Truncate(String, u64),
    /// An operation of the tool's own.
    Own(T),
}

/// The text a failure report names an operation by.
impl<T: fmt::Display> fmt::Display for Op<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Op::Create(p, m) => write!(f, "create {p} {m:o}"),
            Op::Mkdir(p, m) => write!(f, "mkdir {p} {m:o}"),
            Op::Rmdir(p) => write!(f, "rmdir {p}"),
            Op::Unlink(p) => write!(f, "unlink {p}"),
            Op::Rename(a, b, fl) => write!(f, "rename {a} {b} flags={fl}"),
            Op::Link(a, b) => write!(f, "link {a} {b}"),
            Op::Symlink(t, p) => write!(f, "symlink {t} {p}"),
            Op::Chmod(p, m) => write!(f, "chmod {p} {m:o}"),
            Op::Truncate(p, l) => write!(f, "truncate {p} {l}"),
            Op::Own(o) => o.fmt(f),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A tool's own operation, for the test.
    #[derive(Debug)]
    struct Sync;

    impl fmt::Display for Sync {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("sync")
        }
    }

    #[test]
    fn operations_read_as_the_reports_name_them() {
        let ops: [(Op<Sync>, &str); 10] = [
            (Op::Create("d/f".into(), 0o644), "create d/f 644"),
            (Op::Mkdir("d".into(), 0o755), "mkdir d 755"),
            (Op::Rmdir("d".into()), "rmdir d"),
            (Op::Unlink("f".into()), "unlink f"),
            (Op::Rename("a".into(), "b".into(), 2), "rename a b flags=2"),
            (Op::Link("a".into(), "b".into()), "link a b"),
            (Op::Symlink("t".into(), "l".into()), "symlink t l"),
            (Op::Chmod("f".into(), 0o4755), "chmod f 4755"),
            (Op::Truncate("f".into(), 70), "truncate f 70"),
            (Op::Own(Sync), "sync"),
        ];
        for (op, text) in ops {
            assert_eq!(op.to_string(), text, "{op:?}");
        }
    }
}
