//! Vectors from Linux 6.18: an image made with `mkfs.ext4 -O encrypt`, a
//! directory given a v2 policy (AES-256-CTS names, 32-byte padding) and a
//! key through the fscrypt ioctls, filled, then mounted again without the
//! key. The ciphertexts are the on-disk entry names (and symlink areas)
//! read from the image; the names are what the kernel's `ls -f` and
//! `readlink` printed.

use super::*;
use crate::ext4::hash::{HashVersion, dx_hash};

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

/// The image's s_hash_seed (f0854bc5-a076-4b4c-9684-2476b0629475) as the
/// superblock's little-endian words; its default hash is half_md4, signed.
const SEED: [u32; 4] = [0xc54b85f0, 0x4c4b76a0, 0x76248496, 0x759462b0];

/// Entry ciphertexts of the one-block (hence hashed, dx_readdir) directory.
const CIPHERTEXTS: &[&str] = &[
    "ddbac95a45ca1100f3b355e3227a3621b0e6d49fde7a4ced01fbc533d2e57af7",
    "48b1691f028f1025294816d7513f30b1c734a39cb4966af87ff9b0082dde9d99",
    "b4ce3c947ae8c9953a52554ab3f86664d06a9c121aabc8f938ad96705df9c59058c2d6cf6059942694cbb7eb33639af53062b460a31f527341175d17cb736c1f1a96a07f3d93b534e9dbde0a7f0a4b93e9f253e6cc7927114d69c1792be2c7cb4758d0571778d0ca3b5a6aea6ecaeb10a5ff7797926c30fd483cbfe460286f3bc3d8fd8fc5ba0c893abe09a1dd87fdae658d1ab076d846f841ca6de9beb2e9439aaec84dc4cfe0a9bfd73f6a19ed02412d3ac8dd15535369c2ef1f7f64b24d2a97e7ee8bda3eb5f48e03a6414704815575b555ee5b42c08c3b51b5f6586f7bd4",
    "04f06b1ebfe1542af3b0a9eeaea264162e1c769e6c2c6d200a5712d15e066d362dad0a3a7e0efeea5ce67c69735b32fee6f894aef754c9cde6b6fdfa4d941189da4fefe925e732d0135b03f1d6ac606b7621d137bc034e977c71b8b070d2ef9c39cfa2b43783a26ff50e35065dc3fb3fce3ee5104219840c5c773d52e1870429cf64d1bf785c83ec16ce9a9854c4637ecbaea99dcaec8b36da992e66f56b54b1",
    "074ff60b911378c80f581d08438b8920586e2c8c9171d6dbd3d57f3275b58178",
    "07ea7421f625ea70a33ee23b4de98f5d9aae2b9b6b876c505019aabf01467a00",
    "771905b5c08cb6f4b51944b19133f5dd0fb1723c32bd46852cc2ae91c7e8b40d",
];

/// The kernel's listing of that directory, in the same order.
const KERNEL_NAMES: &[&str] = &[
    "5PxNzXRHAWvduslaRcoRAPOzVeMiejYhsObUn956TO0B-8Uz0uV69w",
    "xNSfAfOWJHtIsWkfAo8QJSlIFtdRPzCxxzSjnLSWavh_-bAILd6dmQ",
    "lqGd5M-l6ei0zjyUeujJlTpSVUqz-GZk0GqcEhqryPk4rZZwXfnFkFjC1s9gWZQmlMu36zNjmvUwYrRgox9Sc0EXXRfLc2wfGpagfz2TtTTp294KfwpLk-nyU-bMeScRTWnBeSvix8tHWNBXF3jQyjtaaupuyusQpf93l5JsMP1IPL_kYChvO8PY_Y_FugyJOr4Jod2H_a5ljRqwdtIldgWxOF8QgEODCgTbsMXxdLhrlPL4Y0PcloK_NAtC",
    "DCI-HD93ntoE8Gsev-FUKvOwqe6uomQWLhx2nmwsbSAKVxLRXgZtNi2tCjp-Dv7qXOZ8aXNbMv7m-JSu91TJzea2_fpNlBGJ2k_v6SXnMtATWwPx1qxga3Yh0Te8A06XfHG4sHDS75w5z6K0N4Oib_UONQZdw_s_zj7lEEIZhAxcdz1S4YcEKc9k0b94XIPsFs6amFTEY37LrqmdyoTaNen3I3LALyBd3iUT81DJxCb-6l19AiqRfMAGLpf3",
    "GPuhB-PevWoHT_YLkRN4yA9YHQhDi4kgWG4sjJFx1tvT1X8ydbWBeA",
    "4qco-uWVKq0H6nQh9iXqcKM-4jtN6Y9dmq4rm2uHbFBQGaq_AUZ6AA",
    "iNvQn00U4v93GQW1wIy29LUZRLGRM_XdD7FyPDK9RoUswq6Rx-i0DQ",
];

#[test]
fn names_as_the_kernel_lists_them() {
    for (ct, want) in CIPHERTEXTS.iter().zip(KERNEL_NAMES) {
        let ct = hex(ct);
        let (h, m) = dx_hash(&ct, HashVersion::HalfMd4, &SEED);
        let got = nokey_name(&ct, h, m).unwrap();
        assert_eq!(String::from_utf8(got).unwrap(), *want, "{} bytes", ct.len());
    }
}

#[test]
fn kernel_names_find_their_entries_and_no_other() {
    let cts: Vec<Vec<u8>> = CIPHERTEXTS.iter().map(|c| hex(c)).collect();
    for (i, name) in KERNEL_NAMES.iter().enumerate() {
        let l = NokeyLookup::parse(name.as_bytes()).expect(name);
        let (h, m) = dx_hash(&cts[i], HashVersion::HalfMd4, &SEED);
        assert_eq!((l.hash, l.minor_hash), (h, m));
        // Long names (224 bytes here) carry only a prefix and a digest.
        assert_eq!(l.whole().is_some(), cts[i].len() <= NOKEY_BYTES);
        for (j, ct) in cts.iter().enumerate() {
            assert_eq!(l.matches(ct), i == j, "{name} against entry {j}");
        }
    }
}

#[test]
fn an_abbreviated_name_needs_the_same_tail() {
    let ct = hex(CIPHERTEXTS[2]);
    let l = NokeyLookup::parse(KERNEL_NAMES[2].as_bytes()).unwrap();
    let mut other = ct.clone();
    *other.last_mut().unwrap() ^= 1;
    assert!(l.matches(&ct) && !l.matches(&other));
    assert!(!l.matches(&ct[..NOKEY_BYTES]));
}

#[test]
fn symlink_targets_as_the_kernel_reads_them() {
    // A fast link's i_block (34 bytes used of 60) and a slow link's block.
    let mut fast = hex("2000c6a7ad280c7e54091a6d90c8b903afabb79bfca1e5012cb56ae41a3ee6e41de4");
    fast.resize(60, 0);
    assert_eq!(
        nokey_symlink_target(&fast).unwrap(),
        b"AAAAAAAAAADGp60oDH5UCRptkMi5A6-rt5v8oeUBLLVq5Bo-5uQd5A"
    );
    let mut slow = hex(concat!(
        "400149d68b197a2199bccc2ca0755bed436fd6b15a6f70e7b12d0e5776cc529f6d58e9ba87f4fddaabc7eeecb456b1eb",
        "2456b46fd12b81a983e55eb33018e613b4239e76cbe79f5abbbd84a1b9f169bbabda3982da56aec7430c96a0d800e668",
        "99bf1776bec662a3fe43af1cb3c2172fe108d2e37847d9e1952d307b2f3162acd7d00bc37507fed9767526f6218d3cd0",
        "d269ba2cd86c4731be7a5f3f290e816d1bf03ed234f6daa0fc21383bc6e547eaace39d13bed56627de45222b545adc7b",
        "3462589aefbeb301c754d4e69ffac102b80a9f225fcd8449f906934f1179fa9e08142ad44c7123aac6cdc9958ab58b90",
        "8a3e7b540af6b267f75acaf13ab21d1065c0a50dbde8a48ea2d54bab9eb2472662a165d31a0d28fcd24bbc662613e222",
        "a73cab4bf6ef223bd38afe5da70a1725c86c5ab3247c2c69e789a3308a00b681caa3",
    ));
    slow.resize(4096, 0);
    assert_eq!(
        nokey_symlink_target(&slow).unwrap(),
        b"AAAAAAAAAABJ1osZeiGZvMwsoHVb7UNv1rFab3DnsS0OV3bMUp9tWOm6h_T92qvH7uy0VrHrJFa0b9ErgamD5V6zMBjmE7QjnnbL559au72Eobnxabur2jmC2laux0MMlqDYAOZomb8Xdr7GYqP-Q68cs8IXL-EI0uN4R9nhlS0wey8xYqzX0AvDdQf-2XZ1JvYhjTzQ0mm6LNhsR5ltZN7KVXEDIhb3gg9D5C6zzfV2Mk8Pksf_prax7xxi"
            .as_slice()
    );
}

#[test]
fn damaged_symlink_areas_are_refused() {
    assert!(symlink_ciphertext(&[0, 0, 1, 2]).is_err());
    assert!(symlink_ciphertext(&[5, 0, 1, 2]).is_err());
    assert!(symlink_ciphertext(&[1]).is_err());
    // Sixteen bytes are the least a ciphertext has.
    let mut short = vec![15, 0];
    short.resize(60, 7);
    assert!(nokey_symlink_target(&short).is_err());
}

#[test]
fn dots_pass_and_short_ciphertexts_are_damage() {
    assert_eq!(nokey_name(b".", 1, 2).unwrap(), b".");
    assert_eq!(nokey_name(b"..", 1, 2).unwrap(), b"..");
    assert!(nokey_name(&[9; 15], 0, 0).is_err());
    assert!(nokey_name(&[9; 16], 0, 0).is_ok());
}

#[test]
fn what_is_not_a_nokey_name() {
    // Padding, characters outside the alphabet, stray low bits, too short
    // (no ciphertext byte), a length between whole and abbreviated, too long.
    assert!(NokeyLookup::parse(b"AAAAAAAAAAAA=").is_none());
    assert!(NokeyLookup::parse(b"AAAAAAAAAAA/").is_none());
    assert!(NokeyLookup::parse(b"AAAAAAAAAAAAAB").is_none());
    assert!(NokeyLookup::parse(b"AAAAAAAAAAAAAA").is_some());
    assert!(NokeyLookup::parse(&base64url_encode(&[1; 8])).is_none());
    assert!(NokeyLookup::parse(&base64url_encode(&[1; 9])).is_some());
    assert!(NokeyLookup::parse(&base64url_encode(&[1; 157])).is_some());
    assert!(NokeyLookup::parse(&base64url_encode(&[1; 158])).is_none());
    assert!(NokeyLookup::parse(&base64url_encode(&[1; 189])).is_some());
    assert!(NokeyLookup::parse(&[b'A'; 253]).is_none());
    assert_eq!(NOKEY_NAME_MAX_ENCODED, 252);
}

#[test]
fn base64url_round_trips() {
    for n in 0..70u8 {
        let data: Vec<u8> = (0..n).map(|i| i.wrapping_mul(37) ^ 0xa5).collect();
        let enc = base64url_encode(&data);
        assert_eq!(enc.len(), (data.len() * 4).div_ceil(3));
        assert_eq!(base64url_decode(&enc).unwrap(), data);
    }
}

#[test]
fn contexts_give_their_nonce_and_policy() {
    // A v2 context from the kernel run (policy: AES-256-XTS, AES-256-CTS,
    // 32-byte padding, the key identifier), nonce 94f93028...
    let raw = hex(concat!(
        "0201040300000000",
        "5f4757510669fc4c8b281fef8ee0b026",
        "94f93028ead2db7262986e6a9dc3c1d4"
    ));
    let c = Context::parse(&raw).unwrap();
    assert_eq!(c.nonce(), hex("94f93028ead2db7262986e6a9dc3c1d4"));
    assert_eq!(c.policy(), raw[..24]);
    let mut v1 = vec![1, 1, 4, 0];
    v1.extend_from_slice(&[7; 8]);
    v1.extend_from_slice(&[9; 16]);
    let c = Context::parse(&v1).unwrap();
    assert_eq!(c.policy()[0], 0, "a v1 policy is version 0");
    assert_eq!(c.nonce(), [9; 16]);
    assert!(Context::parse(&raw[..39]).is_none());
    assert!(Context::parse(&v1[..27]).is_none());
    assert!(Context::parse(&[3; 40]).is_none());
    assert!(Context::parse(&[]).is_none());
}
