//! The casefold tables and hash against e2fsprogs' own (libext2fs.so.2,
//! the library e2fsck and debugfs use), through the small C program in
//! tests/oracle/: every Unicode scalar value alone and beside combining
//! marks, invalid sequences, and the htree hash of folded names.

use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Command, Stdio};

use fuse4fs_format::ext4::casefold::fold;
use fuse4fs_format::ext4::hash::{HashVersion, dx_hash};

/// Builds the oracle; panics (with the reason) when cc or libext2fs is
/// missing, as scripts/install-deps installs both.
fn oracle() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let exe = dir.path().join("oracle");
    let src = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/oracle/libext2fs_casefold.c");
    let out = Command::new("cc")
        .arg("-O2")
        .arg("-o")
        .arg(&exe)
        .arg(&src)
        .arg("-l:libext2fs.so.2")
        .output()
        .unwrap_or_else(|e| panic!("cc (needed for the libext2fs oracle): {e}"));
    assert!(
        out.status.success(),
        "building the libext2fs oracle (needs cc and libext2fs2): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    (dir, exe)
}

/// Asks the oracle every request line; its answers in order.
fn ask(exe: &PathBuf, requests: Vec<String>) -> Vec<String> {
    let mut child = Command::new(exe)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let n = requests.len();
    let writer = std::thread::spawn(move || {
        let mut w = std::io::BufWriter::new(&mut stdin);
        for r in requests {
            writeln!(w, "{r}").unwrap();
        }
        w.flush().unwrap();
    });
    let answers: Vec<String> = BufReader::new(child.stdout.take().unwrap())
        .lines()
        .map(|l| l.unwrap())
        .collect();
    writer.join().unwrap();
    assert!(child.wait().unwrap().success());
    assert_eq!(answers.len(), n, "the oracle answered every line");
    answers
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// What the oracle answers for a fold: hex, or an error.
fn ours(name: &[u8]) -> String {
    match fold(name) {
        Some(f) => hex(&f),
        None => "E".into(),
    }
}

fn theirs(answer: &str) -> String {
    if answer.starts_with('E') {
        "E".into()
    } else {
        answer.to_string()
    }
}

#[test]
fn folds_like_libext2fs() {
    let (_dir, exe) = oracle();
    // Each scalar value alone, before a class-1 mark (U+0334) and after
    // a class-230 mark (U+0301): the two reveal its combining class.
    let mut names: Vec<Vec<u8>> = Vec::new();
    for cp in 1..=0x10FFFFu32 {
        let Some(c) = char::from_u32(cp) else {
            continue;
        };
        let s = c.to_string();
        names.push(s.clone().into_bytes());
        names.push(format!("{s}\u{334}").into_bytes());
        names.push(format!("\u{301}{s}").into_bytes());
    }
    // A default-ignorable code point between marks stops their reordering.
    names.push("a\u{301}\u{200b}\u{316}".into());
    names.push("a\u{301}\u{316}".into());
    // Invalid sequences: a surrogate, overlong, past U+10FFFF, truncated.
    for bad in [
        &b"\xed\xa0\x80"[..],
        b"\xc0\xaf",
        b"\xf4\x90\x80\x80",
        b"ab\xff",
        b"\xc3",
    ] {
        names.push(bad.to_vec());
    }
    let requests = names.iter().map(|n| format!("F {}", hex(n))).collect();
    let answers = ask(&exe, requests);
    let mut wrong = Vec::new();
    for (n, a) in names.iter().zip(&answers) {
        let (o, t) = (ours(n), theirs(a));
        if o != t {
            wrong.push(format!("{} ours {o} libext2fs {t}", hex(n)));
        }
    }
    assert!(
        wrong.is_empty(),
        "{} names fold differently, first: {:#?}",
        wrong.len(),
        &wrong[..wrong.len().min(40)]
    );
}

#[test]
fn hashes_like_libext2fs() {
    let (_dir, exe) = oracle();
    let names: Vec<&str> = vec![
        "README",
        "readme",
        "Straße",
        "STRASSE",
        "ΣΊΣΥΦΟΣ",
        "σίσυφος",
        "İstanbul",
        "ıi",
        "e\u{301}te\u{301}",
        "\u{e9}t\u{e9}",
        "ǅemal",
        "ﬃ",
        "한국어",
    ];
    let versions = [
        HashVersion::Legacy,
        HashVersion::HalfMd4,
        HashVersion::Tea,
        HashVersion::LegacyUnsigned,
        HashVersion::HalfMd4Unsigned,
        HashVersion::TeaUnsigned,
    ];
    let mut requests = Vec::new();
    let mut expect = Vec::new();
    for v in versions {
        for n in &names {
            requests.push(format!("H {} {}", v.to_disk(), hex(n.as_bytes())));
            let f = fold(n.as_bytes()).unwrap();
            let (h, minor) = dx_hash(&f, v, &[0; 4]);
            expect.push(format!("{h:08x} {minor:08x}"));
        }
    }
    let answers = ask(&exe, requests);
    assert_eq!(answers, expect);
}
