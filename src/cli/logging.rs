//! Where the log goes: systemd's journal, with structured fields, when
//! stderr is connected to it; plain lines on stderr otherwise.

use std::io::IsTerminal;
use std::os::fd::AsFd;

use tracing_subscriber::EnvFilter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// The prefix of fuse4fs's own journal fields (`FUSE4FS_MOUNTPOINT`, …).
const FIELD_PREFIX: &str = "FUSE4FS";

/// Sets up logging: `-d` logs debug lines, FUSE4FS_LOG overrides the
/// filter (tracing's EnvFilter syntax). `stays_foreground` says whether
/// stderr will still be this terminal while the server runs: a server
/// that daemonizes writes its log to `-o logfile=` or /dev/null, where
/// colour escapes are noise.
pub fn init(debug: bool, stays_foreground: bool) {
    let filter = || {
        EnvFilter::try_from_env("FUSE4FS_LOG")
            .unwrap_or_else(|_| EnvFilter::new(if debug { "debug" } else { "info" }))
    };
    if to_journal(std::env::var("JOURNAL_STREAM").ok().as_deref(), stderr_id()) {
        match tracing_journald::layer() {
            Ok(layer) => {
                let layer = layer
                    .with_field_prefix(Some(FIELD_PREFIX.into()))
                    .with_syslog_identifier("fuse4fs".into());
                tracing_subscriber::registry()
                    .with(filter())
                    .with(layer)
                    .init();
                return;
            }
            // No journald socket after all: plain lines, which systemd
            // still puts in the journal.
            Err(e) => eprintln!("fuse4fs: logging to the journal: {e}; logging to stderr"),
        }
    }
    tracing_subscriber::fmt()
        .with_env_filter(filter())
        .with_writer(std::io::stderr)
        .with_ansi(colour(stays_foreground, std::io::stderr().is_terminal()))
        .with_target(false)
        .init();
}

/// Whether log lines carry ANSI colour: only on a terminal the server keeps.
fn colour(stays_foreground: bool, stderr_is_terminal: bool) -> bool {
    stays_foreground && stderr_is_terminal
}

/// The device and inode numbers of stderr (None: closed).
fn stderr_id() -> Option<(u64, u64)> {
    let st = rustix::fs::fstat(std::io::stderr().as_fd()).ok()?;
    Some((st.st_dev, st.st_ino))
}

/// Whether to log to the journal: systemd sets JOURNAL_STREAM to
/// "DEVICE:INODE" of the stream it connected stdout/stderr to; it holds
/// only while stderr is still that stream (not when a child of a service
/// has its stderr redirected, say to a file or a terminal), as
/// systemd.exec(5) advises.
fn to_journal(journal_stream: Option<&str>, stderr: Option<(u64, u64)>) -> bool {
    let parsed = journal_stream.and_then(|v| {
        let (dev, ino) = v.split_once(':')?;
        Some((dev.parse::<u64>().ok()?, ino.parse::<u64>().ok()?))
    });
    parsed.is_some() && parsed == stderr
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_journal_only_when_stderr_is_its_stream() {
        let s = Some((45, 12345));
        assert!(to_journal(Some("45:12345"), s));
        assert!(!to_journal(None, s), "not under systemd");
        assert!(!to_journal(Some("45:999"), s), "stderr redirected");
        assert!(!to_journal(Some("45:12345"), None), "stderr closed");
        assert!(!to_journal(Some("garbage"), s));
        assert!(!to_journal(Some("45:"), s));
    }

    #[test]
    fn colour_only_on_a_terminal_the_server_keeps() {
        assert!(colour(true, true));
        assert!(!colour(false, true), "a daemon's log goes to a file");
        assert!(!colour(true, false), "stderr redirected");
    }

    #[test]
    fn this_process_stderr_is_identified() {
        // The check real code makes: a JOURNAL_STREAM naming our own
        // stderr selects the journal.
        let (dev, ino) = stderr_id().expect("the test runner has a stderr");
        assert!(to_journal(Some(&format!("{dev}:{ino}")), Some((dev, ino))));
    }
}
