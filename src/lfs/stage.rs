//! Staging with Git LFS: what `git add` does when git-lfs's clean filter is installed.
//!
//! libgit2 runs no LFS filter, so left alone it would store a multi-GB checkpoint as one git blob
//! (and the Hub would refuse the push). The commit's staging asks [`LfsStaging::claims`] about
//! every changed path first: paths that `.gitattributes` sends to LFS, and files too big or too
//! binary for the Hub's plain-git rules, are kept from libgit2 and staged here instead, as
//! pointer blobs whose index entries carry the working file's stat data, so both `git status`
//! (with git-lfs) and libgit2 see a clean tree afterwards. Files are hashed in parallel, each read
//! once while it is copied into the LFS store.

use std::collections::{BTreeSet, HashMap};
use std::fs::{self, Metadata};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use git2::{Index, IndexEntry, IndexTime, Repository};

use super::attribute_source::WorkTreeAttributes;
use super::clean::{clean_into_store, converted_blob_id, CleanedFile};
use super::refresh::stale_lfs_entries;
use super::{track_line, LfsStore};
use crate::error::{HfGitError, Result};
use crate::parallel::{map_in_parallel, Progress};
use crate::platform::{MetadataExt, PermissionsExt};
use crate::progress::{Monitor, Phase};
use crate::repo::pathspec::Pathspecs;

/// The Hub refuses plain-git blobs of this size or more (hub-protocol.md §7).
pub const HUB_TEXT_LIMIT: u64 = 10 * 1024 * 1024;
/// ... and binary blobs above this size.
pub const HUB_BINARY_LIMIT: u64 = 1_000_000;
/// How much of a file is read to decide whether it is binary.
const BINARY_SNIFF_BYTES: usize = 8000;

pub struct LfsStaging<'r> {
    repo: &'r Repository,
    workdir: PathBuf,
    auto_track: bool,
    tracked: BTreeSet<String>,
    too_big_for_git: BTreeSet<String>,
    refreshed: Vec<String>,
    /// Changed paths staged as plain blobs, which a new track line may send to LFS after all.
    plain: Vec<String>,
    newest_mtime: Option<std::time::SystemTime>,
    /// Where to read a path's content when not from the work tree (a snapshot's copy).
    read_from: HashMap<String, PathBuf>,
    /// Paths whose `read_from` file may itself become the stored object.
    adoptable: BTreeSet<String>,
}

/// What staging did with LFS files.
#[derive(Debug, Default, Clone)]
pub struct StagedLfs {
    /// Paths stored as pointers in this commit.
    pub paths: Vec<String>,
    /// Paths that auto-tracking added to `.gitattributes`.
    pub auto_tracked: Vec<String>,
    /// The `.gitattributes` files auto-tracking changed (and staged).
    pub attribute_files: Vec<String>,
    /// The newest modification time among the cleaned files (see [`super::racy`]).
    pub newest_mtime: Option<std::time::SystemTime>,
}

impl<'r> LfsStaging<'r> {
    pub fn new(repo: &'r Repository, workdir: &Path, auto_track: bool) -> Self {
        Self {
            repo,
            workdir: workdir.to_path_buf(),
            auto_track,
            tracked: BTreeSet::new(),
            too_big_for_git: BTreeSet::new(),
            refreshed: Vec::new(),
            plain: Vec::new(),
            newest_mtime: None,
            read_from: HashMap::new(),
            adoptable: BTreeSet::new(),
        }
    }

    /// Read these paths' content from the given files instead of the work tree; those of
    /// `adoptable` that go to LFS are moved into the store rather than copied (nothing else
    /// reaches those files: see [`LfsStore::adopt_file`]).
    pub fn read_from(&mut self, sources: HashMap<String, PathBuf>, adoptable: BTreeSet<String>) {
        self.read_from = sources;
        self.adoptable = adoptable;
    }

    /// The file that holds `path`'s content.
    fn source(&self, path: &str) -> PathBuf {
        self.read_from
            .get(path)
            .cloned()
            .unwrap_or_else(|| self.workdir.join(path))
    }

    /// Whether LFS takes `path` (relative to the work tree): tracked by `.gitattributes`, or a
    /// file the Hub would refuse as a plain blob. Claimed paths are staged by [`Self::finish`].
    pub fn claims(&mut self, path: &Path, attributes: &WorkTreeAttributes<'_>) -> bool {
        let Some(relative) = path.to_str() else {
            return false;
        };
        let source = self.source(relative);
        let Ok(meta) = fs::symlink_metadata(&source) else {
            return false;
        };
        if !meta.is_file() {
            return false;
        }
        if attributes.is_lfs(relative) {
            self.tracked.insert(relative.to_owned());
            return true;
        }
        if breaks_hub_size_rules(&source, meta.len()) {
            self.too_big_for_git.insert(relative.to_owned());
            return true;
        }
        false
    }

    /// Changed paths the caller stages as plain blobs (see [`Self::finish`]).
    pub fn note_plain(&mut self, paths: impl IntoIterator<Item = String>) {
        self.plain.extend(paths);
    }

    /// Before libgit2 looks: clean the LFS files under `pathspecs` that changed on disk since
    /// the index recorded them, so libgit2 finds matching stat data and never hashes them itself
    /// (see [`super::refresh`]). Returns whether any was staged: the caller should then write the
    /// index (after the newest of these files, [`Self::newest_mtime`]), so libgit2's own look at
    /// the work tree finds them clean instead of racy, which would mean hashing them again.
    pub fn stage_changed_lfs_files(
        &mut self,
        index: &mut Index,
        pathspecs: &Pathspecs,
        monitor: &Monitor,
    ) -> Result<bool> {
        let stale = stale_lfs_entries(self.repo, index, &self.workdir, &|path| {
            pathspecs.matches(path)
        })?;
        let paths: Vec<String> = stale.into_iter().map(|entry| entry.path).collect();
        if paths.is_empty() {
            return Ok(false);
        }
        self.stage_cleaned(index, &paths, monitor)?;
        self.refreshed = paths;
        Ok(true)
    }

    /// The newest modification time among the files cleaned so far.
    pub fn newest_mtime(&self) -> Option<std::time::SystemTime> {
        self.newest_mtime
    }

    fn stage_cleaned(
        &mut self,
        index: &mut Index,
        paths: &[String],
        monitor: &Monitor,
    ) -> Result<()> {
        let store = LfsStore::for_repository(self.repo);
        let sourced: Vec<Source> = paths
            .iter()
            .map(|path| Source {
                path: path.clone(),
                file: self.source(path),
                adopt: self.adoptable.contains(path),
            })
            .collect();
        let cleaned = clean_in_parallel(&store, &sourced, monitor)?;
        let passed_through: Vec<String> = cleaned
            .iter()
            .filter(|(_, file)| file.passed_through)
            .map(|(path, _)| path.clone())
            .collect();
        let attributes = if passed_through.is_empty() {
            None
        } else {
            Some(WorkTreeAttributes::load(self.repo, index, &passed_through)?)
        };
        for (path, file) in cleaned {
            self.newest_mtime = self.newest_mtime.max(file.meta.modified().ok());
            let converts = file.passed_through
                && attributes
                    .as_ref()
                    .is_some_and(|a| !a.stores_bytes_unchanged(&path));
            let blob = if converts {
                match self.read_from.get(&path) {
                    Some(copy) => crate::repo::filtered_blob(self.repo, copy, Path::new(&path))?,
                    None => converted_blob_id(self.repo, &self.workdir.join(&path))?,
                }
            } else {
                self.repo.blob(&file.blob)?
            };
            index.add(&index_entry(&path, &file.meta, blob))?;
        }
        Ok(())
    }

    /// Auto-track what needs it, clean every LFS path into the store, and stage the pointers.
    pub fn finish(mut self, index: &mut Index, monitor: &Monitor) -> Result<StagedLfs> {
        let mut tracked = std::mem::take(&mut self.tracked);
        let mut attribute_files = Vec::new();
        let auto_tracked: Vec<String> = std::mem::take(&mut self.too_big_for_git)
            .into_iter()
            .collect();
        if !auto_tracked.is_empty() {
            if !self.auto_track {
                return Err(HfGitError::LfsUntracked {
                    paths: auto_tracked,
                });
            }
            attribute_files = self.track(index, &auto_tracked)?;
            tracked.extend(auto_tracked.iter().cloned());
            // A track line without `/` matches that name in every directory (as `git lfs track`
            // writes it): other files of this commit that it now covers go to LFS too.
            let plain = std::mem::take(&mut self.plain);
            let attributes = WorkTreeAttributes::load(self.repo, index, &plain)?;
            let regular_file = |path: &String| {
                fs::symlink_metadata(self.source(path)).is_ok_and(|meta| meta.is_file())
            };
            tracked.extend(
                plain
                    .into_iter()
                    .filter(|path| attributes.is_lfs(path) && regular_file(path)),
            );
        }
        let mut paths: Vec<String> = tracked.into_iter().collect();
        self.stage_cleaned(index, &paths, monitor)?;
        paths.append(&mut self.refreshed);
        paths.sort();
        Ok(StagedLfs {
            paths,
            auto_tracked,
            attribute_files,
            newest_mtime: self.newest_mtime,
        })
    }

    /// Track `paths` in `.gitattributes` (at the top, like `git lfs track`), and stage the files
    /// that changed. Where a deeper `.gitattributes` overrides the top one for a path (`* -filter`
    /// in its directory), the line goes to the deepest `.gitattributes` above that path instead,
    /// where the last line wins: otherwise git would store the file as a plain blob while this
    /// commit stored a pointer.
    fn track(&self, index: &mut Index, paths: &[String]) -> Result<Vec<String>> {
        append_track_lines(&self.workdir, "", paths)?;
        let mut changed = vec![".gitattributes".to_owned()];
        let attributes = WorkTreeAttributes::load(self.repo, index, paths)?;
        for path in paths.iter().filter(|path| !attributes.is_lfs(path)) {
            let Some(dir) = deepest_attributes_dir(&self.workdir, path) else {
                continue;
            };
            let relative = path.strip_prefix(&format!("{dir}/")).unwrap_or(path);
            append_track_lines(&self.workdir, &dir, &[relative.to_owned()])?;
            changed.push(format!("{dir}/.gitattributes"));
        }
        changed.sort();
        changed.dedup();
        for file in &changed {
            index.add_path(Path::new(file))?;
        }
        Ok(changed)
    }
}

/// The deepest directory above `path` (not the top) that has a `.gitattributes` of its own.
fn deepest_attributes_dir(workdir: &Path, path: &str) -> Option<String> {
    let mut dir = Path::new(path).parent();
    while let Some(candidate) = dir.filter(|d| !d.as_os_str().is_empty()) {
        if workdir.join(candidate).join(".gitattributes").is_file() {
            return Some(candidate.to_string_lossy().into_owned());
        }
        dir = candidate.parent();
    }
    None
}

/// Would the Hub refuse this file as a plain git blob?
fn breaks_hub_size_rules(path: &Path, size: u64) -> bool {
    size >= HUB_TEXT_LIMIT || (size > HUB_BINARY_LIMIT && looks_binary(path))
}

/// git's own heuristic: a NUL byte near the start means binary.
fn looks_binary(path: &Path) -> bool {
    let mut head = vec![0u8; BINARY_SNIFF_BYTES];
    let Ok(mut file) = fs::File::open(path) else {
        return false;
    };
    let mut filled = 0;
    while filled < head.len() {
        match file.read(&mut head[filled..]) {
            Ok(0) | Err(_) => break,
            Ok(n) => filled += n,
        }
    }
    head[..filled].contains(&0)
}

fn append_track_lines(workdir: &Path, dir: &str, paths: &[String]) -> Result<()> {
    let attributes = workdir.join(dir).join(".gitattributes");
    let existing = fs::read(&attributes).unwrap_or_default();
    let mut file = fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&attributes)
        .map_err(|e| HfGitError::io_at("opening", &attributes, e))?;
    let mut text = String::new();
    if !existing.is_empty() && !existing.ends_with(b"\n") {
        text.push('\n');
    }
    for path in paths {
        text.push_str(&track_line(path));
        text.push('\n');
    }
    file.write_all(text.as_bytes())
        .map_err(|e| HfGitError::io_at("writing", &attributes, e))
}

type Cleaned = (String, CleanedFile);

/// A path to clean, and the file that holds its content.
struct Source {
    path: String,
    file: PathBuf,
    /// `file` may itself become the stored object.
    adopt: bool,
}

/// Hash and store `paths` on up to one thread per core; the slowest file sets the pace.
fn clean_in_parallel(
    store: &LfsStore,
    paths: &[Source],
    monitor: &Monitor,
) -> Result<Vec<Cleaned>> {
    let progress = Progress {
        monitor,
        phase: Phase::LfsClean,
    };
    map_in_parallel(
        paths,
        1,
        &progress,
        || Ok(()),
        |(), source| {
            let cleaned = clean_into_store(store, &source.file, source.adopt)?;
            Ok((source.path.clone(), cleaned))
        },
        |(_, cleaned)| cleaned.content_size,
    )
}

/// The index entry git would write for a cleaned file: the pointer blob, the file's stat data.
pub(crate) fn index_entry(path: &str, meta: &Metadata, blob: git2::Oid) -> IndexEntry {
    let executable = meta.permissions().mode() & 0o111 != 0;
    let time = |secs: i64, nanos: i64| IndexTime::new(secs as i32, nanos as u32);
    IndexEntry {
        ctime: time(meta.ctime(), meta.ctime_nsec()),
        mtime: time(meta.mtime(), meta.mtime_nsec()),
        dev: meta.dev() as u32,
        ino: meta.ino() as u32,
        mode: if executable { 0o100755 } else { 0o100644 },
        uid: meta.uid(),
        gid: meta.gid(),
        file_size: meta.len() as u32,
        id: blob,
        flags: path.len().min(0xfff) as u16,
        flags_extended: 0,
        path: path.as_bytes().to_vec(),
    }
}
