//! Fuzz `hfgit::lfs::Pointer::parse` and `looks_like_pointer` with arbitrary blob bytes.
//!
//! Invariants checked (any violation panics, which libFuzzer reports as a crash):
//! - neither function panics, whatever the bytes;
//! - nothing of `POINTER_SIZE_LIMIT` bytes or more parses;
//! - `canonical` means exactly "the input is the bytes git-lfs would write for what was parsed"
//!   (for a pointer without extensions that is `Pointer::encode()`);
//! - re-encoding what was parsed and parsing that again gives the same pointer and extensions,
//!   now canonical (for size > 0; a size-0 pointer encodes to the empty blob by design, which
//!   parses as the empty file's pointer, so only that is checked there);
//! - `looks_like_pointer` keeps its documented promise: `false` means "cannot be a pointer", given
//!   the whole blob, or any prefix of it of at least 100 bytes (shorter blobs: the whole blob)
//!   (`HFGIT_FUZZ_IGNORE_SPLIT_CHAR=1` skips prefixes that end inside a UTF-8 character: a known
//!   issue, see README.md);
//! - `Oid256::from_hex` accepts exactly 64 lowercase hex digits and `to_hex` gives them back.
#![no_main]

use hfgit::lfs::{
    looks_like_pointer, Oid256, ParsedPointer, Pointer, POINTER_SIZE_LIMIT, SPEC_URL,
};
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

/// How many leading bytes `looks_like_pointer` is promised to need at most.
const SNIFF_BYTES: usize = 100;

/// The bytes git-lfs writes for a pointer with these extensions (mirrors the private
/// `encode_with_extensions` from the spec, so the fuzzer checks the parser against the spec
/// rather than against itself).
fn spec_encoding(parsed: &ParsedPointer) -> Vec<u8> {
    let pointer = parsed.pointer;
    if pointer.size == 0 {
        return Vec::new();
    }
    let mut text = format!("version {SPEC_URL}\n");
    for ext in &parsed.extensions {
        text.push_str(&format!(
            "ext-{}-{} sha256:{}\n",
            ext.priority, ext.name, ext.oid
        ));
    }
    text.push_str(&format!(
        "oid sha256:{}\nsize {}\n",
        pointer.oid, pointer.size
    ));
    text.into_bytes()
}

fuzz_target!(|data: &[u8]| {
    check_oid_hex(data);

    let sniffed = looks_like_pointer(data);
    let Some(parsed) = Pointer::parse(data) else {
        return;
    };
    assert!(
        data.len() < POINTER_SIZE_LIMIT,
        "parsed a blob of {} bytes",
        data.len()
    );

    // looks_like_pointer: `false` must mean "not a pointer".
    if !data.is_empty() {
        assert!(
            sniffed,
            "looks_like_pointer(whole blob) is false for a pointer: {data:?}"
        );
    }
    for end in SNIFF_BYTES.min(data.len())..data.len() {
        if ignore_split_char() && std::str::from_utf8(&data[..end]).is_err() {
            // Known issue (see fuzz/README.md): a prefix that ends inside a multi-byte character
            // after leading Unicode whitespace is judged "not a pointer".
            continue;
        }
        assert!(
            looks_like_pointer(&data[..end]),
            "looks_like_pointer(first {end} bytes) is false for a pointer: {data:?}"
        );
    }

    // Extensions come back sorted by distinct priority, each a digit.
    for pair in parsed.extensions.windows(2) {
        assert!(pair[0].priority < pair[1].priority, "{parsed:?}");
    }
    for ext in &parsed.extensions {
        assert!(ext.priority <= 9 && !ext.name.is_empty(), "{ext:?}");
    }

    // `canonical` is exactly "these are the bytes git-lfs would write".
    let expected = spec_encoding(&parsed);
    assert_eq!(
        parsed.canonical,
        expected == data,
        "canonical flag wrong for {data:?} (spec encoding {expected:?})"
    );
    if parsed.extensions.is_empty() {
        assert_eq!(parsed.pointer.encode(), expected);
        if parsed.canonical {
            assert_eq!(parsed.pointer.encode(), data);
        }
    }

    // Round trip through the canonical encoding.
    let again = Pointer::parse(&expected).expect("the canonical encoding must parse");
    assert!(
        again.canonical,
        "canonical encoding not canonical: {expected:?}"
    );
    if parsed.pointer.size == 0 {
        assert_eq!(again.pointer, Pointer::empty());
        assert!(again.extensions.is_empty());
    } else {
        assert_eq!(again.pointer, parsed.pointer, "round trip of {data:?}");
        assert_eq!(
            again.extensions, parsed.extensions,
            "round trip of {data:?}"
        );
        assert!(looks_like_pointer(&expected));
    }
});

/// `HFGIT_FUZZ_IGNORE_SPLIT_CHAR=1` skips the prefix check where the prefix ends inside a UTF-8
/// character, so a run can go on past that known `looks_like_pointer` issue until it is fixed.
fn ignore_split_char() -> bool {
    static IGNORE: OnceLock<bool> = OnceLock::new();
    *IGNORE
        .get_or_init(|| std::env::var_os("HFGIT_FUZZ_IGNORE_SPLIT_CHAR").is_some_and(|v| v == "1"))
}

/// `Oid256::from_hex` on the input as text: ok exactly for 64 lowercase hex digits, and then
/// `to_hex` must give the same text back.
fn check_oid_hex(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let valid = text.len() == 64 && text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
    match Oid256::from_hex(text) {
        Ok(oid) => {
            assert!(valid, "accepted oid {text:?}");
            assert_eq!(oid.to_hex(), text);
            assert_eq!(Oid256::from_bytes(*oid.as_bytes()), oid);
        }
        Err(_) => assert!(!valid, "refused oid {text:?}"),
    }
}
