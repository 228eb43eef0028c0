//! Glob matching with git's rules for `.gitattributes` patterns (git's `wildmatch` in path mode).
//!
//! Whether a file goes through LFS is decided by these patterns, so a matcher that is merely "close"
//! to git's would let hfgit commit a 5 GB file as a plain blob that the Hub then refuses. The rules:
//! `*` and `?` and `[...]` never match `/`; `**` is special only as a whole path segment (`**/x`,
//! `a/**/b`, `a/**`), and anywhere else it is a plain `*`; `\` makes the next byte literal; a class
//! that is never closed, or names an unknown `[:class:]`, makes the pattern match nothing. Matching
//! is on bytes, as in git, and runs in time proportional to pattern length times path length.

/// A compiled pattern; `None` from [`Glob::new`] means git would never match it.
#[derive(Clone, Debug)]
pub(crate) struct Glob {
    tokens: Vec<Token>,
    shape: Shape,
}

/// The shapes of nearly every `.gitattributes` pattern (`*.bin`, `*tfevents*`, `model.pt`),
/// matched without the general algorithm: a commit asks every pattern about every new file.
#[derive(Clone, Debug)]
enum Shape {
    /// Only literal bytes.
    Literal(Vec<u8>),
    /// `*` then literal bytes: a name ending so, with no `/` before the ending.
    Suffix(Vec<u8>),
    /// `*`, literal bytes without `/`, `*`: a name holding them, with no `/` at all.
    Contains(Vec<u8>),
    General,
}

#[derive(Clone, Debug)]
enum Token {
    Byte(u8),
    /// `?`: one byte other than `/`.
    AnyByte,
    Class(Class),
    /// `*`: any run of bytes without `/`.
    Star,
    /// `**` at the end after a `/` (or alone): anything at all, slashes included.
    AnyPath,
    /// `**/` at the start or after a `/`: zero or more whole directories.
    AnyDirs,
}

#[derive(Clone, Debug)]
struct Class {
    negated: bool,
    items: Vec<ClassItem>,
}

#[derive(Clone, Copy, Debug)]
enum ClassItem {
    Byte(u8),
    Range(u8, u8),
    Named(fn(u8) -> bool),
}

impl Glob {
    pub(crate) fn new(pattern: &[u8]) -> Option<Self> {
        let mut tokens = Vec::new();
        let mut i = 0;
        while i < pattern.len() {
            match pattern[i] {
                b'\\' => {
                    tokens.push(Token::Byte(*pattern.get(i + 1)?));
                    i += 2;
                }
                b'?' => {
                    tokens.push(Token::AnyByte);
                    i += 1;
                }
                b'[' => {
                    let (class, next) = parse_class(pattern, i + 1)?;
                    tokens.push(Token::Class(class));
                    i = next;
                }
                b'*' => {
                    let start = i;
                    while pattern.get(i) == Some(&b'*') {
                        i += 1;
                    }
                    let whole_segment_start = start == 0 || pattern[start - 1] == b'/';
                    let rest = &pattern[i..];
                    let token = if i - start < 2 || !whole_segment_start {
                        Token::Star
                    } else if rest.is_empty() {
                        Token::AnyPath
                    } else if rest.starts_with(b"/") {
                        i += 1;
                        Token::AnyDirs
                    } else if rest.starts_with(b"\\/") {
                        i += 2;
                        Token::AnyDirs
                    } else {
                        Token::Star
                    };
                    tokens.push(token);
                }
                byte => {
                    tokens.push(Token::Byte(byte));
                    i += 1;
                }
            }
        }
        let shape = Shape::of(&tokens);
        Some(Self { tokens, shape })
    }

    pub(crate) fn matches(&self, text: &[u8]) -> bool {
        let no_slash = |bytes: &[u8]| !bytes.contains(&b'/');
        match &self.shape {
            Shape::Literal(literal) => text == literal.as_slice(),
            Shape::Suffix(suffix) => {
                text.ends_with(suffix) && no_slash(&text[..text.len() - suffix.len()])
            }
            Shape::Contains(inner) => no_slash(text) && contains(text, inner),
            Shape::General => self.matches_generally(text),
        }
    }

    fn matches_generally(&self, text: &[u8]) -> bool {
        // reach[j]: the tokens seen so far can consume exactly text[..j].
        let mut reach = vec![false; text.len() + 1];
        let mut next = vec![false; text.len() + 1];
        reach[0] = true;
        for token in &self.tokens {
            next.fill(false);
            match token {
                Token::Star => {
                    let mut open = false;
                    for j in 0..=text.len() {
                        open |= reach[j];
                        next[j] = open;
                        if text.get(j) == Some(&b'/') {
                            open = false;
                        }
                    }
                }
                Token::AnyPath => {
                    if let Some(first) = reach.iter().position(|&r| r) {
                        next[first..].fill(true);
                    }
                }
                Token::AnyDirs => {
                    let mut started = false;
                    for j in 0..=text.len() {
                        next[j] = reach[j] || (started && j > 0 && text[j - 1] == b'/');
                        started |= reach[j];
                    }
                }
                single => {
                    for j in 0..text.len() {
                        next[j + 1] = reach[j] && single.accepts(text[j]);
                    }
                }
            }
            std::mem::swap(&mut reach, &mut next);
            if !reach.contains(&true) {
                return false;
            }
        }
        reach[text.len()]
    }
}

impl Shape {
    fn of(tokens: &[Token]) -> Self {
        let literal = |tokens: &[Token]| -> Option<Vec<u8>> {
            tokens
                .iter()
                .map(|token| match token {
                    Token::Byte(byte) => Some(*byte),
                    _ => None,
                })
                .collect()
        };
        match tokens {
            [Token::Star, Token::Star, ..] => Self::General,
            [Token::Star, middle @ .., Token::Star] => literal(middle)
                .filter(|inner| !inner.contains(&b'/'))
                .map_or(Self::General, Self::Contains),
            [Token::Star, rest @ ..] => literal(rest).map_or(Self::General, Self::Suffix),
            _ => literal(tokens).map_or(Self::General, Self::Literal),
        }
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    needle.is_empty()
        || haystack
            .windows(needle.len())
            .any(|window| window == needle)
}

impl Token {
    fn accepts(&self, byte: u8) -> bool {
        match self {
            Token::Byte(expected) => byte == *expected,
            Token::AnyByte => byte != b'/',
            Token::Class(class) => byte != b'/' && class.contains(byte) != class.negated,
            Token::Star | Token::AnyPath | Token::AnyDirs => false,
        }
    }
}

impl Class {
    fn contains(&self, byte: u8) -> bool {
        self.items.iter().any(|item| match *item {
            ClassItem::Byte(member) => byte == member,
            ClassItem::Range(low, high) => (low..=high).contains(&byte),
            ClassItem::Named(test) => test(byte),
        })
    }
}

/// Parse a bracket expression whose body starts at `start` (just after `[`); returns the class and
/// the index just past its closing `]`, or `None` if git would treat the whole pattern as failing.
fn parse_class(pattern: &[u8], start: usize) -> Option<(Class, usize)> {
    let mut i = start;
    let negated = matches!(pattern.get(i), Some(b'!' | b'^'));
    if negated {
        i += 1;
    }
    let mut items = Vec::new();
    let mut first = true;
    loop {
        let byte = *pattern.get(i)?;
        if byte == b']' && !first {
            return Some((Class { negated, items }, i + 1));
        }
        first = false;
        if byte == b'[' && pattern.get(i + 1) == Some(&b':') {
            let name_start = i + 2;
            let close = name_start + pattern[name_start..].iter().position(|&b| b == b']')?;
            if close > name_start && pattern[close - 1] == b':' {
                items.push(ClassItem::Named(named_class(
                    &pattern[name_start..close - 1],
                )?));
                i = close + 1;
            } else {
                // Not `[:name:]` after all: the `[` is an ordinary member.
                items.push(ClassItem::Byte(b'['));
                i += 1;
            }
            continue;
        }
        let (low, after_low) = class_byte(pattern, i)?;
        i = after_low;
        let range_follows =
            pattern.get(i) == Some(&b'-') && pattern.get(i + 1).is_some_and(|&b| b != b']');
        if range_follows {
            let (high, after_high) = class_byte(pattern, i + 1)?;
            items.push(ClassItem::Range(low, high));
            i = after_high;
        } else {
            items.push(ClassItem::Byte(low));
        }
    }
}

/// One member byte of a class, with `\` escaping the byte after it.
fn class_byte(pattern: &[u8], i: usize) -> Option<(u8, usize)> {
    match *pattern.get(i)? {
        b'\\' => Some((*pattern.get(i + 1)?, i + 2)),
        byte => Some((byte, i + 1)),
    }
}

/// The POSIX classes git knows, with git's own ASCII-only definitions (`space` is `" \t\n\r"`).
fn named_class(name: &[u8]) -> Option<fn(u8) -> bool> {
    let test: fn(u8) -> bool = match name {
        b"alnum" => |b| b.is_ascii_alphanumeric(),
        b"alpha" => |b| b.is_ascii_alphabetic(),
        b"blank" => |b| b == b' ' || b == b'\t',
        b"cntrl" => |b| b.is_ascii_control(),
        b"digit" => |b| b.is_ascii_digit(),
        b"graph" => |b| b.is_ascii_graphic(),
        b"lower" => |b| b.is_ascii_lowercase(),
        b"print" => |b| b == b' ' || b.is_ascii_graphic(),
        b"punct" => |b| b.is_ascii_punctuation(),
        b"space" => |b| matches!(b, b' ' | b'\t' | b'\n' | b'\r'),
        b"upper" => |b| b.is_ascii_uppercase(),
        b"xdigit" => |b| b.is_ascii_hexdigit(),
        _ => return None,
    };
    Some(test)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fast_shapes_agree_with_the_general_matcher() {
        let patterns = [
            "*",
            "*.bin",
            "model.pt",
            "*tfevents*",
            "*a/b*",
            "*/b",
            "**",
            "*x*",
            "\\*.pt",
            "*[a]",
        ];
        let texts = [
            "",
            "a",
            "model.pt",
            "x.bin",
            "d/x.bin",
            "events.out.tfevents.1",
            "d/tfevents",
            "a/b",
            "xa/bx",
            "q/xa/b",
            "*.pt",
            "x",
            "xx",
            "b",
            "c/b",
            "ba",
        ];
        for pattern in patterns {
            let glob = Glob::new(pattern.as_bytes()).unwrap();
            for text in texts {
                assert_eq!(
                    glob.matches(text.as_bytes()),
                    glob.matches_generally(text.as_bytes()),
                    "{pattern:?} on {text:?}"
                );
            }
        }
    }

    fn glob_matches(pattern: &str, text: &str) -> bool {
        Glob::new(pattern.as_bytes()).is_some_and(|glob| glob.matches(text.as_bytes()))
    }

    #[test]
    fn single_star_stays_within_one_path_segment() {
        assert!(glob_matches("*.bin", "model.bin"));
        assert!(glob_matches("*", ""));
        assert!(glob_matches("data/*.csv", "data/a.csv"));
        assert!(!glob_matches("data/*.csv", "data/x/a.csv"));
        assert!(glob_matches("*/b", "a/b"));
        assert!(!glob_matches("*/b", "a/x/b"));
    }

    #[test]
    fn double_star_segments_cross_directories() {
        assert!(glob_matches("**/ckpt/*.pt", "ckpt/a.pt"));
        assert!(glob_matches("**/ckpt/*.pt", "x/y/ckpt/a.pt"));
        assert!(glob_matches("logs/**", "logs/a"));
        assert!(glob_matches("logs/**", "logs/a/b/c"));
        assert!(!glob_matches("logs/**", "logs"));
        assert!(glob_matches("a/**/b.bin", "a/b.bin"));
        assert!(glob_matches("a/**/b.bin", "a/x/y/b.bin"));
        assert!(!glob_matches("a/**/b.bin", "a/xb.bin"));
        assert!(glob_matches(
            "saved_model/**/*",
            "saved_model/variables/v.data"
        ));
        assert!(glob_matches(
            "saved_model/**/*",
            "saved_model/saved_model.pb"
        ));
        assert!(glob_matches("***/x", "a/b/x"));
    }

    #[test]
    fn double_star_inside_a_segment_is_a_plain_star() {
        assert!(glob_matches("a**b/c", "axxb/c"));
        assert!(!glob_matches("a**b/c", "ax/yb/c"));
        assert!(glob_matches("**.bin", "x.bin"));
        assert!(!glob_matches("**.bin", "d/x.bin"));
        assert!(!glob_matches("x/**.bin", "x/d/y.bin"));
    }

    #[test]
    fn question_mark_matches_one_byte_but_not_a_slash() {
        assert!(glob_matches("file?.bin", "file1.bin"));
        assert!(!glob_matches("file?.bin", "file10.bin"));
        assert!(!glob_matches("a?b", "a/b"));
        assert!(!glob_matches("?", "é"), "matching is per byte, like git");
    }

    #[test]
    fn bracket_classes_follow_wildmatch() {
        assert!(glob_matches("[abc].bin", "b.bin"));
        assert!(!glob_matches("[abc].bin", "d.bin"));
        assert!(glob_matches("[!abc].bin", "d.bin"));
        assert!(glob_matches("[^abc].bin", "d.bin"));
        assert!(glob_matches("v[0-9]", "v7"));
        assert!(!glob_matches("v[9-0]", "v7"), "a reversed range is empty");
        assert!(glob_matches("[]]x", "]x"));
        assert!(glob_matches("[!]]x", "ax"));
        assert!(glob_matches("[a-]", "-"));
        assert!(glob_matches("[\\]]", "]"));
        assert!(glob_matches("[[:digit:]]*.ckpt", "7.ckpt"));
        assert!(glob_matches("a[[:space:]]b", "a b"));
        assert!(glob_matches("a[[:space:]]b", "a\tb"));
        assert!(
            !glob_matches("a[![:alpha:]]", "a/"),
            "a class never matches a slash"
        );
        assert!(
            glob_matches("[[:x]", ":"),
            "[: without :] is a plain member"
        );
    }

    #[test]
    fn unclosed_class_or_unknown_class_name_matches_nothing() {
        assert!(Glob::new(b"[abc").is_none());
        assert!(Glob::new(b"[[:nope:]]").is_none());
        assert!(Glob::new(b"[[:alpha").is_none());
    }

    #[test]
    fn backslash_makes_the_next_byte_literal() {
        assert!(glob_matches("\\*.bin", "*.bin"));
        assert!(!glob_matches("\\*.bin", "x.bin"));
        assert!(glob_matches("\\#x", "#x"));
        assert!(Glob::new(b"trailing\\").is_none());
    }

    #[test]
    fn pathological_patterns_finish_quickly() {
        let pattern = "*a".repeat(40);
        let text = "a".repeat(39) + &"b".repeat(2000);
        assert!(!glob_matches(&pattern, &text));
    }
}
