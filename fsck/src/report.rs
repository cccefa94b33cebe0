//! The problems met in one check, the question each asks, and the tally
//! that decides the exit code.

use crate::options::{Mode, Options};
use crate::problem::{Kind, Preen, Problem, Prompt};

/// Prints a line on stdout, ignoring a closed pipe (`fuse4fs-fsck -fn img |
/// head` must not panic when `head` is done).
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout().lock(), $($arg)*);
    }};
}

/// Which part of the check found a problem.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Pass {
    /// Superblock, group descriptors, journal and orphan list, before pass 1.
    Setup,
    Pass1,
    Pass1b,
    Pass2,
    Pass3,
    Pass4,
    Pass5,
}

/// One problem met, as reported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub pass: Pass,
    /// What was found, with its context.
    pub problem: Problem,
    /// Its family (`problem.kind()`).
    pub kind: Kind,
    /// The problem in one line, e2fsck-style (`problem.message()`).
    pub message: String,
    /// Whether it was repaired.
    pub fixed: bool,
}

impl std::fmt::Display for Finding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.message)
    }
}

/// The problems of one check and how they were answered.
#[derive(Debug, Default)]
pub struct Report {
    mode: Mode,
    print: bool,
    /// Prefix of preen-mode lines (the device name, as e2fsck).
    label: String,
    pass: Option<Pass>,
    pub problems: Vec<Finding>,
    /// Informational lines (journal replayed, counts), also printed.
    pub notes: Vec<String>,
    /// A problem `-p` may not repair was met: e2fsck's "UNEXPECTED
    /// INCONSISTENCY; RUN fsck MANUALLY".
    pub preen_halted: bool,
}

impl Report {
    /// A report for a check with `opts` of the device called `label`.
    pub fn new(opts: &Options, label: &str) -> Self {
        Report {
            mode: opts.mode,
            print: opts.print,
            label: label.to_string(),
            ..Report::default()
        }
    }

    /// Starts pass `p` (its heading is printed outside preen mode).
    pub fn begin(&mut self, p: Pass) {
        self.pass = Some(p);
        if self.print && self.mode != Mode::Preen {
            let heading = match p {
                Pass::Setup => return,
                Pass::Pass1 => "Pass 1: Checking inodes, blocks, and sizes",
                Pass::Pass1b => "Pass 1B: Rescanning for multiply-claimed blocks",
                Pass::Pass2 => "Pass 2: Checking directory structure",
                Pass::Pass3 => "Pass 3: Checking directory connectivity",
                Pass::Pass4 => "Pass 4: Checking reference counts",
                Pass::Pass5 => "Pass 5: Checking group summary information",
            };
            say!("{heading}");
        }
    }

    /// Records a problem and answers whether to repair it: never with
    /// `-n`, always with `-y`, with `-p` as its row's preen rule says.
    /// A caller told yes must repair (or call [`Report::not_fixed`]).
    pub fn ask(&mut self, problem: Problem) -> bool {
        let row = problem.row();
        let message = row.message;
        let fix = match (self.mode, row.preen) {
            (Mode::Check, Preen::Quiet) => {
                // Not a problem with -n: a note, as e2fsck's PR_NO_NOMSG.
                self.note(message);
                return false;
            }
            // Repaired without a word, and not counted.
            (Mode::Preen, Preen::Quiet) => return true,
            (Mode::Check, _) => false,
            (Mode::Yes, _) => true,
            (Mode::Preen, Preen::Fix) => !self.preen_halted,
            (Mode::Preen, Preen::Halt) => {
                self.preen_halted = true;
                false
            }
        };
        if self.print {
            say!("{}", self.asked(&message, row.prompt, fix));
        }
        self.problems.push(Finding {
            pass: self.pass.unwrap_or(Pass::Setup),
            kind: row.kind,
            problem,
            message,
            fixed: fix,
        });
        fix
    }

    /// What [`Report::ask`] prints for `message` answered `fix`, as
    /// e2fsck's fix_problem prints it: the question and the answer ("Clear?
    /// no") with `-n` and `-y`; with `-p` a repair as the prompt's preen
    /// word ("CLEARED."), a problem it may not repair as the end of the
    /// run. A problem without a question (`PROMPT_NONE`) is its message
    /// alone, "IGNORED." after it when it was not repaired (the message
    /// says what a repair does: "Clearing orphaned inode...").
    fn asked(&self, message: &str, prompt: Prompt, fix: bool) -> String {
        let label = &self.label;
        match (self.mode, prompt) {
            (Mode::Preen, _) if !fix => format!(
                "{label}: {message}\n\n{label}: UNEXPECTED INCONSISTENCY; RUN fsck MANUALLY.\n\t(i.e., without -a or -p options)"
            ),
            (Mode::Preen, Prompt::None) => format!("{label}: {message}"),
            (Mode::Preen, Prompt::Null) => format!("{label}: {message}."),
            (Mode::Preen, p) => format!("{label}: {message}  {}.", p.preen_message()),
            (_, Prompt::None) if fix => message.to_string(),
            (_, Prompt::None) => format!("{message}  IGNORED."),
            (_, p) => {
                let answer = if fix { "yes" } else { "no" };
                let gap = if p == Prompt::Null { "" } else { "  " };
                format!("{message}{gap}{}? {answer}\n", p.question())
            }
        }
    }

    /// The last problem asked about could not be repaired after all.
    pub fn not_fixed(&mut self, why: &str) {
        if let Some(p) = self.problems.last_mut() {
            p.fixed = false;
        }
        if self.print {
            say!("{}: could not repair: {why}", self.label);
        }
    }

    /// An informational line.
    pub fn note(&mut self, line: String) {
        if self.print {
            match self.mode {
                Mode::Preen => say!("{}: {line}", self.label),
                _ => say!("{line}"),
            }
        }
        self.notes.push(line);
    }

    /// A line that already names the device (the summary): printed as is.
    pub fn summary(&mut self, line: String) {
        if self.print {
            say!("{line}");
        }
        self.notes.push(line);
    }

    /// Problems left unrepaired.
    pub fn unfixed(&self) -> usize {
        self.problems.iter().filter(|p| !p.fixed).count()
    }

    /// Problems repaired.
    pub fn fixed(&self) -> usize {
        self.problems.iter().filter(|p| p.fixed).count()
    }

    /// Whether a problem of `kind` was reported.
    pub fn has(&self, kind: Kind) -> bool {
        self.problems.iter().any(|p| p.kind == kind)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::problem::{Count, Problem as P};
    use fuse4fs_format::ext4::{BlockNo, InodeNo};

    fn report(mode: Mode) -> Report {
        Report::new(
            &Options {
                mode,
                ..Options::default()
            },
            "img",
        )
    }

    fn links(ino: u32) -> P {
        P::LinkCount {
            ino: InodeNo(ino),
            have: 2,
            want: 1,
        }
    }

    #[test]
    fn answers_follow_the_mode() {
        let mut r = report(Mode::Check);
        assert!(!r.ask(links(12)));
        assert_eq!((r.fixed(), r.unfixed()), (0, 1));
        assert_eq!(r.problems[0].problem, links(12));
        let mut r = report(Mode::Yes);
        assert!(r.ask(P::Htree {
            dir: InodeNo(12),
            why: "x".into()
        }));
        r.not_fixed("no room");
        assert_eq!((r.fixed(), r.unfixed()), (0, 1));
    }

    #[test]
    fn preen_stops_at_the_first_unexpected_problem() {
        let mut r = report(Mode::Preen);
        assert!(r.ask(links(12)));
        assert!(!r.ask(P::ExtentIndex {
            ino: InodeNo(13),
            child: BlockNo(9)
        }));
        assert!(r.preen_halted);
        // Nothing is repaired after a halt.
        assert!(!r.ask(P::BitmapPadding {
            which: crate::problem::WhichBitmap::Block
        }));
        assert_eq!((r.fixed(), r.unfixed()), (1, 2));
    }

    /// What `ask` prints, for each mode, as e2fsck prints it.
    #[test]
    fn questions_are_asked_with_e2fsck_prompts() {
        let unused = P::UnusedInode {
            dir: InodeNo(2),
            name: b"f".to_vec(),
            ino: InodeNo(12),
        };
        let msg = "Entry 'f' in directory inode 2 has deleted/unused inode 12.";
        let quota = P::QuotaUsage { qtype: 1 };
        let orphan = P::OrphanClear {
            orphan: crate::problem::OrphanId {
                ino: InodeNo(13),
                uid: 0,
                gid: 0,
                mode: 0o100644,
                size: 0,
            },
        };
        let o = "Clearing orphaned inode 13 (uid=0, gid=0, mode=0100644, size=0)";
        let line = |mode: Mode, p: &P, fix: bool| report(mode).asked(&p.message(), p.prompt(), fix);
        assert_eq!(
            line(Mode::Check, &unused, false),
            format!("{msg}  Clear? no\n")
        );
        assert_eq!(
            line(Mode::Yes, &unused, true),
            format!("{msg}  Clear? yes\n")
        );
        assert_eq!(
            line(Mode::Preen, &unused, true),
            format!("img: {msg}  CLEARED.")
        );
        assert_eq!(
            line(Mode::Yes, &P::Unattached { ino: InodeNo(12) }, true),
            "Unattached inode 12.  Connect to /lost+found? yes\n"
        );
        assert_eq!(
            line(Mode::Preen, &P::Unattached { ino: InodeNo(12) }, true),
            "img: Unattached inode 12.  RECONNECTED."
        );
        assert!(
            line(Mode::Preen, &P::DotBig { dir: InodeNo(12) }, false).ends_with(
                "UNEXPECTED INCONSISTENCY; RUN fsck MANUALLY.\n\t(i.e., without -a or -p options)"
            )
        );
        // PROMPT_NULL: the question is the message's end.
        assert_eq!(
            line(Mode::Check, &quota, false),
            "Update quota info for quota type 1? no\n"
        );
        assert_eq!(
            line(Mode::Preen, &quota, true),
            "img: Update quota info for quota type 1."
        );
        // PROMPT_NONE: the message alone, marked when not done.
        assert_eq!(line(Mode::Yes, &orphan, true), o);
        assert_eq!(line(Mode::Preen, &orphan, true), format!("img: {o}"));
        assert_eq!(line(Mode::Check, &orphan, false), format!("{o}  IGNORED."));
    }

    #[test]
    fn quiet_problems_are_a_note_with_n_and_silent_with_p() {
        let stale = P::SuperblockCount {
            count: Count::FreeInodes,
            have: 5,
            want: 6,
        };
        let mut r = report(Mode::Check);
        assert!(!r.ask(stale.clone()));
        assert!(r.problems.is_empty());
        assert_eq!(r.notes, ["Free inodes count wrong (5, counted=6)."]);
        let mut r = report(Mode::Preen);
        assert!(r.ask(stale.clone()));
        assert!(r.problems.is_empty() && r.notes.is_empty());
        let mut r = report(Mode::Yes);
        assert!(r.ask(stale));
        assert_eq!((r.fixed(), r.unfixed()), (1, 0));
    }
}
