//! The user namespace this process runs in, as its uid map describes it
//! (`/proc/self/uid_map`): whether it is the initial one, and which id
//! outside stands for an id inside. A mount made in a user namespace
//! (`unshare -Urm`, bwrap, rootless podman) reads ids relative to it: the
//! kernel turns the request's ids and the server's replies through the
//! namespace's map, so the server itself only needs this where it names
//! things outside the namespace (its record directory under /tmp or
//! /run/user/UID, which other namespaces of the same user share).

/// One line of a uid or gid map: `inside outside count`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Range {
    inside: u32,
    outside: u32,
    count: u32,
}

/// A uid (or gid) map.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdMap {
    ranges: Vec<Range>,
}

impl IdMap {
    /// This process's uid map; the initial namespace's when /proc does not
    /// say (no /proc mounted: nothing to translate by).
    pub fn own_uids() -> IdMap {
        IdMap::read("/proc/self/uid_map")
    }

    /// This process's gid map (as [`IdMap::own_uids`]).
    pub fn own_gids() -> IdMap {
        IdMap::read("/proc/self/gid_map")
    }

    fn read(path: &str) -> IdMap {
        std::fs::read_to_string(path)
            .map(|t| IdMap::parse(&t))
            .unwrap_or_else(|_| IdMap::initial())
    }

    /// The initial namespace's map: every id is itself.
    pub fn initial() -> IdMap {
        IdMap {
            ranges: vec![Range {
                inside: 0,
                outside: 0,
                count: u32::MAX,
            }],
        }
    }

    /// Parses the text of a `uid_map`/`gid_map` file (lines it cannot
    /// read are skipped).
    pub fn parse(text: &str) -> IdMap {
        let ranges = text
            .lines()
            .filter_map(|l| {
                let mut w = l.split_whitespace().map(|n| n.parse::<u32>().ok());
                Some(Range {
                    inside: w.next()??,
                    outside: w.next()??,
                    count: w.next()??,
                })
            })
            .collect();
        IdMap { ranges }
    }

    /// Whether this is the initial namespace (every id maps to itself).
    pub fn is_initial(&self) -> bool {
        *self == IdMap::initial()
    }

    /// The ids of the outer namespace this map gives names to, as
    /// `(first, count)` spans.
    pub fn outside_spans(&self) -> Vec<(u32, u32)> {
        self.ranges.iter().map(|r| (r.outside, r.count)).collect()
    }

    /// The id of the parent namespace that `id` stands for; `None` when
    /// the map leaves `id` out (the kernel then shows the overflow id,
    /// 65534, for it).
    pub fn outside(&self, id: u32) -> Option<u32> {
        self.ranges.iter().find_map(|r| {
            let off = id.checked_sub(r.inside)?;
            (off < r.count).then(|| r.outside + off)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn initial_and_mapped() {
        let init = IdMap::parse("         0          0 4294967295\n");
        assert!(init.is_initial());
        assert_eq!(init.outside(1000), Some(1000));
        // unshare -Ur as uid 1000.
        let ur = IdMap::parse("         0       1000          1\n");
        assert!(!ur.is_initial());
        assert_eq!(ur.outside(0), Some(1000));
        assert_eq!(ur.outside(1), None);
        // A rootless container: root and a subordinate range.
        let pod = IdMap::parse("0 1000 1\n1 100000 65536\nbad line\n");
        assert_eq!(pod.outside(0), Some(1000));
        assert_eq!(pod.outside(33), Some(100032));
        assert_eq!(pod.outside(65536), Some(165535));
        assert_eq!(pod.outside(65537), None);
    }

    #[test]
    fn this_process() {
        let own = IdMap::own_uids();
        let me = rustix::process::getuid().as_raw();
        assert!(own.outside(me).is_some(), "our own uid is mapped");
    }
}
