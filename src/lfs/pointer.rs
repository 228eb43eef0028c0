//! LFS pointer files: the small text blob git stores in place of a large file.
//!
//! Both directions must agree byte for byte with git-lfs. Encoding decides the blob id git records,
//! so a pointer that differs by one newline from what `git lfs` would write shows up as a change in
//! every clone. Parsing decides which blobs get downloaded, so it accepts exactly what git-lfs accepts
//! (including the old version URLs and CRLF line ends) and says when the input was not the one
//! canonical encoding, which is what `git lfs fsck --pointers` complains about.

use std::fmt;
use std::str::FromStr;

use super::error::LfsError;

/// A blob this long or longer is never a pointer; git-lfs does not even look inside it.
pub const POINTER_SIZE_LIMIT: usize = 1024;

/// The version URL every pointer written today carries.
pub const SPEC_URL: &str = "https://git-lfs.github.com/spec/v1";

/// Version URLs git-lfs still reads: the public one, the pre-release one and the alpha one.
const KNOWN_VERSIONS: [&str; 3] = [
    SPEC_URL,
    "https://hawser.github.com/spec/v1",
    "http://git-media.io/v/2",
];

/// A SHA-256 object id; shown and parsed as 64 lowercase hex digits, the only form LFS accepts.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Oid256([u8; 32]);

impl Oid256 {
    /// The SHA-256 of no bytes at all: the oid of the empty file.
    pub const EMPTY: Oid256 = Oid256([
        0xe3, 0xb0, 0xc4, 0x42, 0x98, 0xfc, 0x1c, 0x14, 0x9a, 0xfb, 0xf4, 0xc8, 0x99, 0x6f, 0xb9,
        0x24, 0x27, 0xae, 0x41, 0xe4, 0x64, 0x9b, 0x93, 0x4c, 0xa4, 0x95, 0x99, 0x1b, 0x78, 0x52,
        0xb8, 0x55,
    ]);

    pub const fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Parse 64 lowercase hex digits; uppercase is refused, as git-lfs refuses it in pointers.
    pub fn from_hex(text: &str) -> Result<Self, LfsError> {
        parse_lower_hex(text).ok_or_else(|| LfsError::InvalidOid {
            value: text.to_owned(),
        })
    }

    pub fn to_hex(&self) -> String {
        self.to_string()
    }
}

impl fmt::Display for Oid256 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for byte in self.0 {
            write!(f, "{byte:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Oid256 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Oid256({self})")
    }
}

impl FromStr for Oid256 {
    type Err = LfsError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::from_hex(text)
    }
}

fn parse_lower_hex(text: &str) -> Option<Oid256> {
    fn nibble(digit: u8) -> Option<u8> {
        match digit {
            b'0'..=b'9' => Some(digit - b'0'),
            b'a'..=b'f' => Some(digit - b'a' + 10),
            _ => None,
        }
    }
    let digits = text.as_bytes();
    if digits.len() != 64 {
        return None;
    }
    let mut bytes = [0u8; 32];
    for (byte, pair) in bytes.iter_mut().zip(digits.chunks_exact(2)) {
        *byte = (nibble(pair[0])? << 4) | nibble(pair[1])?;
    }
    Some(Oid256(bytes))
}

/// What a pointer says about the real file: its SHA-256 and its length.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Pointer {
    pub oid: Oid256,
    pub size: u64,
}

/// An `ext-<priority>-<name> sha256:<oid>` line: a clean/smudge extension that touched the content.
///
/// hfgit runs no extensions; a caller that finds one should refuse to smudge rather than write
/// content that the extension would have transformed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PointerExtension {
    pub priority: u8,
    pub name: String,
    pub oid: Oid256,
}

/// A blob that git-lfs would accept as a pointer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParsedPointer {
    pub pointer: Pointer,
    /// Sorted by priority, as git-lfs writes them.
    pub extensions: Vec<PointerExtension>,
    /// Whether the blob is byte for byte the one encoding git-lfs would write for this pointer.
    pub canonical: bool,
}

impl Pointer {
    pub fn new(oid: Oid256, size: u64) -> Self {
        Self { oid, size }
    }

    /// The pointer of the empty file, whose encoding is itself empty.
    pub fn empty() -> Self {
        Self::new(Oid256::EMPTY, 0)
    }

    /// The exact bytes `git lfs clean` writes; nothing at all for an empty file.
    pub fn encode(&self) -> Vec<u8> {
        encode_with_extensions(self, &[])
    }

    /// Read a blob the way git-lfs does; `None` means "not a pointer, keep the bytes as they are".
    ///
    /// An empty blob is the pointer of the empty file. Anything of [`POINTER_SIZE_LIMIT`] bytes or
    /// more, anything that is not UTF-8, and anything git-lfs would refuse is `None`. Accepted:
    /// surrounding whitespace, CRLF line ends, blank lines, the two older version URLs, a `+` sign or
    /// leading zeros in the size, and `ext-N-name` lines anywhere before `size` (even before
    /// `version`, which git-lfs tolerates though no encoder writes it). All of those make the result
    /// non-canonical.
    pub fn parse(bytes: &[u8]) -> Option<ParsedPointer> {
        if bytes.is_empty() {
            return Some(ParsedPointer {
                pointer: Self::empty(),
                extensions: Vec::new(),
                canonical: true,
            });
        }
        if bytes.len() >= POINTER_SIZE_LIMIT {
            return None;
        }
        let text = std::str::from_utf8(bytes).ok()?;
        let (pointer, mut extensions) = parse_lines(text.trim())?;
        extensions.sort_by_key(|extension| extension.priority);
        let distinct = extensions
            .windows(2)
            .all(|pair| pair[0].priority != pair[1].priority);
        if !distinct {
            return None;
        }
        let canonical = encode_with_extensions(&pointer, &extensions) == bytes;
        Some(ParsedPointer {
            pointer,
            extensions,
            canonical,
        })
    }
}

/// Cheap first look at the start of a blob: `false` means it cannot be a pointer.
///
/// `true` only means "worth reading the whole blob and calling [`Pointer::parse`]"; the caller should
/// also check that the blob is shorter than [`POINTER_SIZE_LIMIT`]. Give it at least the first 100
/// bytes when the blob has that many; a shorter prefix is judged by what it has.
pub fn looks_like_pointer(prefix: &[u8]) -> bool {
    const KEY: &str = "version ";
    const EXTENSION: &str = "ext-";
    let head = String::from_utf8_lossy(&prefix[..prefix.len().min(POINTER_SIZE_LIMIT)]);
    // A prefix cut inside a multi-byte character ends in U+FFFD, which is not whitespace.
    let head = head
        .trim_end_matches(char::REPLACEMENT_CHARACTER)
        .trim_start();
    if head.starts_with(EXTENSION) || EXTENSION.starts_with(head) {
        return true;
    }
    let Some(value) = head.strip_prefix(KEY) else {
        return KEY.starts_with(head);
    };
    KNOWN_VERSIONS
        .iter()
        .any(|url| match value.strip_prefix(url) {
            Some(after) => after.is_empty() || after.starts_with(['\n', '\r']),
            None => url.starts_with(value),
        })
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Next {
    Version,
    Oid,
    Size,
    Nothing,
}

fn parse_lines(text: &str) -> Option<(Pointer, Vec<PointerExtension>)> {
    let mut next = Next::Version;
    let mut oid = None;
    let mut size = None;
    let mut extensions = Vec::new();
    for line in text.split('\n') {
        let line = line.strip_suffix('\r').unwrap_or(line);
        if line.is_empty() {
            continue;
        }
        let (key, value) = line.split_once(' ')?;
        match (next, key) {
            (Next::Version, "version") if KNOWN_VERSIONS.contains(&value) => next = Next::Oid,
            (Next::Oid, "oid") => {
                oid = Some(parse_sha256_value(value)?);
                next = Next::Size;
            }
            (Next::Size, "size") => {
                size = Some(parse_size(value)?);
                next = Next::Nothing;
            }
            (Next::Nothing, _) => return None,
            _ => extensions.push(parse_extension(key, value)?),
        }
    }
    Some((Pointer::new(oid?, size?), extensions))
}

/// `sha256:<64 lowercase hex>`, the only oid type git-lfs knows.
fn parse_sha256_value(value: &str) -> Option<Oid256> {
    parse_lower_hex(value.strip_prefix("sha256:")?)
}

/// A decimal that fits a signed 64-bit integer and is not negative; like Go's `ParseInt`, an
/// explicit sign is allowed (`+5`, `-0`).
fn parse_size(value: &str) -> Option<u64> {
    let size: i64 = value.parse().ok()?;
    u64::try_from(size).ok()
}

/// `ext-<one digit>-<word characters...>`: git-lfs checks only that the key starts that way.
fn parse_extension(key: &str, value: &str) -> Option<PointerExtension> {
    let rest = key.strip_prefix("ext-")?.as_bytes();
    let well_formed = rest.len() >= 3
        && rest[0].is_ascii_digit()
        && rest[1] == b'-'
        && (rest[2].is_ascii_alphanumeric() || rest[2] == b'_');
    if !well_formed {
        return None;
    }
    Some(PointerExtension {
        priority: rest[0] - b'0',
        name: key["ext-0-".len()..].to_owned(),
        oid: parse_sha256_value(value)?,
    })
}

fn encode_with_extensions(pointer: &Pointer, extensions: &[PointerExtension]) -> Vec<u8> {
    use std::fmt::Write as _;

    if pointer.size == 0 {
        return Vec::new();
    }
    let mut text = format!("version {SPEC_URL}\n");
    for extension in extensions {
        let PointerExtension {
            priority,
            name,
            oid,
        } = extension;
        // Writing to a String cannot fail.
        let _ = writeln!(text, "ext-{priority}-{name} sha256:{oid}");
    }
    let _ = write!(text, "oid sha256:{}\nsize {}\n", pointer.oid, pointer.size);
    text.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Found by the `pointer` fuzz target: 99 spaces and U+00A0 before a pointer, cut at 100 bytes.
    #[test]
    fn a_prefix_cut_inside_a_character_of_leading_whitespace_may_still_be_a_pointer() {
        let mut bytes = vec![b' '; 99];
        bytes.extend_from_slice("\u{a0}".as_bytes());
        bytes.extend_from_slice(
            b"version https://git-lfs.github.com/spec/v1\noid sha256:\
              4d7a214614ab2935c943f9e0ff69d22eadbb8f32b1258daaa5e2ca24d17e2393\nsize 1\n",
        );
        assert!(Pointer::parse(&bytes).is_some());
        assert!(looks_like_pointer(&bytes[..100]));
    }

    const OID: &str = "4d7a214614ab2935c943f9e0ff69d22eadbb8f32b1258daaa5e2ca24d17e2393";
    const OTHER: &str = "0000000000000000000000000000000000000000000000000000000000000001";

    fn oid(hex: &str) -> Oid256 {
        hex.parse().unwrap()
    }

    fn canonical_text(size: u64) -> String {
        format!("version https://git-lfs.github.com/spec/v1\noid sha256:{OID}\nsize {size}\n")
    }

    fn parse_str(text: &str) -> Option<ParsedPointer> {
        Pointer::parse(text.as_bytes())
    }

    #[test]
    fn encoding_is_byte_for_byte_what_git_lfs_writes() {
        let pointer = Pointer::new(oid(OID), 12345);
        let encoded = pointer.encode();
        assert_eq!(encoded, canonical_text(12345).into_bytes());
        assert_eq!(encoded.len(), 125 + "12345".len());
    }

    #[test]
    fn empty_file_encodes_to_no_bytes() {
        assert!(Pointer::empty().encode().is_empty());
        assert!(Pointer::new(oid(OID), 0).encode().is_empty());
    }

    #[test]
    fn empty_blob_is_the_canonical_pointer_of_the_empty_file() {
        let parsed = Pointer::parse(b"").unwrap();
        assert_eq!(parsed.pointer, Pointer::empty());
        assert!(parsed.canonical);
    }

    #[test]
    fn whitespace_only_blob_is_not_a_pointer() {
        assert_eq!(parse_str("\n"), None);
        assert_eq!(parse_str("  \r\n\t"), None);
    }

    #[test]
    fn canonical_pointer_parses_back_to_itself() {
        let parsed = parse_str(&canonical_text(42)).unwrap();
        assert_eq!(parsed.pointer, Pointer::new(oid(OID), 42));
        assert!(parsed.extensions.is_empty());
        assert!(parsed.canonical);
    }

    #[test]
    fn crlf_line_ends_are_accepted_but_not_canonical() {
        let parsed = parse_str(&canonical_text(42).replace('\n', "\r\n")).unwrap();
        assert_eq!(parsed.pointer.size, 42);
        assert!(!parsed.canonical);
    }

    #[test]
    fn surrounding_whitespace_and_blank_lines_are_accepted_but_not_canonical() {
        for text in [
            format!("  {}", canonical_text(7)),
            format!("{}   \n\n", canonical_text(7)),
            canonical_text(7).trim_end().to_owned(),
            canonical_text(7).replacen('\n', "\n\n", 1),
        ] {
            let parsed = parse_str(&text).unwrap_or_else(|| panic!("refused {text:?}"));
            assert_eq!(parsed.pointer.size, 7);
            assert!(!parsed.canonical, "{text:?} should not be canonical");
        }
    }

    #[test]
    fn trailing_space_inside_a_line_is_not_a_pointer() {
        assert_eq!(
            parse_str(&canonical_text(7).replace("size 7", "size 7 x")),
            None
        );
        let spaced_oid = canonical_text(7).replace(OID, &format!("{OID} "));
        assert_eq!(parse_str(&spaced_oid), None);
    }

    #[test]
    fn older_version_urls_are_accepted_but_not_canonical() {
        for url in [
            "https://hawser.github.com/spec/v1",
            "http://git-media.io/v/2",
        ] {
            let text = canonical_text(9).replace(SPEC_URL, url);
            let parsed = parse_str(&text).unwrap();
            assert_eq!(parsed.pointer.size, 9);
            assert!(!parsed.canonical);
        }
    }

    #[test]
    fn unknown_version_is_not_a_pointer() {
        let text = canonical_text(9).replace(SPEC_URL, "https://git-lfs.github.com/spec/v2");
        assert_eq!(parse_str(&text), None);
    }

    #[test]
    fn oid_must_be_sha256_in_64_lowercase_hex_digits() {
        let upper = canonical_text(3).replace(OID, &OID.to_uppercase());
        let short = canonical_text(3).replace(OID, &OID[1..]);
        let sha1 = canonical_text(3).replace("sha256:", "sha1:");
        for text in [upper, short, sha1] {
            assert_eq!(parse_str(&text), None, "{text:?}");
        }
    }

    #[test]
    fn keys_out_of_order_or_missing_or_extra_are_not_a_pointer() {
        let version = format!("version {SPEC_URL}\n");
        let oid_line = format!("oid sha256:{OID}\n");
        for text in [
            format!("{oid_line}{version}size 3\n"),
            format!("{version}size 3\n{oid_line}"),
            format!("{version}{oid_line}"),
            format!("{version}{oid_line}size 3\nsize 3\n"),
            format!("{version}{oid_line}size 3\nx y\n"),
            format!("{version}{oid_line}size3\n"),
        ] {
            assert_eq!(parse_str(&text), None, "{text:?}");
        }
    }

    #[test]
    fn size_follows_go_integer_parsing() {
        assert_eq!(
            parse_str(&canonical_text(0).replace("size 0", "size -1")),
            None
        );
        assert_eq!(
            parse_str(&canonical_text(0).replace("size 0", "size 1.5")),
            None
        );
        let too_big = canonical_text(0).replace("size 0", "size 9223372036854775808");
        assert_eq!(parse_str(&too_big), None);
        let plus = parse_str(&canonical_text(0).replace("size 0", "size +12")).unwrap();
        assert_eq!(plus.pointer.size, 12);
        assert!(!plus.canonical);
        let zeros = parse_str(&canonical_text(0).replace("size 0", "size 0012")).unwrap();
        assert_eq!(zeros.pointer.size, 12);
        assert!(!zeros.canonical);
    }

    #[test]
    fn a_written_out_zero_size_pointer_is_not_canonical() {
        let parsed = parse_str(&canonical_text(0)).unwrap();
        assert_eq!(parsed.pointer.size, 0);
        assert!(!parsed.canonical);
    }

    #[test]
    fn blobs_of_1024_bytes_or_more_are_never_pointers() {
        let text = canonical_text(5);
        let padded = |total: usize| format!("{text}{}", "\n".repeat(total - text.len()));
        assert!(parse_str(&padded(POINTER_SIZE_LIMIT - 1)).is_some());
        assert_eq!(parse_str(&padded(POINTER_SIZE_LIMIT)), None);
    }

    #[test]
    fn non_utf8_blob_is_not_a_pointer() {
        let mut bytes = canonical_text(5).into_bytes();
        bytes.push(0xff);
        assert_eq!(Pointer::parse(&bytes), None);
    }

    #[test]
    fn extension_lines_are_kept_in_priority_order() {
        let text = format!(
            "version {SPEC_URL}\next-0-foo sha256:{OTHER}\next-1-bar sha256:{OID}\noid sha256:{OID}\nsize 8\n"
        );
        let parsed = parse_str(&text).unwrap();
        assert!(parsed.canonical);
        assert_eq!(parsed.pointer.size, 8);
        let names: Vec<_> = parsed.extensions.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(names, ["foo", "bar"]);
        assert_eq!(parsed.extensions[0].oid, oid(OTHER));

        let swapped = format!(
            "version {SPEC_URL}\next-1-bar sha256:{OID}\noid sha256:{OID}\next-0-foo sha256:{OTHER}\nsize 8\n"
        );
        let parsed = parse_str(&swapped).unwrap();
        assert!(!parsed.canonical);
        assert_eq!(parsed.extensions[0].name, "foo");
    }

    #[test]
    fn extension_line_before_version_is_tolerated_like_git_lfs_does() {
        let text =
            format!("ext-0-foo sha256:{OTHER}\nversion {SPEC_URL}\noid sha256:{OID}\nsize 8\n");
        let parsed = parse_str(&text).unwrap();
        assert_eq!(parsed.extensions.len(), 1);
        assert!(!parsed.canonical);
        assert!(looks_like_pointer(text.as_bytes()));
    }

    #[test]
    fn malformed_or_misplaced_extension_lines_are_not_a_pointer() {
        let version = format!("version {SPEC_URL}\n");
        let tail = format!("oid sha256:{OID}\nsize 8\n");
        for text in [
            format!("{version}ext-0-foo sha256:{OTHER}\next-0-bar sha256:{OTHER}\n{tail}"),
            format!("{version}ext-10-foo sha256:{OTHER}\n{tail}"),
            format!("{version}ext-0- sha256:{OTHER}\n{tail}"),
            format!("{version}ext-0-foo sha1:{OTHER}\n{tail}"),
            format!("{version}{tail}ext-0-foo sha256:{OTHER}\n"),
        ] {
            assert_eq!(parse_str(&text), None, "{text:?}");
        }
    }

    #[test]
    fn start_of_a_real_pointer_looks_like_one() {
        let text = canonical_text(123_456_789);
        assert!(looks_like_pointer(text.as_bytes()));
        assert!(looks_like_pointer(&text.as_bytes()[..20]));
        assert!(looks_like_pointer(format!("\r\n  {text}").as_bytes()));
        assert!(looks_like_pointer(
            b"version http://git-media.io/v/2\r\noid"
        ));
        assert!(looks_like_pointer(b""), "the empty blob is a pointer");
    }

    #[test]
    fn other_content_does_not_look_like_a_pointer() {
        assert!(!looks_like_pointer(b"\x89PNG\r\n\x1a\n"));
        assert!(!looks_like_pointer(b"version: 2\n"));
        assert!(!looks_like_pointer(
            b"version https://git-lfs.github.com/spec/v1.1\n"
        ));
        assert!(!looks_like_pointer(b"oid sha256:"));
    }

    #[test]
    fn oid_hex_round_trips_and_rejects_anything_else() {
        assert_eq!(oid(OID).to_hex(), OID);
        assert_eq!(format!("{:?}", oid(OID)), format!("Oid256({OID})"));
        for bad in [&OID.to_uppercase(), &OID[2..], "", &format!("{OID}0")] {
            assert!(matches!(
                Oid256::from_hex(bad),
                Err(LfsError::InvalidOid { .. })
            ));
        }
    }
}
