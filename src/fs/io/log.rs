//! A recorder of everything the filesystem does to its image, in order:
//! each write (where, which bytes), each flush (fdatasync), and markers the
//! caller pushes between operations. Crash-point testing (the `crashcheck`
//! binary) rebuilds the image as it could be after a crash at any point of
//! that sequence.

use std::sync::Arc;

use parking_lot::Mutex;

/// One recorded event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IoEvent {
    /// `data` was written at byte `offset` of the image.
    Write { offset: u64, data: Vec<u8> },
    /// Every earlier write reached stable storage (fdatasync returned).
    Flush,
    /// A marker pushed by the caller (crashcheck: an operation returned).
    Mark(u64),
}

/// The recorded events; shared between the image (which records writes
/// and flushes) and the caller (which records marks and reads them back).
#[derive(Default)]
pub struct IoLog {
    events: Mutex<Vec<IoEvent>>,
    /// For each event inserted later than it happened ([`IoLog::insert`]),
    /// how many pushed events preceded it (lock `events` first).
    inserted: Mutex<Vec<usize>>,
}

impl std::fmt::Debug for IoLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The events themselves can be megabytes of block images.
        write!(f, "IoLog({} events)", self.events.lock().len())
    }
}

impl IoLog {
    /// An empty log, ready to hand to `FsOptions::io_log`.
    pub fn new() -> Arc<IoLog> {
        Arc::new(IoLog::default())
    }

    /// Appends one event.
    pub fn push(&self, e: IoEvent) {
        self.events.lock().push(e);
    }

    /// Events pushed so far (not those inserted): a position for
    /// [`IoLog::insert`].
    pub fn pushed(&self) -> usize {
        let v = self.events.lock();
        v.len() - self.inserted.lock().len()
    }

    /// Inserts `e` where it happened, after the first `pushed` pushed
    /// events (and the events inserted there before it): a flush where it
    /// began, recorded once it completed.
    pub fn insert(&self, pushed: usize, e: IoEvent) {
        let mut v = self.events.lock();
        let mut inserted = self.inserted.lock();
        let before = inserted.iter().filter(|&&p| p <= pushed).count();
        let i = (pushed + before).min(v.len());
        v.insert(i, e);
        inserted.push(pushed);
    }

    /// Appends a marker.
    pub fn mark(&self, m: u64) {
        self.push(IoEvent::Mark(m));
    }

    /// A copy of every event so far, in order.
    pub fn events(&self) -> Vec<IoEvent> {
        self.events.lock().clone()
    }

    /// Takes every event so far out of the log, leaving it empty.
    pub fn take(&self) -> Vec<IoEvent> {
        let mut v = self.events.lock();
        self.inserted.lock().clear();
        std::mem::take(&mut *v)
    }

    /// How many events were recorded.
    pub fn len(&self) -> usize {
        self.events.lock().len()
    }

    /// Whether nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.events.lock().is_empty()
    }
}

impl crate::fs::Fs {
    /// The recorder the image reports to, when one was given at open.
    pub fn io_log(&self) -> Option<&Arc<IoLog>> {
        self.image.io_log()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_order_and_take_empties() {
        let log = IoLog::new();
        log.push(IoEvent::Write {
            offset: 4096,
            data: vec![1, 2],
        });
        log.push(IoEvent::Flush);
        log.mark(7);
        let want = vec![
            IoEvent::Write {
                offset: 4096,
                data: vec![1, 2],
            },
            IoEvent::Flush,
            IoEvent::Mark(7),
        ];
        assert_eq!(log.events(), want);
        assert_eq!(log.len(), 3);
        assert_eq!(log.take(), want);
        assert!(log.is_empty());
    }
}
