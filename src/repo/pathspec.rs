//! `commit(paths=[...])`: which paths a list of pathspecs names, with git's rules.
//!
//! `git add -- <spec>` reads a spec as a glob only when it does not name a path literally: a file
//! called `test[test]/test` or `star*.txt` is that one file, even beside `testt/test` or
//! `starA.txt` that the same text would match as a glob. A literal spec covers the path itself and
//! everything below it; a glob spec is matched by libgit2, as `git status -- <spec>` would. A spec
//! whose way into the work tree goes through a symbolic link is refused, as git refuses it
//! ("beyond a symbolic link"), instead of following the link to wherever it points.

use std::fs;
use std::path::{Component, Path, PathBuf};

use git2::{Index, PathspecFlags, StatusOptions};

use crate::error::{HfGitError, Result};

/// The pathspecs of one commit, each read literally or as a glob.
pub struct Pathspecs {
    /// `None`: the whole work tree.
    specs: Option<Vec<Spec>>,
    /// Per spec: it names something on disk, which `git add` counts as a match even when it
    /// holds nothing to stage (an empty directory).
    on_disk: Vec<bool>,
}

enum Spec {
    /// A path that exists in the work tree or the index: itself and what is below it.
    Literal(String),
    /// Anything else, matched by libgit2's pathspec rules.
    Glob {
        text: String,
        matcher: git2::Pathspec,
    },
}

impl Pathspecs {
    /// Every path of the work tree.
    pub fn everything() -> Self {
        Self {
            specs: None,
            on_disk: Vec::new(),
        }
    }

    /// Read `paths` (relative to the work tree or absolute inside it) against the work tree and
    /// the index, which decide whether a spec names a path literally.
    pub fn new(workdir: &Path, index: &Index, paths: &[PathBuf]) -> Result<Self> {
        if paths.is_empty() {
            return Err(HfGitError::invalid(
                "paths=[] names no path: pass paths=None to commit every change",
            ));
        }
        let mut specs = Vec::with_capacity(paths.len());
        let mut on_disk = Vec::with_capacity(paths.len());
        for path in paths {
            if path.as_os_str().is_empty() {
                return Err(HfGitError::invalid(
                    "an empty path in paths= names nothing (use \".\" for the whole work tree)",
                ));
            }
            let relative = relative_pathspec(workdir, path)?;
            if relative == "." {
                return Ok(Self::everything());
            }
            on_disk.push(fs::symlink_metadata(workdir.join(&relative)).is_ok());
            if names_a_path(workdir, index, &relative) || !has_glob_characters(&relative) {
                specs.push(Spec::Literal(relative));
            } else {
                let matcher = git2::Pathspec::new([relative.as_str()])?;
                specs.push(Spec::Glob {
                    text: relative,
                    matcher,
                });
            }
        }
        Ok(Self {
            specs: Some(specs),
            on_disk,
        })
    }

    /// Exactly these work-tree paths, each read literally (the paths of a snapshot).
    pub fn exactly(paths: impl IntoIterator<Item = String>) -> Self {
        Self {
            specs: Some(paths.into_iter().map(Spec::Literal).collect()),
            on_disk: Vec::new(),
        }
    }

    pub fn is_everything(&self) -> bool {
        self.specs.is_none()
    }

    /// Whether `path` (relative, `/`-separated) is covered.
    pub fn matches(&self, path: &str) -> bool {
        let Some(specs) = &self.specs else {
            return true;
        };
        specs.iter().any(|spec| Self::covers(spec, path))
    }

    /// Narrow a status scan to a superset of these pathspecs; [`Self::matches`] filters the rest.
    /// libgit2 would read a literal spec holding `*`, `?` or `[` as a glob, and one starting with
    /// `#` or `!` as a comment or a negation, so such a spec (rare) widens the scan to the whole
    /// work tree instead.
    pub fn narrow(&self, options: &mut StatusOptions) {
        let Some(specs) = &self.specs else {
            return;
        };
        let literal_with_glob_characters = specs
            .iter()
            .any(|spec| matches!(spec, Spec::Literal(path) if libgit2_would_misread(path)));
        if literal_with_glob_characters {
            return;
        }
        for spec in specs {
            match spec {
                Spec::Literal(text) | Spec::Glob { text, .. } => options.pathspec(text),
            };
        }
    }

    /// The specs, as given, that cover none of `paths` (`git add` refuses such a pathspec:
    /// "did not match any files").
    pub fn unmatched<'p>(&self, paths: impl IntoIterator<Item = &'p str>) -> Vec<String> {
        let Some(specs) = &self.specs else {
            return Vec::new();
        };
        let mut matched = self.on_disk.clone();
        matched.resize(specs.len(), false);
        for path in paths {
            for (spec, hit) in specs.iter().zip(matched.iter_mut()) {
                if !*hit {
                    *hit = Self::covers(spec, path);
                }
            }
        }
        specs
            .iter()
            .zip(matched)
            .filter(|(_, hit)| !hit)
            .map(|(spec, _)| match spec {
                Spec::Literal(text) | Spec::Glob { text, .. } => text.clone(),
            })
            .collect()
    }

    fn covers(spec: &Spec, path: &str) -> bool {
        match spec {
            Spec::Literal(literal) => {
                path == literal
                    || path
                        .strip_prefix(literal.as_str())
                        .is_some_and(|rest| rest.starts_with('/'))
            }
            Spec::Glob { matcher, .. } => {
                matcher.matches_path(Path::new(path), PathspecFlags::DEFAULT)
            }
        }
    }

    /// The literal specs, for the checks that need a path of their own.
    pub fn literals(&self) -> impl Iterator<Item = &str> {
        self.specs.iter().flatten().filter_map(|spec| match spec {
            Spec::Literal(path) => Some(path.as_str()),
            Spec::Glob { .. } => None,
        })
    }
}

/// Whether libgit2's pathspec parser would not take `path` literally.
fn libgit2_would_misread(path: &str) -> bool {
    has_glob_characters(path) || path.starts_with(['#', '!'])
}

fn has_glob_characters(path: &str) -> bool {
    path.contains(['*', '?', '[', '\\'])
}

/// Whether `relative` is a path of the work tree or the index (a file, or a directory of either).
fn names_a_path(workdir: &Path, index: &Index, relative: &str) -> bool {
    if fs::symlink_metadata(workdir.join(relative)).is_ok() {
        return true;
    }
    let directory = format!("{relative}/");
    index.iter().any(|entry| {
        entry.path == relative.as_bytes() || entry.path.starts_with(directory.as_bytes())
    })
}

/// `path` as a pathspec relative to the work tree; anything outside it, inside `.git`, or beyond a
/// symbolic link is refused.
pub(crate) fn relative_pathspec(workdir: &Path, path: &Path) -> Result<String> {
    let root = normalize(workdir);
    let absolute = normalize(&if path.is_absolute() {
        path.to_path_buf()
    } else {
        root.join(path)
    });
    let relative = match absolute.strip_prefix(&root) {
        Ok(relative) => relative.to_path_buf(),
        // An absolute path may reach the work tree through a link (/tmp -> /private/tmp): compare
        // with both sides resolved, up to the last part that exists.
        Err(_) => {
            let canonical_root = workdir.canonicalize().unwrap_or_else(|_| root.clone());
            resolve_existing_prefix(&absolute)
                .strip_prefix(&canonical_root)
                .map(Path::to_path_buf)
                .map_err(|_| {
                    HfGitError::invalid(format!(
                        "path {} is outside the work tree {}",
                        path.display(),
                        workdir.display()
                    ))
                })?
        }
    };
    if relative.starts_with(".git") {
        return Err(HfGitError::invalid(format!(
            "path {} is inside .git",
            path.display()
        )));
    }
    refuse_paths_beyond_symlinks(&root, &relative, path)?;
    // A backslash is a separator only on Windows; elsewhere it is part of a file name.
    let text = relative.to_string_lossy();
    #[cfg(windows)]
    let text = text.replace('\\', "/");
    Ok(if text.is_empty() {
        ".".to_owned()
    } else {
        text.to_string()
    })
}

/// git refuses `link/file` when `link` is a symbolic link: the file is not in this work tree.
fn refuse_paths_beyond_symlinks(root: &Path, relative: &Path, given: &Path) -> Result<()> {
    let mut prefix = root.to_path_buf();
    let parts: Vec<_> = relative.components().collect();
    for part in parts.iter().take(parts.len().saturating_sub(1)) {
        prefix.push(part);
        let is_link = fs::symlink_metadata(&prefix).is_ok_and(|meta| meta.file_type().is_symlink());
        if is_link {
            return Err(HfGitError::invalid(format!(
                "path {} is beyond a symbolic link ({}): commit the link itself, or the path it \
                 points to inside the work tree",
                given.display(),
                prefix.strip_prefix(root).unwrap_or(&prefix).display()
            )));
        }
    }
    Ok(())
}

/// Lexically remove `.` and `..` so `sub/../../x` cannot slip out of the work tree.
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

/// Resolve symlinks in the longest existing prefix of `path`.
fn resolve_existing_prefix(path: &Path) -> PathBuf {
    let mut existing = path.to_path_buf();
    let mut rest = Vec::new();
    while !existing.exists() {
        match (
            existing.file_name().map(|n| n.to_owned()),
            existing.parent(),
        ) {
            (Some(name), Some(parent)) => {
                rest.push(name);
                existing = parent.to_path_buf();
            }
            _ => return path.to_path_buf(),
        }
    }
    let mut resolved = existing.canonicalize().unwrap_or(existing);
    for name in rest.into_iter().rev() {
        resolved.push(name);
    }
    resolved
}

#[cfg(test)]
mod tests {
    use super::*;

    fn specs_in(root: &Path, paths: &[&str]) -> Pathspecs {
        let repo = git2::Repository::init(root).unwrap();
        let index = repo.index().unwrap();
        let paths: Vec<PathBuf> = paths.iter().map(PathBuf::from).collect();
        Pathspecs::new(root, &index, &paths).unwrap()
    }

    #[test]
    fn a_path_that_exists_is_literal_even_with_glob_characters() {
        let tmp = tempfile::tempdir().unwrap();
        fs::write(tmp.path().join("star*.txt"), "").unwrap();
        let specs = specs_in(tmp.path(), &["star*.txt"]);
        assert!(specs.matches("star*.txt"));
        assert!(!specs.matches("starA.txt"));
    }

    #[test]
    fn a_path_that_names_nothing_is_a_glob_and_reported_when_it_matches_nothing() {
        let tmp = tempfile::tempdir().unwrap();
        let specs = specs_in(tmp.path(), &["*.txt", "missing.bin"]);
        assert!(specs.matches("a.txt"));
        assert_eq!(specs.unmatched(["a.txt"]), ["missing.bin"]);
    }

    #[test]
    fn an_existing_empty_directory_counts_as_matched_as_git_add_counts_it() {
        let tmp = tempfile::tempdir().unwrap();
        fs::create_dir(tmp.path().join("empty")).unwrap();
        let specs = specs_in(tmp.path(), &["empty"]);
        assert!(specs.unmatched(std::iter::empty()).is_empty());
    }

    #[test]
    fn paths_outside_the_work_tree_or_inside_git_or_beyond_a_link_are_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("repo");
        fs::create_dir_all(root.join("real")).unwrap();
        std::os::unix::fs::symlink("real", root.join("link")).unwrap();
        assert!(relative_pathspec(&root, Path::new("../x")).is_err());
        assert!(relative_pathspec(&root, Path::new("/etc/passwd")).is_err());
        assert!(relative_pathspec(&root, Path::new(".git/config")).is_err());
        assert!(relative_pathspec(&root, Path::new("link/file.txt")).is_err());
        assert_eq!(relative_pathspec(&root, Path::new("link")).unwrap(), "link");
        assert_eq!(relative_pathspec(&root, Path::new("a/../b")).unwrap(), "b");
        assert_eq!(
            relative_pathspec(&root, Path::new("back\\slash")).unwrap(),
            "back\\slash"
        );
    }
}
