//! Fuzz the `.gitattributes` parser and matcher (`hfgit::lfs::AttributeRules`, and through it
//! the private wildmatch in `src/lfs/glob.rs`), plus `track_line`.
//!
//! Input layout: the bytes are split on 0xFF (a byte that never occurs in UTF-8, so it takes
//! nothing away from the texts): `path 0xFF root-body 0xFF sub-body 0xFF deeper-body`, where the
//! bodies are the `.gitattributes` of the directories "", "sub" and "sub/deeper" (a missing part
//! means no file there). Every part goes through `String::from_utf8_lossy`, as
//! `lfs::attribute_source` does with the real files. The path is asked about as given and below
//! "sub/" and "sub/deeper/", so the deeper files are reached whatever path the fuzzer picks.
//!
//! Invariants checked (a violation panics, which libFuzzer reports as a crash):
//! - nothing panics (or overflows the stack through macro expansion, or hangs);
//! - `is_lfs(p)` implies `!leaves_unset(p, "filter")` and `sets_any(&["filter"])`;
//! - if `sets_any(&[name])` is false, `leaves_unset(p, name)` is true for every path;
//! - `track_line(p)` appended to the top-level file (as `git lfs track --filename` and hfgit's
//!   auto-tracking do) makes `is_lfs(p)` true, for any path a work tree can hold
//!   (`HFGIT_FUZZ_IGNORE_LEADING_BOM=1` skips the known failing case, see README.md).
//!
//! With `HFGIT_FUZZ_DUMP=1` in the environment each input is also written to a fresh temporary
//! repository, libgit2 is asked the same questions, and one line per path is printed to stdout
//! for `fuzz/replay_against_git.py`, which compares hfgit, libgit2 and `git check-attr`.
//! Nothing of that runs while fuzzing.
#![no_main]

use std::sync::OnceLock;

use hfgit::lfs::{track_line, AttributeRules};
use libfuzzer_sys::fuzz_target;

/// The directories whose `.gitattributes` the fuzz input provides, in input order.
const DIRS: [&str; 3] = ["", "sub", "sub/deeper"];
/// Attributes asked about with `leaves_unset` (filter, then the checkin conversions, then one more).
const NAMES: [&str; 6] = ["filter", "text", "eol", "crlf", "ident", "diff"];

struct Input {
    path: String,
    /// `(dir, body)` for each file present.
    files: Vec<(&'static str, String)>,
}

fn split(data: &[u8]) -> Input {
    let mut parts = data.split(|&b| b == 0xFF);
    let path = String::from_utf8_lossy(parts.next().unwrap_or_default()).into_owned();
    let files = DIRS
        .iter()
        .zip(parts)
        .map(|(dir, body)| (*dir, String::from_utf8_lossy(body).into_owned()))
        .collect();
    Input { path, files }
}

/// A path a work tree can hold (and so one hfgit may auto-track): relative, `/`-separated, no
/// empty, `.` or `..` component, no NUL.
fn is_work_tree_path(path: &str) -> bool {
    !path.is_empty()
        && !path.contains('\0')
        && path
            .split('/')
            .all(|component| !matches!(component, "" | "." | ".."))
}

fn queries(path: &str) -> [String; 3] {
    [
        path.to_owned(),
        format!("sub/{path}"),
        format!("sub/deeper/{path}"),
    ]
}

fuzz_target!(|data: &[u8]| {
    let input = split(data);
    let rules = AttributeRules::from_files(input.files.iter().map(|(d, b)| (*d, b.as_str())));
    let sets: Vec<bool> = NAMES.iter().map(|name| rules.sets_any(&[name])).collect();
    let _ = rules.sets_any(&NAMES);

    for query in queries(&input.path) {
        let lfs = rules.is_lfs(&query);
        let unset: Vec<bool> = NAMES
            .iter()
            .map(|name| rules.leaves_unset(&query, name))
            .collect();
        if lfs {
            assert!(!unset[0], "is_lfs but leaves filter unset: {query:?}");
            assert!(sets[0], "is_lfs but no rule sets filter: {query:?}");
        }
        for ((name, sets), unset) in NAMES.iter().zip(&sets).zip(&unset) {
            assert!(
                *sets || *unset,
                "{name} set for {query:?} though no rule sets it"
            );
        }
    }

    // What `git lfs track --filename` / hfgit's auto-tracking append must track the path.
    if is_work_tree_path(&input.path) && !known_leading_bom(&input) {
        let mut root = input
            .files
            .first()
            .map(|(_, body)| body.clone())
            .unwrap_or_default();
        if !root.is_empty() && !root.ends_with('\n') {
            root.push('\n');
        }
        let line = track_line(&input.path);
        root.push_str(&line);
        root.push('\n');
        let tracked = AttributeRules::from_files([("", root.as_str())]);
        assert!(
            tracked.is_lfs(&input.path),
            "track_line({:?}) = {line:?} does not track it",
            input.path
        );
    }

    if dump_enabled() {
        dump::dump(&input, &rules);
    }
});

/// `HFGIT_FUZZ_IGNORE_LEADING_BOM=1` skips the track_line check in the one known failing case
/// (see README.md): the path starts with U+FEFF and its track line would open the top-level file,
/// where git (and hfgit) read that U+FEFF as a byte order mark and drop it.
fn known_leading_bom(input: &Input) -> bool {
    static IGNORE: OnceLock<bool> = OnceLock::new();
    let ignore = *IGNORE.get_or_init(|| {
        std::env::var_os("HFGIT_FUZZ_IGNORE_LEADING_BOM").is_some_and(|v| v == "1")
    });
    let root_empty = input.files.first().is_none_or(|(_, body)| body.is_empty());
    ignore && root_empty && input.path.starts_with('\u{feff}')
}

fn dump_enabled() -> bool {
    static ENABLED: OnceLock<bool> = OnceLock::new();
    *ENABLED.get_or_init(|| std::env::var_os("HFGIT_FUZZ_DUMP").is_some_and(|v| v == "1"))
}

/// Differential dump: one line per asked path, fields separated by single spaces, strings in hex
/// (`=` for the empty string, `-` for "no such file"):
///
/// `HFGIT-DUMP <root> <sub> <deeper> <path> <track-line> <rust> <libgit2>`
///
/// `<track-line>` is `track_line(path)` (hex) or `-` when the path is not a work-tree path;
/// `<rust>` is `is_lfs` then one `leaves_unset` bit per name in `NAMES` (e.g. `1011111`);
/// `<libgit2>` is one state per name in `NAMES`, comma-separated: `u` unspecified, `t` set,
/// `f` unset, `v<hex>` a value; or `E` when libgit2 could not be asked.
mod dump {
    use std::fmt::Write as _;
    use std::path::{Path, PathBuf};
    use std::sync::atomic::{AtomicU64, Ordering};

    use git2::{AttrCheckFlags, AttrValue, Repository};
    use hfgit::lfs::{track_line, AttributeRules};

    use super::{is_work_tree_path, queries, Input, DIRS, NAMES};

    fn hex(text: &str) -> String {
        if text.is_empty() {
            return "=".to_owned();
        }
        text.bytes().fold(String::new(), |mut out, b| {
            let _ = write!(out, "{b:02x}");
            out
        })
    }

    fn fresh_dir() -> PathBuf {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        std::env::temp_dir().join(format!("hfgit-fuzz-dump-{}-{n}", std::process::id()))
    }

    fn libgit2_states(repo: &Repository, path: &str) -> String {
        if path.contains('\0') {
            return "E".to_owned();
        }
        let mut states = Vec::new();
        for name in NAMES {
            let state =
                match repo.get_attr_bytes(Path::new(path), name, AttrCheckFlags::FILE_THEN_INDEX) {
                    Err(_) => return "E".to_owned(),
                    Ok(value) => match AttrValue::from_bytes(value) {
                        AttrValue::Unspecified => "u".to_owned(),
                        AttrValue::True => "t".to_owned(),
                        AttrValue::False => "f".to_owned(),
                        AttrValue::String(text) => format!("v{}", hex(text)),
                        AttrValue::Bytes(bytes) => {
                            format!("v{}", hex(&String::from_utf8_lossy(bytes)))
                        }
                    },
                };
            states.push(state);
        }
        states.join(",")
    }

    pub(super) fn dump(input: &Input, rules: &AttributeRules) {
        let dir = fresh_dir();
        let repo = Repository::init(&dir).ok();
        if repo.is_some() {
            for (sub, body) in &input.files {
                let folder = dir.join(sub);
                let _ = std::fs::create_dir_all(&folder);
                let _ = std::fs::write(folder.join(".gitattributes"), body);
            }
        }
        let bodies: Vec<String> = (0..DIRS.len())
            .map(|i| input.files.get(i).map_or("-".to_owned(), |(_, b)| hex(b)))
            .collect();
        for query in queries(&input.path) {
            let track = if is_work_tree_path(&query) {
                hex(&track_line(&query))
            } else {
                "-".to_owned()
            };
            let mut rust = String::from(if rules.is_lfs(&query) { "1" } else { "0" });
            for name in NAMES {
                rust.push(if rules.leaves_unset(&query, name) {
                    '1'
                } else {
                    '0'
                });
            }
            let libgit2 = repo
                .as_ref()
                .map_or("E".to_owned(), |repo| libgit2_states(repo, &query));
            println!(
                "HFGIT-DUMP {} {} {} {} {track} {rust} {libgit2}",
                bodies[0],
                bodies[1],
                bodies[2],
                hex(&query)
            );
        }
        drop(repo);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
