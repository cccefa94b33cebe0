//! `fuse4fs --list IMAGE`: the partition table as a person reads it.

use std::fmt::Write;

use zerocopy::FromBytes;

use super::layout::EfiGuid;
use super::{Kind, Partition, Scheme, Table};

/// The type's name: the common MBR codes and GPT GUIDs by name, others by
/// number.
pub fn type_name(kind: &Kind) -> String {
    match kind {
        Kind::Mbr(sys) => {
            let name = match sys {
                0x01 => "FAT12",
                0x04 | 0x06 | 0x0e => "FAT16",
                0x05 | 0x0f | 0x85 => "extended",
                0x07 => "NTFS/exFAT",
                0x0b => "W95 FAT32",
                0x0c => "W95 FAT32 (LBA)",
                0x82 => "Linux swap",
                0x83 => "Linux",
                0x8e => "Linux LVM",
                0xda => "non-FS data",
                0xef => "EFI (FAT)",
                0xfd => "Linux raid",
                _ => "",
            };
            if name.is_empty() {
                format!("0x{sys:02x}")
            } else {
                format!("0x{sys:02x} {name}")
            }
        }
        Kind::Gpt(guid) => {
            let text = guid_text(guid);
            let name = match text.as_str() {
                "0FC63DAF-8483-4772-8E79-3D69D8477DE4" => "Linux filesystem",
                "C12A7328-F81F-11D2-BA4B-00A0C93EC93B" => "EFI System",
                "EBD0A0A2-B9E5-4433-87C0-68B6B72699C7" => "Microsoft basic data",
                "0657FD6D-A4AB-43C4-84E5-0933C84B4F4F" => "Linux swap",
                "21686148-6449-6E6F-744E-656564454649" => "BIOS boot",
                "4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709" => "Linux root (x86-64)",
                "B921B045-1DF0-41C3-AF44-4C6F280D3FAE" => "Linux root (ARM64)",
                "933AC7E1-2EB4-4F13-B844-0E14E2AEF915" => "Linux home",
                "E6D6D379-F507-44C2-A23C-238F2A3DF928" => "Linux LVM",
                "A19D880F-05FC-4D3B-A006-743F0F84911E" => "Linux RAID",
                _ => return text,
            };
            name.to_string()
        }
    }
}

/// A GPT GUID as text (its first three fields are stored little-endian).
fn guid_text(g: &[u8; 16]) -> String {
    let g = EfiGuid::read_from_bytes(g).expect("a GUID is 16 bytes");
    let [clock_hi, clock_lo, node @ ..] = g.data4;
    format!(
        "{:08X}-{:04X}-{:04X}-{clock_hi:02X}{clock_lo:02X}-{}",
        g.data1.get(),
        g.data2.get(),
        g.data3.get(),
        node.iter().map(|b| format!("{b:02X}")).collect::<String>()
    )
}

/// A size for people (binary units, one decimal).
pub fn human(bytes: u64) -> String {
    const UNITS: [&str; 6] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    let mut v = bytes as f64;
    let mut u = 0;
    while v >= 1024.0 && u + 1 < UNITS.len() {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{bytes} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

/// What the listing's last column says of a partition.
fn filesystem(p: &Partition) -> String {
    match &p.ext {
        Some(e) if e.label.is_empty() => "ext2/3/4".into(),
        Some(e) => format!("ext2/3/4 label {:?}", e.label),
        None => "-".into(),
    }
}

/// One line naming a partition (for errors that list the candidates).
pub fn brief(p: &Partition) -> String {
    let mut s = format!(
        "{}: {} at byte {}, {}",
        p.number,
        human(p.size),
        p.start,
        type_name(&p.kind)
    );
    if let Some(e) = &p.ext
        && !e.label.is_empty()
    {
        let _ = write!(s, ", label {:?}", e.label);
    }
    s
}

/// The table, one partition a line; start and length in bytes (as `-o
/// offset=` and `fuse4fs-fsck --offset/--size` take them), the size for
/// people.
pub fn listing(image: &str, table: &Table) -> String {
    let scheme = match table.scheme {
        Scheme::Mbr => "MBR (DOS)",
        Scheme::Gpt => "GPT",
    };
    let mut out = format!(
        "{image}: {scheme} partition table, {}-byte sectors, {} partition(s)\n",
        table.sector_size,
        table.partitions.len()
    );
    let _ = writeln!(
        out,
        "{:>3} {:>14} {:>14} {:>10}  {:<24} {:<16} FILESYSTEM",
        "NR", "START", "LENGTH", "SIZE", "TYPE", "NAME"
    );
    for p in &table.partitions {
        let name = if p.name.is_empty() { "-" } else { &p.name };
        let _ = writeln!(
            out,
            "{:>3} {:>14} {:>14} {:>10}  {:<24} {:<16} {}",
            p.number,
            p.start,
            p.size,
            human(p.size),
            type_name(&p.kind),
            name,
            filesystem(p)
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_types_and_sizes() {
        let linux = [
            0xaf, 0x3d, 0xc6, 0x0f, 0x83, 0x84, 0x72, 0x47, 0x8e, 0x79, 0x3d, 0x69, 0xd8, 0x47,
            0x7d, 0xe4,
        ];
        assert_eq!(type_name(&Kind::Gpt(linux)), "Linux filesystem");
        let mut other = linux;
        other[15] = 0;
        assert_eq!(
            type_name(&Kind::Gpt(other)),
            "0FC63DAF-8483-4772-8E79-3D69D8477D00"
        );
        assert_eq!(type_name(&Kind::Mbr(0x83)), "0x83 Linux");
        assert_eq!(type_name(&Kind::Mbr(0x42)), "0x42");
        assert_eq!(human(512), "512 B");
        assert_eq!(human(32 << 20), "32.0 MiB");
    }
}
