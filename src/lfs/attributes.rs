//! Which paths are LFS-tracked, decided from `.gitattributes` files the way git decides it.
//!
//! hfgit has no `git` binary to ask (`git check-attr filter`), yet it must route exactly the files git
//! would route through the LFS filter: a file that git-lfs would store as a pointer but hfgit commits
//! as a plain blob is refused by the Hub's size limit, and the reverse corrupts a checkout. So this
//! follows git's rules rather than a simplification of them:
//!
//! - a line is `pattern attr attr ...`; `#` starts a comment; a pattern may be C-quoted (`"a b.bin"`);
//!   a line with a negative pattern (`!x`) or an invalid attribute name is ignored, as git ignores it;
//! - a pattern without `/` matches the file name at any depth below its `.gitattributes`; one with a
//!   `/` (other than a trailing one) matches the path relative to that directory; a trailing `/`
//!   matches only directories, so never a file (see `glob` for the wildcard rules);
//! - for a given attribute, the deepest `.gitattributes` wins, and within a file the last matching
//!   line; `filter=lfs` sets it, `-filter` and `!filter` take it away;
//! - `[attr]name ...` macros from the top-level `.gitattributes` expand where `name` is set.
//!
//! Only files inside the work tree are read; `$GIT_DIR/info/attributes` and the global and system
//! attribute files are not consulted.

use std::collections::{HashMap, HashSet};

use super::glob::Glob;

/// Characters that separate fields on a `.gitattributes` line.
const BLANKS: [char; 4] = [' ', '\t', '\r', '\n'];

/// The rules of every `.gitattributes` file in a work tree.
#[derive(Clone, Debug, Default)]
pub struct AttributeRules {
    /// Keyed by directory relative to the work tree, `""` for the top level.
    rules_by_dir: HashMap<String, Vec<Rule>>,
    macros: HashMap<String, Vec<Assignment>>,
}

#[derive(Clone, Debug)]
struct Rule {
    pattern: Pattern,
    assignments: Vec<Assignment>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct Assignment {
    name: String,
    state: State,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum State {
    /// `name`
    Set,
    /// `-name`
    Unset,
    /// `!name`: back to "not mentioned".
    Unspecified,
    /// `name=value`
    Value(String),
}

#[derive(Clone, Debug)]
enum Pattern {
    /// No `/`: compared with the last path component.
    FileName(Glob),
    /// Compared with the path relative to the `.gitattributes` directory.
    RelativePath(Glob),
    /// Ends in `/`, or can never match (`[abc` ...): no file matches.
    Nothing,
}

enum Line {
    Rule(Rule),
    Macro(String, Vec<Assignment>),
}

impl AttributeRules {
    /// Build from `(directory, contents)` pairs: the directory holding each `.gitattributes`,
    /// relative to the work tree and `/`-separated (`""` or `"."` for the top level).
    ///
    /// Giving the same directory twice appends the second text after the first.
    pub fn from_files<I, D, C>(files: I) -> Self
    where
        I: IntoIterator<Item = (D, C)>,
        D: AsRef<str>,
        C: AsRef<str>,
    {
        let mut rules = Self::default();
        for (dir, contents) in files {
            let dir = normalize_dir(dir.as_ref());
            let is_top_level = dir.is_empty();
            let contents = contents.as_ref();
            let contents = contents.strip_prefix('\u{feff}').unwrap_or(contents);
            for line in contents.split('\n') {
                // git ignores lines of 2048 bytes or more (since 2.39.1), and a line ends at a NUL.
                let line = line.split('\0').next().unwrap_or_default();
                if line.len() >= MAX_LINE_BYTES {
                    continue;
                }
                match parse_line(line, is_top_level) {
                    Some(Line::Rule(rule)) => rules
                        .rules_by_dir
                        .entry(dir.clone())
                        .or_default()
                        .push(rule),
                    Some(Line::Macro(name, assignments)) => {
                        rules.macros.insert(name, assignments);
                    }
                    None => {}
                }
            }
        }
        rules
    }

    /// Whether git would run `path` (work-tree relative, `/`-separated) through the LFS filter.
    pub fn is_lfs(&self, path: &str) -> bool {
        matches!(self.state_of(path, "filter"), Some(State::Value(value)) if value == "lfs")
    }

    /// Whether any rule or macro sets one of `names` (`name` or `name=value`) for any path.
    pub fn sets_any(&self, names: &[&str]) -> bool {
        let sets = |assignment: &Assignment| {
            names.contains(&assignment.name.as_str())
                && matches!(assignment.state, State::Set | State::Value(_))
        };
        self.rules_by_dir
            .values()
            .flatten()
            .flat_map(|rule| &rule.assignments)
            .chain(self.macros.values().flatten())
            .any(sets)
    }

    /// Whether attribute `name` is unmentioned, unset (`-name`) or unspecified (`!name`) for
    /// `path`.
    pub fn leaves_unset(&self, path: &str, name: &str) -> bool {
        matches!(
            self.state_of(path, name),
            None | Some(State::Unset | State::Unspecified)
        )
    }

    /// The final state of attribute `wanted` for `path`, or `None` if nothing mentions it.
    fn state_of(&self, path: &str, wanted: &str) -> Option<&State> {
        let mut dirs = vec![""];
        dirs.extend(path.match_indices('/').map(|(slash, _)| &path[..slash]));
        let mut decided = HashSet::new();
        for dir in dirs.into_iter().rev() {
            let Some(rules) = self.rules_by_dir.get(dir) else {
                continue;
            };
            for rule in rules.iter().rev().filter(|rule| rule.matches(path, dir)) {
                for assignment in rule.assignments.iter().rev() {
                    if let Some(state) = self.decide(assignment, wanted, &mut decided) {
                        return Some(state);
                    }
                }
            }
        }
        None
    }

    /// Walk git's way, from the last word backwards: the first assignment met for an attribute is
    /// final, and a macro expands only where that first assignment sets it.
    fn decide<'a>(
        &'a self,
        assignment: &'a Assignment,
        wanted: &str,
        decided: &mut HashSet<&'a str>,
    ) -> Option<&'a State> {
        if !decided.insert(&assignment.name) {
            return None;
        }
        if assignment.name == wanted {
            return Some(&assignment.state);
        }
        if assignment.state != State::Set {
            return None;
        }
        let expansion = self.macros.get(&assignment.name)?;
        expansion
            .iter()
            .rev()
            .find_map(|inner| self.decide(inner, wanted, decided))
    }
}

impl Rule {
    fn matches(&self, path: &str, dir: &str) -> bool {
        match &self.pattern {
            Pattern::FileName(glob) => {
                let name = path.rsplit('/').next().unwrap_or(path);
                glob.matches(name.as_bytes())
            }
            Pattern::RelativePath(glob) => {
                let relative = if dir.is_empty() {
                    Some(path)
                } else {
                    path.strip_prefix(dir)
                        .and_then(|rest| rest.strip_prefix('/'))
                };
                relative.is_some_and(|relative| glob.matches(relative.as_bytes()))
            }
            Pattern::Nothing => false,
        }
    }
}

/// The line `git lfs track` writes to track one file by its literal path.
///
/// Like `git lfs track --filename`: `\` is doubled, `*?[]` and `#` get a backslash, and a space
/// becomes `[[:space:]]` because a space would end the pattern. hfgit also turns tabs, CR and LF into
/// `[[:space:]]` and escapes a leading `!` or `"`, which git would otherwise read as a negative or a
/// quoted pattern, and a leading U+FEFF, which git drops as a byte order mark on a file's first line. As with git-lfs, a path without `/` also matches files of that name in
/// subdirectories.
pub fn track_line(path: &str) -> String {
    let mut pattern = String::with_capacity(path.len() + 8);
    for (i, c) in path.chars().enumerate() {
        match c {
            '\\' => pattern.push_str("\\\\"),
            '*' | '?' | '[' | ']' | '#' => {
                pattern.push('\\');
                pattern.push(c);
            }
            '!' | '"' | '\u{feff}' if i == 0 => {
                pattern.push('\\');
                pattern.push(c);
            }
            c if BLANKS.contains(&c) => pattern.push_str("[[:space:]]"),
            c => pattern.push(c),
        }
    }
    format!("{pattern} filter=lfs diff=lfs merge=lfs -text")
}

fn normalize_dir(dir: &str) -> String {
    let dir = dir.trim_matches('/');
    let dir = dir.strip_prefix("./").unwrap_or(dir);
    if dir == "." {
        String::new()
    } else {
        dir.to_owned()
    }
}

/// git's `ATTR_MAX_LINE_LENGTH`: longer lines are ignored, with a warning.
const MAX_LINE_BYTES: usize = 2048;

fn parse_line(line: &str, macros_allowed: bool) -> Option<Line> {
    let line = line.trim_start_matches(BLANKS);
    if line.is_empty() || line.starts_with('#') {
        return None;
    }
    let (pattern, rest) = match line.strip_prefix('"').and_then(unquote) {
        Some(quoted) => quoted,
        None => {
            let end = line.find(BLANKS).unwrap_or(line.len());
            (line.as_bytes()[..end].to_vec(), &line[end..])
        }
    };
    let assignments = rest
        .split(BLANKS)
        .filter(|word| !word.is_empty())
        .map(parse_assignment)
        .collect::<Option<Vec<_>>>()?;

    if let Some(name) = pattern
        .strip_prefix(b"[attr]")
        .filter(|name| !name.is_empty())
    {
        let name = std::str::from_utf8(name)
            .ok()
            .filter(|name| valid_name(name))?;
        return macros_allowed.then(|| Line::Macro(name.to_owned(), assignments));
    }
    if pattern.starts_with(b"!") {
        return None;
    }
    Some(Line::Rule(Rule {
        pattern: compile_pattern(&pattern),
        assignments,
    }))
}

fn compile_pattern(pattern: &[u8]) -> Pattern {
    if pattern.ends_with(b"/") {
        return Pattern::Nothing;
    }
    if pattern.contains(&b'/') {
        let anchored = pattern.strip_prefix(b"/").unwrap_or(pattern);
        Glob::new(anchored).map_or(Pattern::Nothing, Pattern::RelativePath)
    } else {
        Glob::new(pattern).map_or(Pattern::Nothing, Pattern::FileName)
    }
}

/// `name`, `-name`, `!name` or `name=value`; `None` if the name is not one git accepts.
fn parse_assignment(word: &str) -> Option<Assignment> {
    let (state, body) = if let Some(body) = word.strip_prefix('-') {
        (State::Unset, body)
    } else if let Some(body) = word.strip_prefix('!') {
        (State::Unspecified, body)
    } else {
        (State::Set, word)
    };
    let (name, value) = match body.split_once('=') {
        Some((name, value)) => (name, Some(value)),
        None => (body, None),
    };
    if !valid_name(name) || name.starts_with("builtin_") {
        return None;
    }
    let state = match (state, value) {
        (State::Set, Some(value)) => State::Value(value.to_owned()),
        (state, _) => state,
    };
    Some(Assignment {
        name: name.to_owned(),
        state,
    })
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with('-')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_'))
}

/// Undo C-style quoting; `text` starts just after the opening `"`. Returns the bytes and what
/// follows the closing quote, or `None` when the quoting is broken (git then reads the line as if
/// it were unquoted).
fn unquote(text: &str) -> Option<(Vec<u8>, &str)> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    loop {
        match *bytes.get(i)? {
            b'"' => return Some((out, &text[i + 1..])),
            b'\\' => {
                let escaped = *bytes.get(i + 1)?;
                i += 2;
                let byte = match escaped {
                    b'"' | b'\\' => escaped,
                    b'a' => 0x07,
                    b'b' => 0x08,
                    b'f' => 0x0c,
                    b'n' => b'\n',
                    b'r' => b'\r',
                    b't' => b'\t',
                    b'v' => 0x0b,
                    b'0'..=b'3' => {
                        let digits = bytes.get(i..i + 2)?;
                        if !digits.iter().all(|d| (b'0'..=b'7').contains(d)) {
                            return None;
                        }
                        i += 2;
                        ((escaped - b'0') << 6) | ((digits[0] - b'0') << 3) | (digits[1] - b'0')
                    }
                    _ => return None,
                };
                out.push(byte);
            }
            byte => {
                out.push(byte);
                i += 1;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Found by the `gitattributes` fuzz target: as a file's first line, a leading U+FEFF would be
    /// dropped as a byte order mark (by git too) and the line would track another path.
    #[test]
    fn a_track_line_for_a_name_starting_with_a_bom_tracks_that_name_as_a_first_line() {
        let path = "\u{feff}model.bin";
        let rules = AttributeRules::from_files([("", track_line(path))]);
        assert!(rules.is_lfs(path));
        assert!(!rules.is_lfs("model.bin"));
    }

    #[test]
    fn lines_of_2048_bytes_or_more_are_ignored_and_a_nul_ends_a_line_as_in_git() {
        let long = format!("{} filter=lfs\n", "x".repeat(2040));
        let rules = AttributeRules::from_files([("", format!("{long}*.bin filter=lfs\0junk\n"))]);
        assert!(!rules.is_lfs(&"x".repeat(2040)));
        assert!(rules.is_lfs("a.bin"));
    }

    /// The Hub's default `.gitattributes` for a new model repository.
    const HUB_MODEL_DEFAULTS: &str = "\
*.7z filter=lfs diff=lfs merge=lfs -text
*.arrow filter=lfs diff=lfs merge=lfs -text
*.bin filter=lfs diff=lfs merge=lfs -text
*.bz2 filter=lfs diff=lfs merge=lfs -text
*.ckpt filter=lfs diff=lfs merge=lfs -text
*.ftz filter=lfs diff=lfs merge=lfs -text
*.gz filter=lfs diff=lfs merge=lfs -text
*.h5 filter=lfs diff=lfs merge=lfs -text
*.joblib filter=lfs diff=lfs merge=lfs -text
*.lfs.* filter=lfs diff=lfs merge=lfs -text
*.mlmodel filter=lfs diff=lfs merge=lfs -text
*.model filter=lfs diff=lfs merge=lfs -text
*.msgpack filter=lfs diff=lfs merge=lfs -text
*.npy filter=lfs diff=lfs merge=lfs -text
*.npz filter=lfs diff=lfs merge=lfs -text
*.onnx filter=lfs diff=lfs merge=lfs -text
*.ot filter=lfs diff=lfs merge=lfs -text
*.parquet filter=lfs diff=lfs merge=lfs -text
*.pb filter=lfs diff=lfs merge=lfs -text
*.pickle filter=lfs diff=lfs merge=lfs -text
*.pkl filter=lfs diff=lfs merge=lfs -text
*.pt filter=lfs diff=lfs merge=lfs -text
*.pth filter=lfs diff=lfs merge=lfs -text
*.rar filter=lfs diff=lfs merge=lfs -text
*.safetensors filter=lfs diff=lfs merge=lfs -text
saved_model/**/* filter=lfs diff=lfs merge=lfs -text
*.tar.* filter=lfs diff=lfs merge=lfs -text
*.tar filter=lfs diff=lfs merge=lfs -text
*.tflite filter=lfs diff=lfs merge=lfs -text
*.tgz filter=lfs diff=lfs merge=lfs -text
*.wasm filter=lfs diff=lfs merge=lfs -text
*.xz filter=lfs diff=lfs merge=lfs -text
*.zip filter=lfs diff=lfs merge=lfs -text
*.zst filter=lfs diff=lfs merge=lfs -text
*tfevents* filter=lfs diff=lfs merge=lfs -text
";

    fn top_level(contents: &str) -> AttributeRules {
        AttributeRules::from_files([("", contents)])
    }

    #[test]
    fn hub_model_defaults_track_weights_archives_and_event_logs() {
        let rules = top_level(HUB_MODEL_DEFAULTS);
        assert_eq!(HUB_MODEL_DEFAULTS.lines().count(), 35);
        for path in [
            "model.safetensors",
            "unet/diffusion_pytorch_model.safetensors",
            "pytorch_model.bin",
            "tokenizer.model",
            "weights.lfs.bin",
            "data.tar.gz",
            "release.tar",
            "saved_model/saved_model.pb",
            "saved_model/variables/variables.data-00000-of-00001",
            "saved_model/assets/vocab.txt",
            "runs/Jan01/events.out.tfevents.1700000000.host.1.0",
            "ckpt/epoch=3.ckpt",
        ] {
            assert!(rules.is_lfs(path), "{path} should be LFS");
        }
        for path in [
            "README.md",
            "config.json",
            "tokenizer.json",
            "model.safetensors.index.json",
            "nested/saved_model/notes.txt",
            "saved_model",
            "tarball.txt",
            "bin",
        ] {
            assert!(!rules.is_lfs(path), "{path} should not be LFS");
        }
    }

    #[test]
    fn later_lines_override_earlier_ones_in_the_same_file() {
        let rules = top_level(
            "*.bin filter=lfs\nkeep.bin -filter\nplain.bin !filter\nother.bin filter=git-crypt\n",
        );
        assert!(rules.is_lfs("weights.bin"));
        assert!(!rules.is_lfs("keep.bin"));
        assert!(!rules.is_lfs("plain.bin"));
        assert!(!rules.is_lfs("other.bin"));
        let rules = top_level("keep.bin -filter\n*.bin filter=lfs\n");
        assert!(rules.is_lfs("keep.bin"), "the later, broader line wins");
    }

    #[test]
    fn last_word_on_a_line_wins() {
        assert!(!top_level("*.bin filter=lfs -filter\n").is_lfs("a.bin"));
        assert!(top_level("*.bin -filter filter=lfs\n").is_lfs("a.bin"));
    }

    #[test]
    fn filter_set_without_lfs_value_is_not_lfs() {
        assert!(!top_level("*.bin filter\n").is_lfs("a.bin"));
        assert!(!top_level("*.bin diff=lfs merge=lfs -text\n").is_lfs("a.bin"));
    }

    #[test]
    fn deeper_gitattributes_override_shallower_ones_for_their_subtree_only() {
        let rules = AttributeRules::from_files([
            ("", "*.bin filter=lfs\n"),
            ("sub", "*.bin -filter\n*.txt filter=lfs\n"),
        ]);
        assert!(rules.is_lfs("a.bin"));
        assert!(rules.is_lfs("other/a.bin"));
        assert!(!rules.is_lfs("sub/a.bin"));
        assert!(!rules.is_lfs("sub/deeper/a.bin"));
        assert!(rules.is_lfs("sub/x.txt"));
        assert!(rules.is_lfs("sub/deeper/x.txt"));
        assert!(!rules.is_lfs("x.txt"));
        assert!(!rules.is_lfs("subway/x.txt"));
    }

    #[test]
    fn pattern_with_a_slash_is_anchored_to_its_own_directory() {
        let rules = AttributeRules::from_files([
            ("/", "/top.bin filter=lfs\n"),
            ("sub/", "data/*.csv filter=lfs\n"),
        ]);
        assert!(rules.is_lfs("top.bin"));
        assert!(!rules.is_lfs("sub/top.bin"));
        assert!(rules.is_lfs("sub/data/a.csv"));
        assert!(!rules.is_lfs("sub/data/x/a.csv"));
        assert!(!rules.is_lfs("sub/x/data/a.csv"));
        assert!(!rules.is_lfs("data/a.csv"));
    }

    #[test]
    fn trailing_slash_pattern_never_matches_a_file() {
        let rules = top_level("models/ filter=lfs\nmodels filter=lfs\n");
        assert!(
            rules.is_lfs("models"),
            "the line without slash still applies"
        );
        assert!(!rules.is_lfs("models/a.bin"));
        assert!(!top_level("models/ filter=lfs\n").is_lfs("models"));
    }

    #[test]
    fn comments_blank_lines_crlf_and_bom_are_handled() {
        let rules = top_level(
            "\u{feff}# *.md filter=lfs\n\n   \t\r\n  *.bin\tfilter=lfs \r\n*.pt filter=lfs\r\n",
        );
        assert!(rules.is_lfs("a.bin"));
        assert!(rules.is_lfs("a.pt"));
        assert!(!rules.is_lfs("README.md"));
        assert!(top_level("\u{feff}*.bin filter=lfs").is_lfs("x.bin"));
    }

    #[test]
    fn quoted_patterns_are_unquoted_c_style() {
        let rules = top_level(
            "\"with space.bin\" filter=lfs\n\"tab\\there.bin\" filter=lfs\n\"caf\\303\\251.bin\"filter=lfs\n",
        );
        assert!(rules.is_lfs("with space.bin"));
        assert!(rules.is_lfs("tab\there.bin"));
        assert!(rules.is_lfs("café.bin"));
        let broken = top_level("\"open.bin filter=lfs\n");
        assert!(
            broken.is_lfs("\"open.bin"),
            "broken quoting reads as unquoted"
        );
    }

    #[test]
    fn negative_patterns_are_ignored_and_escaped_bang_is_literal() {
        let rules = top_level("*.bin filter=lfs\n!keep.bin -filter\n\\!bang.pt filter=lfs\n");
        assert!(rules.is_lfs("keep.bin"));
        assert!(rules.is_lfs("!bang.pt"));
    }

    #[test]
    fn line_with_an_invalid_attribute_name_is_ignored_entirely() {
        assert!(!top_level("*.bin filter=lfs bad@name\n").is_lfs("a.bin"));
        assert!(!top_level("*.bin filter=lfs builtin_objectmode\n").is_lfs("a.bin"));
        assert!(top_level("*.bin filter=lfs my-attr.x_y\n").is_lfs("a.bin"));
    }

    #[test]
    fn top_level_macros_expand_where_they_are_set() {
        let rules = top_level("[attr]big filter=lfs diff=lfs merge=lfs -text\n*.bin big\n");
        assert!(rules.is_lfs("a.bin"));
        let redefined = top_level("[attr]big filter=lfs\n[attr]big -text\n*.bin big\n");
        assert!(!redefined.is_lfs("a.bin"), "the last definition wins");
    }

    #[test]
    fn macro_expands_only_where_its_last_assignment_sets_it() {
        let unset_later = top_level("[attr]big filter=lfs\n*.bin big\nkeep.bin -big\n");
        assert!(unset_later.is_lfs("a.bin"));
        assert!(
            !unset_later.is_lfs("keep.bin"),
            "git never expands the earlier `big`"
        );
        let set_later = top_level("[attr]big filter=lfs\n*.bin -big\n*.bin big\n");
        assert!(set_later.is_lfs("a.bin"));
        let filter_later = top_level("[attr]big filter=lfs\n*.bin big\n*.bin -filter\n");
        assert!(!filter_later.is_lfs("a.bin"));
        let filter_earlier = top_level("[attr]big filter=lfs\n*.bin -filter\n*.bin big\n");
        assert!(filter_earlier.is_lfs("a.bin"));
    }

    #[test]
    fn macros_defined_below_the_top_level_are_ignored() {
        let rules = AttributeRules::from_files([("sub", "[attr]big filter=lfs\n*.bin big\n")]);
        assert!(!rules.is_lfs("sub/a.bin"));
    }

    #[test]
    fn track_line_escapes_like_git_lfs_track_filename() {
        assert_eq!(
            track_line("model.safetensors"),
            "model.safetensors filter=lfs diff=lfs merge=lfs -text"
        );
        assert_eq!(
            track_line("my model [v2]?.bin"),
            "my[[:space:]]model[[:space:]]\\[v2\\]\\?.bin filter=lfs diff=lfs merge=lfs -text"
        );
        assert_eq!(
            track_line("#1*.bin"),
            "\\#1\\*.bin filter=lfs diff=lfs merge=lfs -text"
        );
        assert!(track_line("back\\slash").starts_with("back\\\\slash "));
        assert!(track_line("!x").starts_with("\\!x "));
        assert!(track_line("a!x").starts_with("a!x "));
    }

    #[test]
    fn track_line_matches_its_own_path_and_nothing_that_only_looks_like_it() {
        let cases = [
            ("weights/model.safetensors", "weights/other.safetensors"),
            ("my model [v2].bin", "my model v.bin"),
            ("a*b.bin", "axxb.bin"),
            ("q?.bin", "qq.bin"),
            ("#notes.bin", "notes.bin"),
            ("!bang.bin", "bang.bin"),
            ("\"quoted\".bin", "quoted.bin"),
            ("back\\slash.bin", "backslash.bin"),
            ("tab\there.bin", "tab_here.bin"),
        ];
        for (path, decoy) in cases {
            let rules = top_level(&format!("{}\n", track_line(path)));
            assert!(
                rules.is_lfs(path),
                "{path:?} not matched by {}",
                track_line(path)
            );
            assert!(!rules.is_lfs(decoy), "{decoy:?} wrongly matched");
        }
    }

    #[test]
    fn track_line_without_slash_also_covers_same_name_in_subdirectories() {
        let rules = top_level(&track_line("model.bin"));
        assert!(rules.is_lfs("model.bin"));
        assert!(rules.is_lfs("sub/model.bin"));
    }
}
