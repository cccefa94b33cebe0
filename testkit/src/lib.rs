//! Test support shared by the workspace's crates.
//!
//! A test that cannot check what it is for (a tool or a kernel feature
//! missing) says so with [`skip!`] and returns: the skip is printed and,
//! when `FUSE4FS_SKIP_LOG` names a file (scripts/test sets it), appended
//! there as one line `rust BINARY::TEST: REASON`. scripts/test lists every
//! skip in its summary and, under CI, fails on one that is not in
//! tests/skips.allow. A skip is never a silent pass.

use std::io::Write;

pub mod e2fs;

/// Records that the running test skipped its check, with the reason
/// (format arguments as `format!`). Evaluates to `()`, so
/// `return skip!("...")` works in a test returning `()`.
#[macro_export]
macro_rules! skip {
    ($($arg:tt)*) => {
        $crate::record(&::std::format!($($arg)*))
    };
}

/// The running test's name as the summary shows it: the test binary's
/// name (without cargo's hash) and the test's path (libtest names each
/// test's thread after it).
pub fn test_name() -> String {
    let bin = std::env::current_exe()
        .ok()
        .and_then(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned()))
        .unwrap_or_else(|| "?".into());
    let bin = match bin.rsplit_once('-') {
        Some((name, hash)) if hash.len() == 16 && hash.bytes().all(|b| b.is_ascii_hexdigit()) => {
            name.to_string()
        }
        _ => bin,
    };
    let thread = std::thread::current();
    let test = thread.name().unwrap_or("?");
    format!("{bin}::{test}")
}

/// See [`skip!`].
pub fn record(reason: &str) {
    let line = format!("rust {}: {}", test_name(), reason.replace('\n', " "));
    eprintln!("SKIPPED {line}");
    if let Some(path) = std::env::var_os("FUSE4FS_SKIP_LOG") {
        // One write of a whole line with O_APPEND: test threads and test
        // binaries never interleave within a line.
        let written = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .and_then(|mut f| f.write_all(format!("{line}\n").as_bytes()));
        if let Err(e) = written {
            panic!("cannot record the skip in {}: {e}", path.to_string_lossy());
        }
    }
}

/// xorshift64 (shifts 13, 7, 17): a deterministic stream for test data,
/// damage and shuffles, so that a test makes the same choices each run.
/// Each item is the state after one more step (a state of 0 stays 0).
#[derive(Debug, Clone)]
pub struct XorShift(pub u64);

impl Iterator for XorShift {
    type Item = u64;

    fn next(&mut self) -> Option<u64> {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        Some(x)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_skip_is_recorded_with_the_test_name() {
        let dir = std::env::temp_dir().join(format!("testkit-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let log = dir.join("skips");
        // SAFETY: no other test of this binary reads the environment.
        unsafe { std::env::set_var("FUSE4FS_SKIP_LOG", &log) };
        skip!("needs {}", "a tool");
        let text = std::fs::read_to_string(&log).unwrap();
        unsafe { std::env::remove_var("FUSE4FS_SKIP_LOG") };
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(
            text.starts_with(
                "rust fuse4fs_testkit::tests::a_skip_is_recorded_with_the_test_name: needs a tool"
            ),
            "{text}"
        );
    }
}
pub mod manpage;
