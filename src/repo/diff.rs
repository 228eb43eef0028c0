//! `Repository.diff()`: what changed, as the text of a unified diff, with Git LFS files reported
//! by what they are (a pointer change, with sizes) instead of as pointer text or raw bytes.
//!
//! A notebook user asking "what did the training run change?" wants to read the config and
//! script edits, and to be told that `model.safetensors` went from 1.2 GB to 1.3 GB; dumping
//! either the pointer lines or the weights would be useless. So:
//!
//! - text files get git's unified diff (`git diff` output, `context` lines around each change);
//! - binary files get git's one line, `Binary files a/x and b/x differ`, and files over
//!   [`MAX_TEXT_SIZE`] count as binary (never read whole into memory for a diff);
//! - Git LFS files (a pointer on either side, or a work-tree file `.gitattributes` sends to LFS)
//!   get `Git LFS file modified: <old> -> <new> bytes` followed by the `oid sha256:` lines of the
//!   sides whose object id is known. A work-tree file is not hashed for a diff, so its id is
//!   shown only when the file is itself a pointer; between two revisions both are known.
//!
//! Without `other`, the comparison is with the work tree: tracked files as they are on disk
//! (staged or not) and untracked files as new files, since `commit()` would record those too;
//! `.gitignore`d files are left out. LFS files whose stat data changed but whose content did not
//! are not reported, as `status()` does not report them.

use std::fmt::Write as _;
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

use git2::{Delta, DiffDelta, DiffOptions, Repository};

use super::pathspec::relative_pathspec;
use super::revision::{head_commit, resolve_commit};
use crate::error::{HfGitError, Result};
use crate::lfs::attribute_source::WorkTreeAttributes;
use crate::lfs::clean::cleaned_blob;
use crate::lfs::{Pointer, POINTER_SIZE_LIMIT};

/// Files bigger than this are reported as binary instead of diffed line by line (the Hub itself
/// keeps text files this big in LFS).
pub const MAX_TEXT_SIZE: i64 = 10 * 1024 * 1024;

pub struct DiffRequest {
    pub local_dir: PathBuf,
    /// The old side (default HEAD; the empty tree before the first commit).
    pub revision: Option<String>,
    /// The new side; `None` for the work tree.
    pub other: Option<String>,
    /// Only these paths (read as `git diff -- <paths>` reads them).
    pub paths: Option<Vec<PathBuf>>,
    /// Lines of context around each change.
    pub context: u32,
}

pub fn diff(request: DiffRequest) -> Result<String> {
    // A look at the work tree saves the stat data of unchanged LFS files (as `git status` does),
    // so the diff below does not take them for changed and hash them.
    if request.other.is_none() {
        super::status::status(&request.local_dir)?;
    }
    let repo = super::open_work_tree(&request.local_dir)?;
    let workdir =
        repo.workdir()
            .map(Path::to_path_buf)
            .ok_or_else(|| HfGitError::NotARepository {
                path: request.local_dir.clone(),
            })?;
    let old_tree = match &request.revision {
        Some(revision) => Some(resolve_commit(&repo, revision)?.tree()?),
        None => head_commit(&repo)?.map(|c| c.tree()).transpose()?,
    };
    let mut options = DiffOptions::new();
    options
        .context_lines(request.context)
        .include_typechange(true)
        .max_size(MAX_TEXT_SIZE);
    for path in request.paths.iter().flatten() {
        options.pathspec(relative_pathspec(&workdir, path)?);
    }
    let diff = match &request.other {
        Some(other) => {
            let new_tree = resolve_commit(&repo, other)?.tree()?;
            repo.diff_tree_to_tree(old_tree.as_ref(), Some(&new_tree), Some(&mut options))?
        }
        None => {
            options
                .include_untracked(true)
                .recurse_untracked_dirs(true)
                .show_untracked_content(true);
            repo.diff_tree_to_workdir_with_index(old_tree.as_ref(), Some(&mut options))?
        }
    };
    let paths: Vec<String> = diff
        .deltas()
        .filter_map(|delta| {
            delta
                .new_file()
                .path()
                .map(|p| p.to_string_lossy().into_owned())
        })
        .collect();
    let attributes = WorkTreeAttributes::load(&repo, &repo.index()?, &paths)?;
    let on_work_tree = request.other.is_none();

    let mut text = String::new();
    for (number, delta) in diff.deltas().enumerate() {
        if delta.status() == Delta::Unmodified {
            continue;
        }
        let old = side(&repo, &workdir, &delta, Which::Old, false, &attributes)?;
        let new = side(
            &repo,
            &workdir,
            &delta,
            Which::New,
            on_work_tree,
            &attributes,
        )?;
        if old.as_ref().is_some_and(|s| s.lfs) || new.as_ref().is_some_and(|s| s.lfs) {
            write_lfs_change(&mut text, &repo, &workdir, &delta, old, new)?;
            continue;
        }
        if let Some(mut patch) = git2::Patch::from_diff(&diff, number)? {
            let buf = patch.to_buf()?;
            text.push_str(&String::from_utf8_lossy(&buf));
        }
    }
    Ok(text)
}

#[derive(Clone, Copy)]
enum Which {
    Old,
    New,
}

/// One side of a changed file, as far as LFS is concerned.
struct Side {
    size: u64,
    /// The object id, when known (a pointer blob, or a work-tree file that is a pointer).
    oid: Option<String>,
    /// The side is a Git LFS file.
    lfs: bool,
    /// A work-tree LFS file whose pointer was not computed (its content is not hashed).
    in_work_tree: bool,
}

fn side(
    repo: &Repository,
    workdir: &Path,
    delta: &DiffDelta<'_>,
    which: Which,
    work_tree: bool,
    attributes: &WorkTreeAttributes<'_>,
) -> Result<Option<Side>> {
    let file = match which {
        Which::Old => delta.old_file(),
        Which::New => delta.new_file(),
    };
    if !file.exists() {
        return Ok(None);
    }
    let Some(path) = file.path().map(|p| p.to_string_lossy().into_owned()) else {
        return Ok(None);
    };
    let is_file = matches!(
        file.mode(),
        git2::FileMode::Blob | git2::FileMode::BlobExecutable
    );
    if work_tree {
        if !is_file || !attributes.is_lfs(&path) {
            return Ok(Some(plain(file.size())));
        }
        let full = workdir.join(&path);
        if let Some(pointer) = read_pointer_file(&full) {
            return Ok(Some(pointer_side(&pointer)));
        }
        let size = fs::metadata(&full).map(|m| m.len()).unwrap_or(file.size());
        return Ok(Some(Side {
            size,
            oid: None,
            lfs: true,
            in_work_tree: true,
        }));
    }
    // The blob's own size: libgit2 may report the index's stat size for the old side.
    let size = match repo.odb()?.read_header(file.id()) {
        Ok((size, _)) => size as u64,
        Err(_) => return Ok(Some(plain(file.size()))),
    };
    if !is_file || size >= POINTER_SIZE_LIMIT as u64 {
        return Ok(Some(plain(size)));
    }
    let blob = repo.find_blob(file.id())?;
    Ok(Some(match Pointer::parse(blob.content()) {
        // The empty blob is the empty LFS file's pointer, but just as much an empty text file.
        Some(parsed) if !blob.content().is_empty() => pointer_side(&parsed.pointer),
        _ => plain(size),
    }))
}

fn plain(size: u64) -> Side {
    Side {
        size,
        oid: None,
        lfs: false,
        in_work_tree: false,
    }
}

fn pointer_side(pointer: &Pointer) -> Side {
    Side {
        size: pointer.size,
        oid: Some(pointer.oid.to_hex()),
        lfs: true,
        in_work_tree: false,
    }
}

/// The pointer a work-tree file holds, if it is one (a file left unsmudged).
fn read_pointer_file(path: &Path) -> Option<Pointer> {
    let mut head = Vec::new();
    fs::File::open(path)
        .ok()?
        .take(POINTER_SIZE_LIMIT as u64)
        .read_to_end(&mut head)
        .ok()?;
    if head.len() >= POINTER_SIZE_LIMIT {
        return None;
    }
    Pointer::parse(&head).map(|parsed| parsed.pointer)
}

fn write_lfs_change(
    text: &mut String,
    repo: &Repository,
    workdir: &Path,
    delta: &DiffDelta<'_>,
    old: Option<Side>,
    new: Option<Side>,
) -> Result<()> {
    let path_of = |file: git2::DiffFile<'_>| {
        file.path()
            .map(|p| p.to_string_lossy().into_owned())
            .unwrap_or_default()
    };
    let (old_path, new_path) = (path_of(delta.old_file()), path_of(delta.new_file()));
    // A work-tree file of the old size may still hold the old content (its stat data changed):
    // clean it, as `status()` does, and say nothing when it is the same pointer.
    if let (Some(old), Some(new)) = (&old, &new) {
        if new.in_work_tree && old.lfs && old.size == new.size {
            let blob = repo.find_blob(delta.old_file().id())?;
            if let Ok((cleaned, _)) = cleaned_blob(&workdir.join(&new_path)) {
                if cleaned == blob.content() {
                    return Ok(());
                }
            }
        }
    }
    let _ = writeln!(text, "diff --git a/{old_path} b/{new_path}");
    match (&old, &new) {
        (None, Some(new)) => {
            let _ = writeln!(text, "Git LFS file added: {} bytes", new.size);
        }
        (Some(old), None) => {
            let _ = writeln!(text, "Git LFS file deleted: {} bytes", old.size);
        }
        (Some(old), Some(new)) => {
            let what = match (old.lfs, new.lfs) {
                (true, true) => "Git LFS file modified",
                (false, true) => "now a Git LFS file (was stored in git)",
                _ => "no longer a Git LFS file (now stored in git)",
            };
            let _ = writeln!(text, "{what}: {} -> {} bytes", old.size, new.size);
        }
        (None, None) => {}
    }
    if let Some(oid) = old.as_ref().and_then(|s| s.oid.as_ref()) {
        let _ = writeln!(text, "-oid sha256:{oid}");
    }
    if let Some(oid) = new.as_ref().and_then(|s| s.oid.as_ref()) {
        let _ = writeln!(text, "+oid sha256:{oid}");
    }
    Ok(())
}
