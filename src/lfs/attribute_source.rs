//! Attribute questions about many paths at once (a commit, a status, a clone's checkout),
//! answered from one read of the `.gitattributes` files.
//!
//! libgit2 answers each `git_attr_get` by resolving the path with realpath and stat-ing a
//! `.gitattributes` in every directory above it, so a commit of 10,000 files spent more time
//! asking "is this LFS?" and "which filters apply?" than writing blobs. When the work tree's
//! `.gitattributes` files are the only source of attributes (no `$GIT_DIR/info/attributes`,
//! `core.attributesFile`, or per-user or system attributes file), they are read once, for each
//! directory above a changed path, and [`AttributeRules`] answers, as git would: from the work
//! tree's file, or the index's copy where the work tree has none. Otherwise every question goes
//! to libgit2, which knows all those sources.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

use git2::{AttrCheckFlags, Index, Repository};

use super::AttributeRules;
use crate::error::Result;

/// Checkin conversions (`text`, `eol`, `crlf`, `ident`) that libgit2's filters apply on `add`.
const CONVERTING_ATTRIBUTES: [&str; 4] = ["text", "eol", "crlf", "ident"];

pub enum WorkTreeAttributes<'r> {
    /// Only the work tree's `.gitattributes` files matter, and they are loaded.
    FromFiles {
        rules: AttributeRules,
        /// `core.autocrlf` is `true` or `input`.
        autocrlf: bool,
    },
    /// Other attribute files exist: ask libgit2 path by path.
    Libgit2(&'r Repository),
}

impl<'r> WorkTreeAttributes<'r> {
    /// Attributes for `paths` (relative to the work tree, `/`-separated) of `repo`.
    pub fn load(repo: &'r Repository, index: &Index, paths: &[String]) -> Result<Self> {
        let Some(workdir) = repo.workdir() else {
            return Ok(Self::Libgit2(repo));
        };
        let config = repo.config()?;
        if has_other_attribute_sources(repo, &config) {
            return Ok(Self::Libgit2(repo));
        }
        let autocrlf = autocrlf(&config);
        let mut files = Vec::new();
        for dir in ancestor_dirs(paths) {
            let relative = if dir.is_empty() {
                ".gitattributes".to_owned()
            } else {
                format!("{dir}/.gitattributes")
            };
            let text = match fs::read(workdir.join(&relative)) {
                Ok(bytes) => Some(bytes),
                Err(_) => index
                    .get_path(Path::new(&relative), 0)
                    .and_then(|entry| repo.find_blob(entry.id).ok())
                    .map(|blob| blob.content().to_vec()),
            };
            if let Some(text) = text {
                files.push((dir, String::from_utf8_lossy(&text).into_owned()));
            }
        }
        Ok(Self::FromFiles {
            rules: AttributeRules::from_files(files),
            autocrlf,
        })
    }

    /// Whether git-lfs's filter takes `path`.
    pub fn is_lfs(&self, path: &str) -> bool {
        match self {
            Self::FromFiles { rules, .. } => rules.is_lfs(path),
            Self::Libgit2(repo) => matches!(
                repo.get_attr(Path::new(path), "filter", AttrCheckFlags::FILE_THEN_INDEX),
                Ok(Some("lfs"))
            ),
        }
    }

    /// Whether `git add` stores `path`'s bytes exactly as they are on disk, so the blob can be
    /// written without running libgit2's filters; `false` when unsure.
    pub fn stores_bytes_unchanged(&self, path: &str) -> bool {
        match self {
            Self::FromFiles { rules, autocrlf } => {
                !autocrlf
                    && CONVERTING_ATTRIBUTES
                        .iter()
                        .all(|name| rules.leaves_unset(path, name))
            }
            Self::Libgit2(_) => false,
        }
    }
}

/// Whether checking out `tree` in `repo` could write a file other than byte for byte as its blob
/// (end-of-line conversion or `ident`). When it cannot, the checkout runs without libgit2's
/// filters, which would otherwise look up attributes for every file; `true` when unsure.
pub fn checkout_may_convert(repo: &Repository, tree: &git2::Tree<'_>) -> Result<bool> {
    let config = repo.config()?;
    if has_other_attribute_sources(repo, &config) || autocrlf(&config) {
        return Ok(true);
    }
    let mut files = Vec::new();
    let mut unreadable = false;
    tree.walk(git2::TreeWalkMode::PreOrder, |dir, entry| {
        if entry.name_bytes() == b".gitattributes" {
            match entry
                .to_object(repo)
                .ok()
                .and_then(|object| object.into_blob().ok())
            {
                Some(blob) => files.push((
                    dir.trim_end_matches('/').to_owned(),
                    String::from_utf8_lossy(blob.content()).into_owned(),
                )),
                None => unreadable = true,
            }
        }
        git2::TreeWalkResult::Ok
    })?;
    Ok(unreadable || AttributeRules::from_files(files).sets_any(&CONVERTING_ATTRIBUTES))
}

/// `core.autocrlf` is `true` or `input`: text files may be converted on checkin and checkout.
fn autocrlf(config: &git2::Config) -> bool {
    config.get_string("core.autocrlf").is_ok_and(|value| {
        !matches!(
            value.to_ascii_lowercase().as_str(),
            "false" | "no" | "off" | "0" | ""
        )
    })
}

/// `$GIT_DIR/info/attributes`, `core.attributesFile`, and the per-user and system files that
/// libgit2 also reads.
fn has_other_attribute_sources(repo: &Repository, config: &git2::Config) -> bool {
    let mut candidates = vec![repo.path().join("info").join("attributes")];
    if let Ok(path) = config.get_path("core.attributesFile") {
        candidates.push(path);
    }
    match std::env::var_os("XDG_CONFIG_HOME").filter(|dir| !dir.is_empty()) {
        Some(dir) => candidates.push(PathBuf::from(dir).join("git").join("attributes")),
        None => {
            if let Some(home) = std::env::var_os("HOME") {
                candidates.push(PathBuf::from(home).join(".config/git/attributes"));
            }
        }
    }
    candidates.push(PathBuf::from("/etc/gitattributes"));
    candidates.iter().any(|path| path.exists())
}

/// Every directory that holds one of `paths` or lies above one, `""` for the top level.
fn ancestor_dirs(paths: &[String]) -> BTreeSet<String> {
    let mut dirs = BTreeSet::from([String::new()]);
    for path in paths {
        for (slash, _) in path.match_indices('/') {
            dirs.insert(path[..slash].to_owned());
        }
    }
    dirs
}

#[cfg(test)]
mod tests {
    use super::*;

    fn repo() -> (tempfile::TempDir, Repository) {
        let tmp = tempfile::tempdir().unwrap();
        let repo = Repository::init(tmp.path()).unwrap();
        (tmp, repo)
    }

    fn paths(names: &[&str]) -> Vec<String> {
        names.iter().map(|name| (*name).to_owned()).collect()
    }

    #[test]
    fn ancestor_dirs_of_nested_paths_include_the_top_level() {
        let dirs = ancestor_dirs(&paths(&["a/b/c.txt", "a/d.txt", "e.txt"]));
        assert_eq!(
            dirs.into_iter().collect::<Vec<_>>(),
            ["", "a", "a/b"].map(String::from)
        );
    }

    #[test]
    fn lfs_and_conversion_answers_agree_with_libgit2() {
        let (tmp, repo) = repo();
        fs::write(
            tmp.path().join(".gitattributes"),
            "*.bin filter=lfs diff=lfs merge=lfs -text\n*.txt text\n",
        )
        .unwrap();
        fs::create_dir_all(tmp.path().join("sub/deeper")).unwrap();
        fs::write(
            tmp.path().join("sub/.gitattributes"),
            "*.bin -filter\nraw.txt -text\n*.c ident\n",
        )
        .unwrap();
        let names = paths(&[
            "model.bin",
            "sub/model.bin",
            "sub/deeper/model.bin",
            "notes.txt",
            "sub/raw.txt",
            "sub/deeper/x.c",
            "plain.json",
        ]);
        let index = repo.index().unwrap();
        let attributes = WorkTreeAttributes::load(&repo, &index, &names).unwrap();
        assert!(matches!(attributes, WorkTreeAttributes::FromFiles { .. }));
        let libgit2 = WorkTreeAttributes::Libgit2(&repo);
        for name in &names {
            assert_eq!(attributes.is_lfs(name), libgit2.is_lfs(name), "{name}");
        }
        let unchanged: Vec<&str> = names
            .iter()
            .filter(|name| attributes.stores_bytes_unchanged(name))
            .map(String::as_str)
            .collect();
        assert_eq!(
            unchanged,
            [
                "model.bin",
                "sub/model.bin",
                "sub/deeper/model.bin",
                "sub/raw.txt",
                "plain.json"
            ]
        );
    }

    #[test]
    fn info_attributes_hands_every_question_to_libgit2() {
        let (tmp, repo) = repo();
        fs::create_dir_all(repo.path().join("info")).unwrap();
        fs::write(repo.path().join("info/attributes"), "*.pt filter=lfs\n").unwrap();
        let index = repo.index().unwrap();
        let attributes = WorkTreeAttributes::load(&repo, &index, &paths(&["w.pt"])).unwrap();
        assert!(matches!(attributes, WorkTreeAttributes::Libgit2(_)));
        assert!(attributes.is_lfs("w.pt"));
        assert!(!attributes.stores_bytes_unchanged("w.pt"));
        drop(tmp);
    }

    #[test]
    fn autocrlf_means_every_blob_goes_through_the_filters() {
        let (_tmp, repo) = repo();
        repo.config()
            .unwrap()
            .set_str("core.autocrlf", "input")
            .unwrap();
        let index = repo.index().unwrap();
        let attributes = WorkTreeAttributes::load(&repo, &index, &paths(&["a.txt"])).unwrap();
        assert!(!attributes.stores_bytes_unchanged("a.txt"));
    }

    fn tree_with_files(repo: &Repository, files: &[(&str, &str)]) -> git2::Oid {
        let mut builder = git2::build::TreeUpdateBuilder::new();
        for (path, text) in files {
            let blob = repo.blob(text.as_bytes()).unwrap();
            builder.upsert(*path, blob, git2::FileMode::Blob);
        }
        let empty = repo
            .find_tree(repo.treebuilder(None).unwrap().write().unwrap())
            .unwrap();
        builder.create_updated(repo, &empty).unwrap()
    }

    #[test]
    fn checkout_without_conversion_attributes_needs_no_filters() {
        let (_tmp, repo) = repo();
        let id = tree_with_files(
            &repo,
            &[
                (
                    ".gitattributes",
                    "*.bin filter=lfs diff=lfs merge=lfs -text\n",
                ),
                ("sub/.gitattributes", "*.raw binary\n*.md -text\n"),
                ("sub/a.txt", "a\n"),
            ],
        );
        let tree = repo.find_tree(id).unwrap();
        assert!(!checkout_may_convert(&repo, &tree).unwrap());
    }

    #[test]
    fn checkout_with_text_eol_or_ident_anywhere_keeps_the_filters() {
        let (_tmp, repo) = repo();
        let texts = [
            "*.txt text\n",
            "* text=auto\n",
            "*.sh eol=lf\n",
            "*.c ident\n",
            "*.bat crlf\n",
        ];
        for text in texts {
            let id = tree_with_files(&repo, &[("deep/er/.gitattributes", text)]);
            let tree = repo.find_tree(id).unwrap();
            assert!(checkout_may_convert(&repo, &tree).unwrap(), "{text}");
        }
        let id = tree_with_files(&repo, &[(".gitattributes", "[attr]t text\n*.x t\n")]);
        assert!(checkout_may_convert(&repo, &repo.find_tree(id).unwrap()).unwrap());
    }

    #[test]
    fn a_gitattributes_deleted_from_the_work_tree_still_counts_from_the_index() {
        let (tmp, repo) = repo();
        fs::write(tmp.path().join(".gitattributes"), "*.bin filter=lfs\n").unwrap();
        let mut index = repo.index().unwrap();
        index.add_path(Path::new(".gitattributes")).unwrap();
        fs::remove_file(tmp.path().join(".gitattributes")).unwrap();
        let attributes = WorkTreeAttributes::load(&repo, &index, &paths(&["w.bin"])).unwrap();
        assert!(attributes.is_lfs("w.bin"));
    }
}
