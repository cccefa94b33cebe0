//! Partition tables, valid and hostile: the tables fuse4fs reads to find
//! the filesystem in a whole-disk image. Valid MBR (with an extended
//! partition and logical ones) and GPT tables are read as written; then
//! thousands of corrupted copies (random bytes flipped in the table
//! sectors, and targeted damage: partitions past the end, overlapping,
//! absurd entry counts and sizes with their checksum made right, bad
//! checksums, looping or overflowing extended boot record chains) must
//! each give a partition list that fits the file or a clear error; never a
//! panic, an abort, or a partition outside the file.

use std::fs::File;
use std::io::{Seek, SeekFrom};
use std::os::unix::fs::FileExt;

use fuse4fs::partition::{self, Kind, Scheme, Selection, Table};

const MIB: u64 = 1 << 20;
const IMAGE: u64 = 8 * MIB;
/// The GPT "Linux filesystem" type, as stored.
const LINUX_FS: [u8; 16] = [
    0xaf, 0x3d, 0xc6, 0x0f, 0x83, 0x84, 0x72, 0x47, 0x8e, 0x79, 0x3d, 0x69, 0xd8, 0x47, 0x7d, 0xe4,
];

/// An ext2/3/4 magic at the start of the partition at byte `at`.
fn put_ext_magic(f: &File, at: u64) {
    f.write_all_at(&[0x53, 0xef], at + 1024 + 0x38).unwrap();
}

/// A 16-byte MBR entry.
fn mbr_entry(sys: u8, start: u32, sectors: u32) -> [u8; 16] {
    let mut e = [0u8; 16];
    e[4] = sys;
    e[8..12].copy_from_slice(&start.to_le_bytes());
    e[12..16].copy_from_slice(&sectors.to_le_bytes());
    e
}

/// Writes a boot sector with `entries` at sector `lba`.
fn put_sector(f: &File, lba: u64, entries: &[[u8; 16]]) {
    let mut s = [0u8; 512];
    for (i, e) in entries.iter().enumerate() {
        s[446 + 16 * i..462 + 16 * i].copy_from_slice(e);
    }
    s[510] = 0x55;
    s[511] = 0xaa;
    f.write_all_at(&s, lba * 512).unwrap();
}

/// An MBR: 1 (Linux, ext), 2 (FAT), 3 extended holding logical 5 (ext)
/// and 6 (Linux, no filesystem).
fn mbr_image() -> File {
    let f = tempfile::tempfile().unwrap();
    f.set_len(IMAGE).unwrap();
    put_sector(
        &f,
        0,
        &[
            mbr_entry(0x83, 2048, 2048),
            mbr_entry(0x0c, 4096, 2048),
            mbr_entry(0x05, 6144, 8192),
        ],
    );
    // EBR 1 at the extended start: logical 5, then the next EBR.
    put_sector(
        &f,
        6144,
        &[mbr_entry(0x83, 2048, 2048), mbr_entry(0x05, 4096, 4096)],
    );
    put_sector(&f, 6144 + 4096, &[mbr_entry(0x83, 2048, 2048)]);
    put_ext_magic(&f, 2048 * 512);
    put_ext_magic(&f, (6144 + 2048) * 512);
    f
}

/// A GPT (512-byte sectors) with `1` (ext, "root"), `2` (no filesystem).
fn gpt_image() -> File {
    let mut f = tempfile::tempfile().unwrap();
    f.set_len(IMAGE).unwrap();
    let mut gpt = gptman::GPT::new_from(&mut f, 512, [7; 16]).unwrap();
    // Partition n's unique GUID is n in every byte.
    let linux =
        |n: u8, lbas: std::ops::RangeInclusive<u64>, name: &str| gptman::GPTPartitionEntry {
            partition_type_guid: LINUX_FS,
            unique_partition_guid: [n; 16],
            starting_lba: *lbas.start(),
            ending_lba: *lbas.end(),
            attribute_bits: 0,
            partition_name: name.into(),
        };
    gpt[1] = linux(1, 2048..=6143, "root");
    gpt[2] = linux(2, 6144..=8191, "data");
    gpt.write_into(&mut f).unwrap();
    gptman::GPT::write_protective_mbr_into(&mut f, 512).unwrap();
    put_ext_magic(&f, 2048 * 512);
    f
}

/// What every table read must satisfy: partitions inside the file, none
/// overlapping another (MBR extended containers aside).
fn check_sane(t: &Table, len: u64) {
    let mut data: Vec<_> = t.partitions.iter().filter(|p| !p.is_container()).collect();
    for p in &t.partitions {
        assert!(
            p.start.checked_add(p.size).is_some_and(|e| e <= len),
            "{p:?}"
        );
    }
    data.sort_by_key(|p| p.start);
    for w in data.windows(2) {
        assert!(w[0].start + w[0].size <= w[1].start, "{w:?}");
    }
}

/// Reads the table and chooses, as a mount would; checks the result.
fn read_and_choose(f: &File) -> Result<(), String> {
    let len = f.metadata().unwrap().len();
    let t = partition::read_table(f).map_err(|e| e.to_string())?;
    if let Some(t) = &t {
        check_sane(t, len);
        let _ = partition::listing("img", t);
    }
    for sel in [
        Selection::Auto,
        Selection::Partition(1),
        Selection::Partition(5),
    ] {
        if let Ok(c) = partition::choose(std::path::Path::new("img"), f, sel) {
            let end = c.region.offset + c.region.len.unwrap_or(len - c.region.offset);
            assert!(end <= len, "{c:?}");
        }
    }
    Ok(())
}

#[test]
fn valid_mbr_with_logical_partitions() {
    let f = mbr_image();
    let t = partition::read_table(&f).unwrap().unwrap();
    assert_eq!(t.scheme, Scheme::Mbr);
    let got: Vec<_> = t
        .partitions
        .iter()
        .map(|p| (p.number, p.start, p.size, p.ext.is_some()))
        .collect();
    assert_eq!(
        got,
        vec![
            (1, MIB, MIB, true),
            (2, 2 * MIB, MIB, false),
            (3, 3 * MIB, 4 * MIB, false),
            (5, 4 * MIB, MIB, true),
            (6, 6 * MIB, MIB, false),
        ]
    );
    assert!(t.partitions[2].is_container());
    // Two ext partitions: no automatic choice, and the error names both.
    let e = partition::choose("img".as_ref(), &f, Selection::Auto)
        .unwrap_err()
        .to_string();
    assert!(e.contains("2 partitions hold ext2/3/4") && e.contains("1: ") && e.contains("5: "));
    let c = partition::choose("img".as_ref(), &f, Selection::Partition(5)).unwrap();
    assert_eq!((c.region.offset, c.region.len), (4 * MIB, Some(MIB)));
    for (n, want) in [
        (2, "no ext2/3/4"),
        (3, "no ext2/3/4"),
        (4, "no such partition"),
    ] {
        let e = partition::choose("img".as_ref(), &f, Selection::Partition(n)).unwrap_err();
        assert!(e.to_string().contains(want), "{n}: {e}");
    }
}

#[test]
fn valid_gpt_and_the_only_ext_partition() {
    let f = gpt_image();
    let t = partition::read_table(&f).unwrap().unwrap();
    assert_eq!((t.scheme, t.sector_size), (Scheme::Gpt, 512));
    assert_eq!(t.partitions.len(), 2);
    let p = &t.partitions[0];
    assert_eq!((p.number, p.start, p.size), (1, MIB, 2 * MIB));
    assert_eq!((p.name.as_str(), p.kind), ("root", Kind::Gpt(LINUX_FS)));
    let list = partition::listing("img", &t);
    assert!(
        list.contains("Linux filesystem") && list.contains("root"),
        "{list}"
    );
    let c = partition::choose("img".as_ref(), &f, Selection::Auto).unwrap();
    assert_eq!(c.partition, Some(1));
    assert_eq!((c.region.offset, c.region.len), (MIB, Some(2 * MIB)));
    // An offset must be whole sectors, inside the file.
    for (off, want) in [(1000, "multiple of 512"), (IMAGE, "past the end")] {
        let e = partition::choose("img".as_ref(), &f, Selection::Offset(off)).unwrap_err();
        assert!(e.to_string().contains(want), "{e}");
    }
}

/// The GPT header's CRC made right after a change of `h` (92 bytes).
fn fix_header_crc(h: &mut [u8]) {
    h[16..20].fill(0);
    let c = crc::Crc::<u32>::new(&crc::CRC_32_ISO_HDLC).checksum(&h[..92]);
    h[16..20].copy_from_slice(&c.to_le_bytes());
}

/// Changes both GPT headers with `change`, their checksums made right.
fn damage_gpt_headers(f: &File, change: impl Fn(&mut [u8])) {
    for at in [512, IMAGE - 512] {
        let mut h = [0u8; 92];
        f.read_exact_at(&mut h, at).unwrap();
        change(&mut h);
        fix_header_crc(&mut h);
        f.write_all_at(&h, at).unwrap();
    }
}

/// Rewrites GPT entry `i` with `change` and makes both the array CRC and
/// the header CRC right, in the primary and backup alike.
fn damage_gpt_entry(f: &File, i: u64, change: impl Fn(&mut [u8])) {
    for at in [512, IMAGE - 512] {
        let mut h = [0u8; 92];
        f.read_exact_at(&mut h, at).unwrap();
        let lba = u64::from_le_bytes(h[72..80].try_into().unwrap());
        let mut array = vec![0u8; 128 * 128];
        f.read_exact_at(&mut array, lba * 512).unwrap();
        change(&mut array[(i * 128) as usize..((i + 1) * 128) as usize]);
        f.write_all_at(&array, lba * 512).unwrap();
        let c = crc::Crc::<u32>::new(&crc::CRC_32_ISO_HDLC).checksum(&array);
        h[88..92].copy_from_slice(&c.to_le_bytes());
        fix_header_crc(&mut h);
        f.write_all_at(&h, at).unwrap();
    }
}

fn expect_error(f: &File, want: &str) {
    let e = partition::read_table(f).unwrap_err().to_string();
    assert!(e.contains(want), "wanted {want:?} in {e:?}");
    read_and_choose(f).unwrap_err();
}

#[test]
fn hostile_gpt_tables_are_clear_errors() {
    let set_u32 =
        |o: usize, v: u32| move |h: &mut [u8]| h[o..o + 4].copy_from_slice(&v.to_le_bytes());
    // An absurd entry count (gptman would reserve room for it all).
    let f = gpt_image();
    damage_gpt_headers(&f, set_u32(80, u32::MAX));
    expect_error(&f, "entries (at most");
    // An entry size gptman cannot read.
    let f = gpt_image();
    damage_gpt_headers(&f, set_u32(84, 256));
    expect_error(&f, "entry size 256");
    // The entry array past the end of the image.
    let f = gpt_image();
    damage_gpt_headers(&f, |h| h[72..80].copy_from_slice(&u64::MAX.to_le_bytes()));
    expect_error(&f, "past the end");
    // A partition past the end of the file, and one whose sectors
    // overflow when made bytes.
    let f = gpt_image();
    damage_gpt_entry(&f, 1, |e| {
        e[40..48].copy_from_slice(&(IMAGE / 512).to_le_bytes())
    });
    expect_error(&f, "runs past the end");
    let f = gpt_image();
    damage_gpt_entry(&f, 1, |e| {
        e[32..40].copy_from_slice(&(u64::MAX / 2).to_le_bytes());
        e[40..48].copy_from_slice(&u64::MAX.to_le_bytes());
    });
    read_and_choose(&f).unwrap_err();
    // Backwards.
    let f = gpt_image();
    damage_gpt_entry(&f, 1, |e| e[40..48].copy_from_slice(&100u64.to_le_bytes()));
    expect_error(&f, "not a range");
    // Overlapping partitions.
    let f = gpt_image();
    damage_gpt_entry(&f, 1, |e| e[32..40].copy_from_slice(&4000u64.to_le_bytes()));
    expect_error(&f, "partitions 1 and 2 overlap");
    // Bad checksums in both copies: no table to trust.
    let f = gpt_image();
    for at in [512 + 16, IMAGE - 512 + 16] {
        f.write_all_at(&[0xde, 0xad], at).unwrap();
    }
    expect_error(&f, "GPT");
    // A bad primary alone: the backup is used, as GPT means it to be.
    let f = gpt_image();
    f.write_all_at(&[0xde, 0xad], 512 + 16).unwrap();
    assert_eq!(
        partition::read_table(&f).unwrap().unwrap().partitions.len(),
        2
    );
}

#[test]
fn hostile_mbr_tables_are_clear_errors() {
    // A partition past the end of the file.
    let f = mbr_image();
    put_sector(&f, 0, &[mbr_entry(0x83, 2048, u32::MAX)]);
    expect_error(&f, "runs past the end");
    // Overlapping primaries.
    let f = mbr_image();
    put_sector(
        &f,
        0,
        &[mbr_entry(0x83, 2048, 4096), mbr_entry(0x83, 4096, 100)],
    );
    expect_error(&f, "partitions 1 and 2 overlap");
    // A logical partition whose start overflows 32-bit sectors.
    let f = mbr_image();
    put_sector(&f, 6144, &[mbr_entry(0x83, u32::MAX - 100, 10)]);
    expect_error(&f, "overflows");
    // An extended boot record chain pointing back at itself or to an
    // earlier one: refused by the reader, not followed for ever.
    let f = mbr_image();
    put_sector(
        &f,
        6144 + 4096,
        &[mbr_entry(0x83, 1, 1), mbr_entry(0x05, 4096, 4096)],
    );
    read_and_choose(&f).unwrap_err();
    // A long chain, every record one sector after the last, over a large
    // file: the reader's budget ends it.
    let f = tempfile::tempfile().unwrap();
    let sectors: u64 = 64 * 1024;
    f.set_len(sectors * 512 + MIB).unwrap();
    put_sector(&f, 0, &[mbr_entry(0x05, 1, (sectors - 1) as u32)]);
    for rel in 0..sectors - 2 {
        put_sector(
            &f,
            1 + rel,
            &[mbr_entry(0x83, 1, 1), mbr_entry(0x05, (rel + 1) as u32, 1)],
        );
    }
    let e = partition::read_table(&f).unwrap_err().to_string();
    assert!(e.contains("bytes read"), "{e}");
}

/// Flips random bytes in the sectors a table reader looks at, `rounds`
/// times over copies of `make()`'s image; every read must hold.
fn fuzz(name: &str, make: fn() -> File, hot: &[u64], rounds: usize) {
    let seed = std::env::var("PARTITION_FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5eed);
    let mut rng = fastrand::Rng::with_seed(seed);
    let mut f = make();
    let saved: Vec<(u64, [u8; 512])> = hot
        .iter()
        .map(|&s| {
            let mut b = [0u8; 512];
            f.read_exact_at(&mut b, s * 512).unwrap();
            (s, b)
        })
        .collect();
    let (mut ok, mut refused) = (0, 0);
    for round in 0..rounds {
        // Only the hot sectors ever change: put them back.
        for (s, b) in &saved {
            f.write_all_at(b, s * 512).unwrap();
        }
        for _ in 0..rng.usize(1..=8) {
            let sector = hot[rng.usize(..hot.len())];
            let at = sector * 512 + rng.u64(..512);
            let byte = if rng.bool() {
                rng.u8(..)
            } else {
                [0, 0xff, 0x80, 0x05, 0xee][rng.usize(..5)]
            };
            f.write_all_at(&[byte], at).unwrap();
        }
        f.seek(SeekFrom::Start(0)).unwrap();
        match std::panic::catch_unwind(|| read_and_choose(&f)) {
            Ok(Ok(())) => ok += 1,
            Ok(Err(_)) => refused += 1,
            Err(_) => panic!("{name}: round {round} (seed {seed}) panicked"),
        }
    }
    eprintln!("{name}: {ok} read, {refused} refused");
    assert!(refused > 0, "{name}: the corruption never showed");
}

#[test]
fn fuzzed_mbr_tables_never_panic() {
    fuzz("mbr", mbr_image, &[0, 6144, 6144 + 4096], 1000);
}

#[test]
fn fuzzed_gpt_tables_never_panic() {
    let last = IMAGE / 512 - 1;
    // The protective MBR, both headers, both entry arrays' first sectors.
    fuzz(
        "gpt",
        gpt_image,
        &[0, 1, 2, 3, last, last - 32, last - 31],
        1000,
    );
}

/// A partition as `sfdisk --dump` lists it: number, start and size in
/// sectors, and its other fields (`type`, `name`, `bootable`...) by name.
struct Dumped {
    number: u32,
    start: u64,
    size: u64,
    fields: Vec<(String, String)>,
}

impl Dumped {
    fn field(&self, key: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// Parses `sfdisk --dump IMG`: lines `IMGn : start=S, size=N, type=T, ...`.
fn sfdisk_dump(img: &std::path::Path) -> Vec<Dumped> {
    let out =
        fuse4fs_testkit::e2fs::run(std::process::Command::new("sfdisk").arg("--dump").arg(img));
    let name = img.to_str().unwrap();
    let mut parts = Vec::new();
    for line in out.lines() {
        let Some((dev, rest)) = line.split_once(" : ") else {
            continue;
        };
        let number = dev.trim().strip_prefix(name).unwrap().parse().unwrap();
        let fields: Vec<(String, String)> = rest
            .split(", ")
            .map(|kv| match kv.split_once('=') {
                Some((k, v)) => (k.trim().to_string(), v.trim().trim_matches('"').to_string()),
                None => (kv.trim().to_string(), String::new()),
            })
            .collect();
        let num = |k: &str| -> u64 {
            let (_, v) = fields.iter().find(|(key, _)| key == k).unwrap();
            v.parse().unwrap()
        };
        parts.push(Dumped {
            number,
            start: num("start"),
            size: num("size"),
            fields,
        });
    }
    parts
}

/// A GUID's bytes as a GPT stores them, from its text: the first three
/// fields little-endian, the last two as written.
fn guid_bytes(text: &str) -> [u8; 16] {
    let hex: Vec<&str> = text.split('-').collect();
    let field = |i: usize| u64::from_str_radix(hex[i], 16).unwrap();
    let mut g = [0u8; 16];
    g[..4].copy_from_slice(&(field(0) as u32).to_le_bytes());
    g[4..6].copy_from_slice(&(field(1) as u16).to_le_bytes());
    g[6..8].copy_from_slice(&(field(2) as u16).to_le_bytes());
    let rest = format!("{}{}", hex[3], hex[4]);
    for (i, b) in g[8..].iter_mut().enumerate() {
        *b = u8::from_str_radix(&rest[2 * i..2 * i + 2], 16).unwrap();
    }
    g
}

/// A 16 MiB image partitioned by sfdisk with `script`, a real ext4
/// (label `label`) made by mkfs.ext4 at sector `ext_at`, 4096 sectors.
fn sfdisk_image(
    dir: &std::path::Path,
    script: &str,
    ext_at: u64,
    label: &str,
) -> std::path::PathBuf {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let img = dir.join("disk.img");
    File::create(&img).unwrap().set_len(16 * MIB).unwrap();
    let mut sfdisk = Command::new("sfdisk")
        .args(["--quiet", "--no-reread", "--no-tell-kernel"])
        .arg(&img)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    sfdisk
        .stdin
        .take()
        .unwrap()
        .write_all(script.as_bytes())
        .unwrap();
    assert!(
        sfdisk.wait().unwrap().success(),
        "sfdisk failed on {script}"
    );
    fuse4fs_testkit::e2fs::run(
        Command::new("mkfs.ext4")
            .args(["-q", "-F", "-b", "1024", "-L", label])
            .arg("-E")
            .arg(format!("offset={}", ext_at * 512))
            .arg(&img)
            .arg("2048"),
    );
    img
}

/// Tables as util-linux writes them (sfdisk: an MBR with a bootable
/// primary, an extended partition and two logical ones; a GPT with names)
/// are read as sfdisk itself lists them, and the one ext4 that mkfs.ext4
/// made is found with its label and chosen.
#[test]
fn tables_made_by_sfdisk_read_as_sfdisk_lists_them() {
    fuse4fs_testkit::e2fs::require(&["sfdisk", "mkfs.ext4"]);
    let dir = tempfile::tempdir().unwrap();
    let mbr = "label: dos\n\
               start=2048, size=4096, type=83, bootable\n\
               start=6144, size=2048, type=c\n\
               start=8192, size=16384, type=5\n\
               start=10240, size=4096, type=83\n\
               start=16384, size=4096, type=83\n";
    let gpt = "label: gpt\n\
               start=2048, size=4096, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4, name=\"root\"\n\
               start=6144, size=8192, type=933AC7E1-2EB4-4F13-B844-0E14E2AEF915, name=\"home\"\n";
    for (script, scheme, ext_at, ext_number) in
        [(mbr, Scheme::Mbr, 10240, 5), (gpt, Scheme::Gpt, 6144, 2)]
    {
        let img = sfdisk_image(dir.path(), script, ext_at, "sfdisk-made");
        let f = File::open(&img).unwrap();
        let t = partition::read_table(&f).unwrap().unwrap();
        assert_eq!((t.scheme, t.sector_size), (scheme, 512));
        let want = sfdisk_dump(&img);
        assert_eq!(t.partitions.len(), want.len(), "{scheme:?}: {t:?}");
        for (p, w) in t.partitions.iter().zip(&want) {
            assert_eq!(
                (p.number, p.start, p.size),
                (w.number, w.start * 512, w.size * 512),
                "{scheme:?}"
            );
            let ty = w.field("type").unwrap();
            match p.kind {
                Kind::Mbr(sys) => assert_eq!(sys, u8::from_str_radix(ty, 16).unwrap()),
                Kind::Gpt(guid) => {
                    assert_eq!(guid, guid_bytes(ty));
                    assert_eq!(p.name, w.field("name").unwrap());
                }
            }
            let label = p.ext.as_ref().map(|e| e.label.as_str());
            let want_label = (p.number == ext_number).then_some("sfdisk-made");
            assert_eq!(label, want_label, "{scheme:?} partition {}", p.number);
        }
        let c = partition::choose(&img, &f, Selection::Auto).unwrap();
        assert_eq!(c.partition, Some(ext_number));
        assert_eq!(c.region.offset, ext_at * 512);
        std::fs::remove_file(&img).unwrap();
    }
}

/// A boot indicator other than 0x00 or 0x80 in the first sector makes
/// the table unreadable, protective MBR or not (as mbrman refuses it).
#[test]
fn an_invalid_boot_indicator_is_a_clear_error() {
    let f = mbr_image();
    let mut e = mbr_entry(0x83, 2048, 2048);
    e[0] = 0x7f;
    put_sector(&f, 0, &[e]);
    expect_error(&f, "MBR: partition has invalid boot flag");
    let f = gpt_image();
    let mut e = mbr_entry(0xee, 1, (IMAGE / 512 - 1) as u32);
    e[0] = 0x01;
    put_sector(&f, 0, &[e]);
    expect_error(&f, "MBR: partition has invalid boot flag");
}
