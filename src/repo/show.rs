//! `Repository.show(path, revision)`: one file's content at a revision, as `git show <rev>:<path>`
//! prints it, but with Git LFS files resolved to their content rather than their pointer.
//!
//! The content of an LFS file comes from `.git/lfs/objects` only: `show` never goes to the
//! network. When the object is not there (the revision was never checked out with its LFS files,
//! or the clone skipped them), [`HfGitError::LfsNotDownloaded`] says how big the file is and how
//! to get it, rather than handing back pointer text that looks like content.

use std::fs;
use std::path::Path;

use super::revision::resolve_commit;
use crate::error::{HfGitError, Result};
use crate::lfs::{LfsStore, Pointer, POINTER_SIZE_LIMIT};

/// The bytes of `path` at `revision`.
pub fn show(local_dir: &Path, path: &str, revision: &str) -> Result<Vec<u8>> {
    let repo = super::open_work_tree(local_dir)?;
    let commit = resolve_commit(&repo, revision)?;
    let relative = path.trim_start_matches("./").trim_end_matches('/');
    if relative.is_empty() {
        return Err(HfGitError::invalid("the path is empty"));
    }
    let not_found = || HfGitError::EntryNotFound {
        path: relative.to_owned(),
        revision: revision.to_owned(),
    };
    let entry = commit
        .tree()?
        .get_path(Path::new(relative))
        .map_err(|_| not_found())?;
    let object = entry.to_object(&repo)?;
    let Some(blob) = object.as_blob() else {
        return Err(HfGitError::invalid(format!(
            "'{relative}' is a directory in {revision}; show() returns one file's content"
        )));
    };
    let content = blob.content();
    let pointer = (!content.is_empty() && content.len() < POINTER_SIZE_LIMIT)
        .then(|| Pointer::parse(content))
        .flatten()
        .filter(|parsed| parsed.extensions.is_empty());
    let Some(parsed) = pointer else {
        return Ok(content.to_vec());
    };
    let store = LfsStore::for_repository(&repo);
    let pointer = parsed.pointer;
    if !store.contains(&pointer.oid, pointer.size) {
        return Err(HfGitError::LfsNotDownloaded {
            path: relative.to_owned(),
            revision: revision.to_owned(),
            size: pointer.size,
        });
    }
    if pointer.size == 0 {
        return Ok(Vec::new());
    }
    let object = store.object_path(&pointer.oid);
    fs::read(&object).map_err(|err| HfGitError::io_at("reading", &object, err))
}

/// Whether `content` is shown as text: valid UTF-8 with no NUL byte in its first 8000 bytes
/// (git's own test for binary content).
pub fn is_text(content: &[u8]) -> bool {
    !content[..content.len().min(8000)].contains(&0) && std::str::from_utf8(content).is_ok()
}
