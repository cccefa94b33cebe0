//! Reading option names out of `--help` text and man pages (roff), so
//! that tests can hold the generated pages to the programs' help whatever
//! options are added: every flag and `-o` option one lists, the other
//! lists too.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

/// Runs `BINARY --generate-docs DIR` into a fresh directory, which must
/// succeed; the directory (removed when dropped).
pub fn generate_docs(binary: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(binary)
        .arg("--generate-docs")
        .arg(dir.path())
        .output()
        .unwrap_or_else(|e| panic!("{binary}: {e}"));
    assert!(
        out.status.success(),
        "{binary} --generate-docs: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    dir
}

/// The flags (`-o`, `--recover`) that begin the option lines of clap's
/// `--help`: a line indented by two to six spaces whose first word is a
/// flag, as `  -u <DIR>` or `      --fsck`.
pub fn help_flags(help: &str) -> BTreeSet<String> {
    let mut flags = BTreeSet::new();
    for line in help.lines() {
        let indent = line.len() - line.trim_start().len();
        if !(2..=6).contains(&indent) || !line.trim_start().starts_with('-') {
            continue;
        }
        // "-h, --help" names two.
        for word in line.trim_start().split([' ', ',']) {
            if word.starts_with('-') && word.len() > 1 {
                flags.insert(word.to_string());
            } else if !word.is_empty() {
                break;
            }
        }
    }
    flags
}

/// The names listed in a section of `--help` that starts with the line
/// `header`: each entry line is indented by two spaces and holds names
/// separated by ", " (`  nosuid, suid`, `  commit=SECONDS`); its
/// description is indented further. The section ends at an unindented line.
pub fn help_list_names(help: &str, header: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let mut lines = help.lines().skip_while(|l| *l != header);
    assert!(lines.next().is_some(), "no line {header:?} in:\n{help}");
    for line in lines {
        if !line.starts_with(' ') {
            break;
        }
        if line.starts_with("  ") && !line.starts_with("   ") {
            names.extend(entry_names(line.trim()));
        }
    }
    names
}

/// `nosuid, suid` → nosuid, suid; `errors=a|b` → errors.
fn entry_names(entry: &str) -> impl Iterator<Item = String> + '_ {
    entry
        .split(", ")
        .map(|n| n.split('=').next().unwrap_or(n).trim().to_string())
}

/// Roff text as a reader sees it: font changes dropped, `\-` a hyphen.
pub fn roff_plain(text: &str) -> String {
    let mut out = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('f') => {
                chars.next();
            }
            Some('-') => out.push('-'),
            Some('\\') => out.push('\\'),
            Some('(') => {
                let name: String = chars.by_ref().take(2).collect();
                out.push_str(if name == "aq" { "'" } else { "?" });
            }
            Some('*') => {
                // \*(Aq: the apostrophe string.
                if chars.peek() == Some(&'(') {
                    chars.next();
                    chars.next();
                    chars.next();
                }
                out.push('\'');
            }
            Some(other) => out.push(other),
            None => {}
        }
    }
    out
}

/// The tag lines (the line after each `.TP`) of the man page section
/// `name` (its `.SH` argument, quoted or not), as plain text.
pub fn man_tags(page: &str, name: &str) -> Vec<String> {
    let mut tags = Vec::new();
    let mut inside = false;
    let mut lines = page.lines();
    while let Some(line) = lines.next() {
        if let Some(heading) = line.strip_prefix(".SH ") {
            inside = heading.trim_matches('"') == name;
        } else if inside
            && line == ".TP"
            && let Some(tag) = lines.next()
        {
            tags.push(roff_plain(tag));
        }
    }
    assert!(
        page.lines()
            .any(|l| l.strip_prefix(".SH ").map(|h| h.trim_matches('"')) == Some(name)),
        "no section {name} in:\n{page}"
    );
    tags
}

/// The flags the OPTIONS section of a man page documents (`-u <DIR>`,
/// `-h, --help`).
pub fn man_flags(page: &str) -> BTreeSet<String> {
    let mut flags = BTreeSet::new();
    for tag in man_tags(page, "OPTIONS") {
        for word in tag.split([' ', ',']) {
            if word.starts_with('-') && word.len() > 1 {
                flags.insert(word.to_string());
            }
        }
    }
    flags
}

/// The names the tags of section `name` list (`nosuid, suid`,
/// `errors=continue|remount-ro|panic`).
pub fn man_list_names(page: &str, name: &str) -> BTreeSet<String> {
    man_tags(page, name)
        .iter()
        .flat_map(|t| entry_names(t).collect::<Vec<_>>())
        .collect()
}

/// What groff and man say about a page: nothing for a page that renders
/// cleanly. Panics if either tool is missing.
pub fn render_warnings(page: &Path) -> String {
    let mut said = String::new();
    let groff = Command::new("groff")
        .args(["-man", "-ww", "-z"])
        .arg(page)
        .output()
        .expect("groff is needed (scripts/install-deps installs groff-base)");
    said.push_str(&String::from_utf8_lossy(&groff.stderr));
    let man = Command::new("man")
        .args(["-l", "--warnings"])
        .arg(page)
        .env("MANWIDTH", "80")
        .env("MAN_KEEP_FORMATTING", "0")
        .output()
        .expect("man is needed (scripts/install-deps installs man-db)");
    said.push_str(&String::from_utf8_lossy(&man.stderr));
    if !man.status.success() {
        said.push_str(&format!("man -l exited with {}\n", man.status));
    }
    said
}

#[cfg(test)]
mod tests {
    use super::*;

    const HELP: &str = "\
Usage: x [OPTIONS] [IMAGE]

Options:
  -o <OPTS>
          Mount options
      --recover
          Take over
  -h, --help
          Print help

Mount options (-o):
  ro
          Read-only, see -f below.
  nosuid, suid
          Set-user-ID
  errors=continue|panic
          On damage
Filesystem features:
  read-write: a, b
";

    #[test]
    fn help_flags_are_the_option_lines() {
        let flags: Vec<_> = help_flags(HELP).into_iter().collect();
        assert_eq!(flags, ["--help", "--recover", "-h", "-o"]);
    }

    #[test]
    fn help_lists_end_at_the_next_header() {
        let names: Vec<_> = help_list_names(HELP, "Mount options (-o):")
            .into_iter()
            .collect();
        assert_eq!(names, ["errors", "nosuid", "ro", "suid"]);
    }

    #[test]
    fn man_tags_by_section() {
        let page = ".TH x 1\n.SH OPTIONS\n.TP\n\\fB\\-h\\fR, \\fB\\-\\-help\\fR\nPrint help\n.TP\n\\fB\\-u\\fR \\fI<DIR>\\fR\nUnmount\n.SH \"MOUNT OPTIONS\"\n.TP\n\\fBnosuid\\fR, \\fBsuid\\fR\nx\n.TP\n\\fBerrors\\fR\\fB=\\fR\\fIcontinue|panic\\fR\ny\n";
        let flags: Vec<_> = man_flags(page).into_iter().collect();
        assert_eq!(flags, ["--help", "-h", "-u"]);
        let names: Vec<_> = man_list_names(page, "MOUNT OPTIONS").into_iter().collect();
        assert_eq!(names, ["errors", "nosuid", "suid"]);
    }
}
