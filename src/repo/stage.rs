//! `git add -A` for a commit: one status pass finds what changed, LFS claims its paths, and the
//! remaining files are hashed into blobs on every core.
//!
//! libgit2's `git_index_add_all` does this on one thread and, through the diff machinery it is
//! built on, looks up a file's attributes twice (diff driver, then filter list) before the
//! blob is written; a commit of 10,000 new files spent most of its time there. Here a status
//! pass lists the changes (untracked, modified, deleted, type-changed), and each worker opens
//! its own handle on the repository, because a `git2::Repository` may move between threads but
//! not be shared. A file is stored byte for byte only where no attribute or setting could
//! convert it; otherwise its blob goes through libgit2's filters (`core.autocrlf`, `text`,
//! `ident`), so the content is what `git add` would store either way.

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};

use git2::{Index, IndexEntry, Repository, Status, StatusOptions};

use super::pathspec::Pathspecs;
use crate::error::{HfGitError, Result};
use crate::lfs::attribute_source::WorkTreeAttributes;
use crate::lfs::stage::{index_entry, LfsStaging};
use crate::parallel::{map_in_parallel, Progress};
use crate::progress::{Monitor, Phase};

/// What differs between the index and the work tree under some pathspecs.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct WorkTreeChanges {
    /// New, modified or type-changed paths, in index order.
    pub present: Vec<String>,
    /// Paths the index has and the work tree no longer does.
    pub deleted: Vec<String>,
    /// Present paths with a merge conflict in the index, resolved by staging the file.
    pub conflicted: Vec<String>,
}

/// The changes `git add -A -- <pathspecs>` would stage (ignored files left out).
///
/// Refuses, before anything is staged, what `git add` would not take as asked: a path the
/// pathspecs name literally that `.gitignore` excludes ([`HfGitError::PathIgnored`]), and a
/// directory that is a repository of its own ([`HfGitError::NestedRepository`]), which git would
/// reduce to a gitlink without its files.
pub fn work_tree_changes(repo: &Repository, pathspecs: &Pathspecs) -> Result<WorkTreeChanges> {
    refuse_ignored_literals(repo, pathspecs)?;
    let mut options = StatusOptions::new();
    options
        .show(git2::StatusShow::Workdir)
        .include_untracked(true)
        .recurse_untracked_dirs(true)
        .include_ignored(false)
        .exclude_submodules(true);
    pathspecs.narrow(&mut options);
    let mut changes = WorkTreeChanges::default();
    let mut nested = Vec::new();
    for entry in repo.statuses(Some(&mut options))?.iter() {
        let Ok(path) = entry.path() else { continue };
        if !pathspecs.matches(path.trim_end_matches('/')) {
            continue;
        }
        let flags = entry.status();
        // An untracked directory listed whole is a repository of its own (libgit2 recurses into
        // every other untracked directory).
        if path.ends_with('/') {
            if flags.contains(Status::WT_NEW) {
                nested.push(path.to_owned());
            }
            continue;
        }
        if flags.contains(Status::WT_DELETED) {
            changes.deleted.push(path.to_owned());
        } else if flags.intersects(
            Status::WT_NEW | Status::WT_MODIFIED | Status::WT_TYPECHANGE | Status::CONFLICTED,
        ) {
            changes.present.push(path.to_owned());
            if flags.contains(Status::CONFLICTED) {
                changes.conflicted.push(path.to_owned());
            }
        }
    }
    if !nested.is_empty() {
        return Err(HfGitError::NestedRepository {
            path: repo.workdir().unwrap_or(repo.path()).to_path_buf(),
            paths: nested,
        });
    }
    Ok(changes)
}

/// `git add -- <path>` refuses a path that `.gitignore` excludes and the index does not have.
fn refuse_ignored_literals(repo: &Repository, pathspecs: &Pathspecs) -> Result<()> {
    let Some(workdir) = repo.workdir() else {
        return Ok(());
    };
    let index = repo.index()?;
    let mut ignored = Vec::new();
    for path in pathspecs.literals() {
        let on_disk = fs::symlink_metadata(workdir.join(path)).is_ok();
        let tracked = index.get_path(Path::new(path), 0).is_some()
            || index.find_prefix(Path::new(&format!("{path}/"))).is_ok();
        if on_disk && !tracked && repo.status_should_ignore(Path::new(path))? {
            ignored.push(path.to_owned());
        }
    }
    if ignored.is_empty() {
        Ok(())
    } else {
        Err(HfGitError::PathIgnored { paths: ignored })
    }
}

/// Stage every change under `pathspecs`: LFS paths go to `lfs` (which stages them when it
/// finishes), deleted ones leave the index, the rest become blobs hashed in parallel.
pub fn stage_work_tree(
    repo: &Repository,
    index: &mut Index,
    pathspecs: &Pathspecs,
    lfs: &mut LfsStaging<'_>,
    monitor: &Monitor,
) -> Result<()> {
    let changes = work_tree_changes(repo, pathspecs)?;
    stage_changes(repo, index, changes, &HashMap::new(), lfs, monitor)
}

/// Stage `changes`, reading a path's content from `read_from` where it names a file for it
/// (a snapshot's copy) and from the work tree otherwise.
pub fn stage_changes(
    repo: &Repository,
    index: &mut Index,
    changes: WorkTreeChanges,
    read_from: &HashMap<String, PathBuf>,
    lfs: &mut LfsStaging<'_>,
    monitor: &Monitor,
) -> Result<()> {
    for path in &changes.deleted {
        index.remove_path(Path::new(path))?;
    }
    for path in &changes.conflicted {
        index.conflict_remove(Path::new(path))?;
    }
    let attributes = WorkTreeAttributes::load(repo, index, &changes.present)?;
    let plain: Vec<PlainFile> = changes
        .present
        .into_iter()
        .filter(|path| !lfs.claims(Path::new(path), &attributes))
        .map(|path| PlainFile {
            unfiltered: attributes.stores_bytes_unchanged(&path),
            source: read_from.get(&path).cloned(),
            path,
        })
        .collect();
    lfs.note_plain(plain.iter().map(|file| file.path.clone()));
    let mut entries = hash_in_parallel(repo, &plain, monitor)?;
    entries.sort_by(|a, b| a.path.cmp(&b.path));
    for entry in &entries {
        index.add(entry)?;
    }
    Ok(())
}

/// Below this many files per thread, a second thread costs more than it saves.
const FILES_PER_WORKER: usize = 64;

/// A work-tree file that becomes a plain git blob.
struct PlainFile {
    /// Relative to the work tree.
    path: String,
    /// No checkin filter applies: the blob is the file's bytes.
    unfiltered: bool,
    /// The file that holds the content when it is not the work-tree file (a snapshot's copy).
    source: Option<PathBuf>,
}

/// Write a blob for each file and return the index entries.
fn hash_in_parallel(
    repo: &Repository,
    paths: &[PlainFile],
    monitor: &Monitor,
) -> Result<Vec<IndexEntry>> {
    let git_dir = repo.path();
    let workdir = repo.workdir().ok_or_else(|| HfGitError::NotARepository {
        path: git_dir.to_path_buf(),
    })?;
    let progress = Progress {
        monitor,
        phase: Phase::Staging,
    };
    map_in_parallel(
        paths,
        FILES_PER_WORKER,
        &progress,
        || Ok(Repository::open(git_dir)?),
        |handle, file| stage_one(handle, workdir, file),
        |entry| u64::from(entry.file_size),
    )
}

/// The blob and index entry of one work-tree path; the stat data is taken before the content
/// is read, so a file that changes meanwhile looks modified to the next status, never clean.
fn stage_one(repo: &Repository, workdir: &Path, file: &PlainFile) -> Result<IndexEntry> {
    let path = file.path.as_str();
    let full = file.source.clone().unwrap_or_else(|| workdir.join(path));
    let meta = fs::symlink_metadata(&full).map_err(|e| HfGitError::io_at("reading", &full, e))?;
    if meta.file_type().is_symlink() {
        let target =
            fs::read_link(&full).map_err(|e| HfGitError::io_at("reading the link", &full, e))?;
        let blob = repo
            .blob(target.as_os_str().as_encoded_bytes())
            .map_err(|e| object_write_error(repo, e, &full))?;
        let mut entry = index_entry(path, &meta, blob);
        entry.mode = 0o120000;
        return Ok(entry);
    }
    let blob = if file.unfiltered {
        // At most HUB_TEXT_LIMIT bytes: anything larger was claimed by LFS.
        let content = fs::read(&full).map_err(|e| HfGitError::io_at("reading", &full, e))?;
        repo.blob(&content)
            .map_err(|e| object_write_error(repo, e, &full))?
    } else if file.source.is_some() {
        filtered_blob(repo, &full, Path::new(path))?
    } else {
        repo.blob_path(&full)
            .map_err(|e| object_write_error(repo, e, &full))?
    };
    Ok(index_entry(path, &meta, blob))
}

/// The blob of `source`'s bytes after the checkin filters that apply to the work-tree path `as_path`.
pub(crate) fn filtered_blob(repo: &Repository, source: &Path, as_path: &Path) -> Result<git2::Oid> {
    let mut file = fs::File::open(source).map_err(|e| HfGitError::io_at("reading", source, e))?;
    let mut writer = repo.blob_writer(Some(as_path))?;
    std::io::copy(&mut file, &mut writer).map_err(|e| HfGitError::io_at("reading", source, e))?;
    writer
        .commit()
        .map_err(|e| object_write_error(repo, e, source))
}

/// libgit2 reports a failed loose-object write (a full disk, a read-only `.git`) with no message
/// of its own ("no error"), and errno is gone by the time it returns. So the object directory is
/// asked directly: a probe file there gives the real OS error, and a probe that fits while the
/// object did not means the disk has less room than the file needs.
fn object_write_error(repo: &Repository, error: git2::Error, path: &Path) -> HfGitError {
    if error.class() != git2::ErrorClass::None && error.message() != "no error" {
        return error.into();
    }
    let objects = repo.commondir().join("objects");
    let probe = objects.join(format!(".hfgit-probe-{}", std::process::id()));
    let written = fs::File::create(&probe).and_then(|mut file| {
        use std::io::Write;
        file.write_all(&[0; 4096])?;
        file.sync_all()
    });
    let _ = fs::remove_file(&probe);
    let cause = match written {
        Err(cause) => cause,
        Ok(()) => {
            let needed = fs::metadata(path).map(|meta| meta.len()).unwrap_or(0);
            match crate::platform::free_space(&objects) {
                Some(free) if free < needed => std::io::Error::from_raw_os_error(libc::ENOSPC),
                _ => return error.into(),
            }
        }
    };
    HfGitError::io_at("storing the git object of", path, cause)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn repo_with_commit() -> (tempfile::TempDir, Repository) {
        let tmp = tempfile::tempdir().unwrap();
        let repo = Repository::init(tmp.path()).unwrap();
        fs::write(tmp.path().join("kept.txt"), "kept\n").unwrap();
        fs::write(tmp.path().join("gone.txt"), "gone\n").unwrap();
        fs::write(tmp.path().join("edited.txt"), "before\n").unwrap();
        let mut index = repo.index().unwrap();
        for name in ["kept.txt", "gone.txt", "edited.txt"] {
            index.add_path(Path::new(name)).unwrap();
        }
        index.write().unwrap();
        (tmp, repo)
    }

    #[test]
    fn changes_list_new_edited_and_deleted_files_but_not_ignored_ones() {
        let (tmp, repo) = repo_with_commit();
        fs::remove_file(tmp.path().join("gone.txt")).unwrap();
        fs::write(tmp.path().join("edited.txt"), "after, longer\n").unwrap();
        fs::create_dir(tmp.path().join("sub")).unwrap();
        fs::write(tmp.path().join("sub/new.txt"), "new\n").unwrap();
        fs::write(tmp.path().join(".gitignore"), "*.log\n").unwrap();
        fs::write(tmp.path().join("noise.log"), "ignored\n").unwrap();

        let changes = work_tree_changes(&repo, &Pathspecs::everything()).unwrap();

        assert_eq!(changes.deleted, ["gone.txt"]);
        assert_eq!(changes.present, [".gitignore", "edited.txt", "sub/new.txt"]);
    }

    #[test]
    fn changes_stay_inside_the_pathspecs() {
        let (tmp, repo) = repo_with_commit();
        fs::create_dir(tmp.path().join("sub")).unwrap();
        fs::write(tmp.path().join("sub/new.txt"), "new\n").unwrap();
        fs::write(tmp.path().join("top.txt"), "top\n").unwrap();

        let index = repo.index().unwrap();
        let specs = Pathspecs::new(tmp.path(), &index, &["sub".into()]).unwrap();
        let changes = work_tree_changes(&repo, &specs).unwrap();

        assert_eq!(changes.present, ["sub/new.txt"]);
    }

    #[test]
    fn staging_a_conflicted_file_resolves_the_conflict() {
        let (tmp, repo) = repo_with_commit();
        let mut index = repo.index().unwrap();
        let blob = repo.blob(b"side\n").unwrap();
        let meta = fs::metadata(tmp.path().join("kept.txt")).unwrap();
        for stage in 1..=3u16 {
            let mut entry = index_entry("c.txt", &meta, blob);
            entry.flags |= stage << 12;
            index.add(&entry).unwrap();
        }
        fs::write(tmp.path().join("c.txt"), "resolved\n").unwrap();
        let mut lfs = LfsStaging::new(&repo, tmp.path(), false);

        stage_work_tree(
            &repo,
            &mut index,
            &Pathspecs::everything(),
            &mut lfs,
            &Monitor::default(),
        )
        .unwrap();

        assert!(!index.has_conflicts());
        let staged = index.get_path(Path::new("c.txt"), 0).unwrap();
        assert_eq!(repo.find_blob(staged.id).unwrap().content(), b"resolved\n");
    }

    #[test]
    fn staged_blobs_match_what_libgit2_add_path_stores_including_symlinks() {
        let (tmp, repo) = repo_with_commit();
        let names: Vec<String> = (0..300).map(|i| format!("d{}/f{i}.txt", i % 7)).collect();
        for (i, name) in names.iter().enumerate() {
            let full = tmp.path().join(name);
            fs::create_dir_all(full.parent().unwrap()).unwrap();
            fs::write(full, format!("file {i}\n").repeat(i)).unwrap();
        }
        std::os::unix::fs::symlink("d0/f0.txt", tmp.path().join("link")).unwrap();
        let mut paths = names.clone();
        paths.push("link".to_owned());
        let files: Vec<PlainFile> = paths
            .iter()
            .enumerate()
            .map(|(i, path)| PlainFile {
                path: path.clone(),
                unfiltered: i % 2 == 0,
                source: None,
            })
            .collect();

        let entries = hash_in_parallel(&repo, &files, &Monitor::default()).unwrap();

        let mut reference = repo.index().unwrap();
        for path in &paths {
            reference.add_path(Path::new(path)).unwrap();
        }
        assert_eq!(entries.len(), paths.len());
        for entry in entries {
            let path = String::from_utf8(entry.path.clone()).unwrap();
            let expected = reference.get_path(Path::new(&path), 0).unwrap();
            assert_eq!(
                (entry.id, entry.mode),
                (expected.id, expected.mode),
                "{path}"
            );
            assert_eq!(entry.file_size, expected.file_size, "{path}");
        }
    }
}
