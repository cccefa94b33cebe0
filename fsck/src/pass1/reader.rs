//! Read-ahead of the inode tables: a thread reads the initialised part of
//! each group's table in large chunks, verifies each inode's checksum,
//! and hands them over a bounded channel, so that the device and the
//! second CPU are busy while the checker works.

use std::sync::mpsc::{Receiver, SyncSender, sync_channel};

use fuse4fs_format::ext4::group::BG_INODE_UNINIT;
use fuse4fs_format::ext4::superblock::Superblock;

use fuse4fs_format::ext4::InodeNo;

use super::fields::checksum_ok;

use crate::context::Fsck;
use crate::device::Device;
use crate::error::Result;

/// Inode-table bytes per read.
const CHUNK_BYTES: usize = 2 << 20;
/// Chunks read ahead of the checker.
const DEPTH: usize = 4;

/// One group's table to read: where, and how many initialised inodes.
pub(super) struct Span {
    pub group: u32,
    pub offset: u64,
    pub count: u32,
}

/// Inodes `first..first + count` of `group`, in `buf`.
pub(super) struct Chunk {
    pub group: u32,
    pub first: u32,
    pub count: u32,
    pub buf: Vec<u8>,
    /// Whether each inode's checksum matches (see
    /// [`super::fields::checksum_ok`]).
    pub csum_ok: Vec<bool>,
    /// The group's last chunk.
    pub last: bool,
}

/// The initialised part of every group's inode table (all of it without
/// group checksums; none of it in an INODE_UNINIT group).
pub(super) fn plan(cx: &Fsck) -> Vec<Span> {
    let sb = &cx.sb;
    let csum = sb.metadata_csum() || sb.gdt_csum();
    (0..sb.group_count())
        .map(|g| {
            let gd = &cx.groups[g as usize];
            let count = if !csum {
                sb.inodes_per_group
            } else if gd.flags & BG_INODE_UNINIT != 0 {
                0
            } else {
                sb.inodes_per_group.saturating_sub(gd.itable_unused)
            };
            Span {
                group: g,
                offset: cx.block_offset(gd.inode_table),
                count,
            }
        })
        .collect()
}

/// Reads `plan` on a second thread and calls `each` with every chunk in
/// order; stops at the first error of either side.
pub(super) fn run(
    dev: Device,
    sb: &Superblock,
    plan: Vec<Span>,
    mut each: impl FnMut(&Chunk) -> Result<()>,
) -> Result<()> {
    let (tx, rx) = sync_channel::<Result<Chunk>>(DEPTH);
    let (free_tx, free_rx) = sync_channel::<(Vec<u8>, Vec<bool>)>(DEPTH + 2);
    std::thread::scope(|s| {
        s.spawn(move || read_all(&dev, sb, &plan, &tx, &free_rx));
        let result = (|| {
            for chunk in rx.iter() {
                let chunk = chunk?;
                each(&chunk)?;
                let _ = free_tx.try_send((chunk.buf, chunk.csum_ok));
            }
            Ok(())
        })();
        // Dropping the receiver stops the reader at its next send.
        drop(rx);
        drop(free_tx);
        result
    })
}

/// Inode tables (group spans) asked for ahead of the one being read.
const AHEAD: usize = 8;

fn read_all(
    dev: &Device,
    sb: &Superblock,
    plan: &[Span],
    tx: &SyncSender<Result<Chunk>>,
    free: &Receiver<(Vec<u8>, Vec<bool>)>,
) {
    let isz = sb.inode_size as usize;
    let ipg = sb.inodes_per_group;
    let per_chunk = (CHUNK_BYTES / isz).max(1) as u32;
    // Several tables asked for ahead: with a cold cache the device serves
    // them in parallel while this thread reads the current one.
    let ask = |span: &Span| dev.will_need(span.offset, span.count as u64 * isz as u64);
    plan.iter().skip(1).take(AHEAD).for_each(ask);
    for (n, span) in plan.iter().enumerate() {
        if let Some(next) = plan.get(n + 1 + AHEAD) {
            ask(next);
        }
        let mut first = 0u32;
        loop {
            let count = per_chunk.min(span.count - first);
            let (mut buf, mut csum_ok) = free.try_recv().unwrap_or_default();
            buf.resize(count as usize * isz, 0);
            let off = span.offset + first as u64 * isz as u64;
            let msg = dev.read_at(off, &mut buf).map(|()| {
                let first_ino = span.group * ipg + first + 1;
                csum_ok.clear();
                csum_ok.extend(
                    buf.chunks_exact(isz)
                        .enumerate()
                        .map(|(i, raw)| checksum_ok(sb, InodeNo(first_ino + i as u32), raw)),
                );
                Chunk {
                    group: span.group,
                    first,
                    count,
                    buf,
                    csum_ok,
                    last: first + count == span.count,
                }
            });
            let failed = msg.is_err();
            if tx.send(msg).is_err() || failed {
                return;
            }
            first += count;
            if first >= span.count {
                break;
            }
        }
    }
}
