//! Replacing pointer files in the work tree with their content: what git-lfs's smudge filter and
//! `git lfs pull` do after a checkout.
//!
//! libgit2 checks pointers out as they are. Afterwards every index entry whose blob is a pointer
//! and whose path `.gitattributes` sends to LFS is a candidate; the objects not yet in
//! `.git/lfs/objects` are downloaded (verified before they are kept), then each file is written
//! next to its pointer and renamed over it, and its index entry gets the new stat data so the tree
//! is clean for git and for us. A file whose object could not be had keeps its pointer. The empty
//! file's pointer needs no download; a pointer naming an extension (`ext-0-gzip ...`) stops the
//! checkout before anything is written, since its object is not the file.

use std::collections::{BTreeSet, HashSet};
use std::fs;
use std::path::Path;

use git2::Repository;
use secrecy::SecretString;
use url::Url;

use super::attribute_source::WorkTreeAttributes;
use super::path_filter::PathFilter;
use super::racy::write_index_after;
use super::stage::index_entry;
use super::transfer::{download, DownloadItem, LfsRemote, TransferConfig, TransferSummary};
use super::{LfsError, LfsStore, Pointer, POINTER_SIZE_LIMIT};
use crate::error::{HfGitError, Result};
use crate::progress::Monitor;

/// A work-tree file that holds a pointer and should hold content.
struct Candidate {
    path: String,
    pointer: Pointer,
    blob: git2::Oid,
    executable: bool,
}

/// Download and write out the LFS files of the checked-out tree that `filter` allows, from the
/// LFS API base `endpoint` (chosen by [`crate::lfs::endpoint::LfsEndpoint::resolve`]).
pub fn smudge_work_tree(
    repo: &Repository,
    endpoint: &Url,
    token: Option<SecretString>,
    filter: &PathFilter,
    config: &TransferConfig,
    monitor: &Monitor,
) -> Result<TransferSummary> {
    smudge(repo, None, endpoint, token, filter, config, monitor)
}

/// [`smudge_work_tree`] for the files a checkout just wrote (`paths`), as git-lfs's smudge filter
/// runs only on those: LFS files left as pointers on purpose elsewhere (`clone(lfs=False)`, an
/// include list) stay pointers.
pub fn smudge_checked_out_files(
    repo: &Repository,
    paths: &BTreeSet<String>,
    endpoint: &Url,
    token: Option<SecretString>,
    filter: &PathFilter,
    config: &TransferConfig,
    monitor: &Monitor,
) -> Result<TransferSummary> {
    smudge(repo, Some(paths), endpoint, token, filter, config, monitor)
}

fn smudge(
    repo: &Repository,
    only: Option<&BTreeSet<String>>,
    endpoint: &Url,
    token: Option<SecretString>,
    filter: &PathFilter,
    config: &TransferConfig,
    monitor: &Monitor,
) -> Result<TransferSummary> {
    let workdir = repo
        .workdir()
        .ok_or_else(|| HfGitError::NotARepository {
            path: repo.path().to_path_buf(),
        })?
        .to_path_buf();
    let selected = |path: &str| filter.allows(path) && only.is_none_or(|only| only.contains(path));
    let candidates = pointer_files(repo, &workdir, &selected, true)?;
    if candidates.is_empty() {
        return Ok(TransferSummary::default());
    }
    let store = LfsStore::for_repository(repo);
    let mut wanted = HashSet::new();
    let missing: Vec<DownloadItem> = candidates
        .iter()
        .filter(|c| !store.contains(&c.pointer.oid, c.pointer.size))
        .filter(|c| wanted.insert(c.pointer.oid))
        .map(|c| DownloadItem {
            pointer: c.pointer,
            path: c.path.clone(),
        })
        .collect();
    // Objects that did arrive are written out even when others failed, then the error is raised.
    let downloaded = if missing.is_empty() {
        Ok(TransferSummary::default())
    } else {
        LfsRemote::for_repo(endpoint, token, repo)
            .and_then(|remote| download(&remote, missing, &store, config, monitor))
    };
    if monitor.is_cancelled() {
        return Err(HfGitError::Cancelled);
    }

    let mut index = repo.index()?;
    let index_path = repo.path().join("index");
    let mut newest = None;
    for candidate in &candidates {
        if monitor.is_cancelled() {
            write_index_after(&mut index, &index_path, newest)?;
            return Err(HfGitError::Cancelled);
        }
        if !store.contains(&candidate.pointer.oid, candidate.pointer.size) {
            continue;
        }
        let target = workdir.join(&candidate.path);
        write_from_store(&store, candidate, &target)?;
        let meta = fs::metadata(&target).map_err(|e| HfGitError::io_at("reading", &target, e))?;
        newest = newest.max(meta.modified().ok());
        index.add(&index_entry(&candidate.path, &meta, candidate.blob))?;
    }
    write_index_after(&mut index, &index_path, newest)?;
    Ok(downloaded?)
}

/// Download, before `tree` is checked out, the objects of its LFS pointers at `paths` that
/// `filter` allows and the store lacks, so that a failed download leaves the work tree, the index
/// and the branch as they were; [`smudge_work_tree`] writes the files out after the checkout,
/// from the store. Pointers naming an extension are left for the smudge to refuse.
#[allow(clippy::too_many_arguments)]
pub fn fetch_objects_for_checkout<'p>(
    repo: &Repository,
    tree: &git2::Tree<'_>,
    paths: impl IntoIterator<Item = &'p String>,
    endpoint: &Url,
    token: Option<SecretString>,
    filter: &PathFilter,
    config: &TransferConfig,
    monitor: &Monitor,
) -> Result<TransferSummary> {
    let store = LfsStore::for_repository(repo);
    let odb = repo.odb()?;
    let mut missing = Vec::new();
    for path in paths {
        let Ok(entry) = tree.get_path(Path::new(path)) else {
            continue; // deleted by the move
        };
        let is_file = entry.filemode() & 0o170000 == 0o100000;
        if !is_file || !filter.allows(path) {
            continue;
        }
        match odb.read_header(entry.id()) {
            Ok((size, _)) if size < POINTER_SIZE_LIMIT => {}
            _ => continue,
        }
        let Some(parsed) = Pointer::parse(repo.find_blob(entry.id())?.content()) else {
            continue;
        };
        let pointer = parsed.pointer;
        if pointer.size > 0
            && parsed.extensions.is_empty()
            && !store.contains(&pointer.oid, pointer.size)
        {
            missing.push(DownloadItem {
                pointer,
                path: path.clone(),
            });
        }
    }
    if missing.is_empty() {
        return Ok(TransferSummary::default());
    }
    let remote = LfsRemote::for_repo(endpoint, token, repo)?;
    Ok(download(&remote, missing, &store, config, monitor)?)
}

/// Write the empty LFS files of the checked-out tree when nothing else is smudged
/// (`GIT_LFS_SKIP_SMUDGE`, `clone(lfs=False)`): the empty file's pointer needs no download, and
/// git-lfs writes it empty even when it skips smudging.
pub fn write_empty_files(repo: &Repository) -> Result<()> {
    let Some(workdir) = repo.workdir().map(Path::to_path_buf) else {
        return Ok(());
    };
    let empty: Vec<Candidate> = pointer_files(repo, &workdir, &|_| true, false)?
        .into_iter()
        .filter(|candidate| candidate.pointer.size == 0)
        .collect();
    if empty.is_empty() {
        return Ok(());
    }
    let store = LfsStore::for_repository(repo);
    let mut index = repo.index()?;
    let mut newest = None;
    for candidate in &empty {
        let target = workdir.join(&candidate.path);
        write_from_store(&store, candidate, &target)?;
        let meta = fs::metadata(&target).map_err(|e| HfGitError::io_at("reading", &target, e))?;
        newest = newest.max(meta.modified().ok());
        index.add(&index_entry(&candidate.path, &meta, candidate.blob))?;
    }
    write_index_after(&mut index, &repo.path().join("index"), newest)
}

/// Index entries whose blob is a pointer on an LFS-tracked path, and whose file still holds it.
fn pointer_files(
    repo: &Repository,
    workdir: &Path,
    selected: &dyn Fn(&str) -> bool,
    refuse_extensions: bool,
) -> Result<Vec<Candidate>> {
    let index = repo.index()?;
    let odb = repo.odb()?;
    let mut pointers = Vec::new();
    for entry in index.iter() {
        let is_file = entry.mode & 0o170000 == 0o100000;
        let Ok(path) = String::from_utf8(entry.path.clone()) else {
            continue;
        };
        if !is_file || !selected(&path) {
            continue;
        }
        match odb.read_header(entry.id) {
            Ok((size, _)) if size < POINTER_SIZE_LIMIT => {}
            _ => continue,
        }
        let blob = repo.find_blob(entry.id)?;
        if let Some(parsed) = Pointer::parse(blob.content()) {
            pointers.push((path, entry, blob.content().to_vec(), parsed));
        }
    }
    let paths: Vec<String> = pointers.iter().map(|(path, ..)| path.clone()).collect();
    let attributes = WorkTreeAttributes::load(repo, &index, &paths)?;
    let mut found = Vec::new();
    for (path, entry, content, parsed) in pointers {
        if !attributes.is_lfs(&path) {
            continue;
        }
        // Only replace a file that still holds the pointer: never overwrite a user's edit. The
        // length first, so a file that already holds its content (gigabytes) is not read.
        let file = workdir.join(&path);
        let holds_pointer = fs::metadata(&file)
            .is_ok_and(|meta| meta.len() == content.len() as u64)
            && fs::read(&file).is_ok_and(|current| current == content);
        if !holds_pointer {
            continue;
        }
        // The object of such a pointer holds the extension's output (gzip bytes, say), not the
        // file: refuse before anything is downloaded or written, as git-lfs does without the
        // extension configured. The empty file needs no object at all, extension or not
        // (git-lfs writes it empty too).
        let extension = parsed
            .extensions
            .first()
            .filter(|_| refuse_extensions && parsed.pointer.size > 0);
        if let Some(extension) = extension {
            return Err(LfsError::UnsupportedExtension {
                path,
                extension: extension.name.clone(),
            }
            .into());
        }
        found.push(Candidate {
            path,
            pointer: parsed.pointer,
            blob: entry.id,
            executable: entry.mode == 0o100755,
        });
    }
    Ok(found)
}

/// Copy the object beside the pointer file, then rename it over the pointer in one step.
fn write_from_store(store: &LfsStore, candidate: &Candidate, target: &Path) -> Result<()> {
    let object = store.object_path(&candidate.pointer.oid);
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let temp = target.with_file_name(format!(".{name}.hfgit-smudge"));
    let io = |what: &str, e| HfGitError::io_at(what, target, e);
    if candidate.pointer.size == 0 {
        // The empty file has no object: git-lfs writes it without downloading anything.
        fs::File::create(&temp).map_err(|e| io("writing", e))?;
    } else {
        fs::copy(&object, &temp).map_err(|e| io("writing", e))?;
    }
    if candidate.executable {
        crate::platform::set_executable(&temp).map_err(|e| io("chmod", e))?;
    }
    fs::rename(&temp, target).map_err(|e| {
        let _ = fs::remove_file(&temp);
        io("replacing", e)
    })
}
