//! The local LFS object store: `.git/lfs/objects/<aa>/<bb>/<oid>`, staged through `.git/lfs/tmp/`.
//!
//! The layout is git-lfs's own, so a clone made by hfgit works with `git lfs` and the other way round.
//! Two promises matter more than speed here, because a wrong object is silently pushed to the Hub or
//! checked out into a user's model:
//!
//! - an object only ever appears under its final name complete and verified: bytes are written to a
//!   temp file in `tmp/` (same file system) and renamed into place in one step;
//! - the oid describes exactly the bytes stored: cleaning reads the file once, hashing and copying
//!   the same buffer, and refuses the result if the file changed while it was being read.
//!
//! Where the file system can share blocks (see [`super::reflink`]), cleaning makes the copy a
//! clone of the file instead, which costs no second copy of the data, and hashes the clone: the
//! oid then still describes exactly the bytes stored, and the file's stat data, compared before
//! and after the clone, refuses the result if the file changed meanwhile, as with a copy.
//!
//! Files are streamed through a 1 MiB buffer, never held whole in memory. SHA-256 comes from the
//! `sha2` crate, which picks the CPU's SHA instructions at run time when they exist.

use std::fs::{self, File, Metadata, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::time::{SystemTime, UNIX_EPOCH};

use sha2::{Digest, Sha256};

use super::error::{LfsError, LfsResult};
use super::pointer::{Oid256, Pointer};
use super::reflink;

const BUFFER_SIZE: usize = 1 << 20;

/// The `lfs/` directory of one repository.
#[derive(Clone, Debug)]
pub struct LfsStore {
    root: PathBuf,
}

impl LfsStore {
    /// The store of the repository whose git directory (usually `<work tree>/.git`) is `git_dir`.
    /// Nothing is created until an object is stored.
    pub fn new(git_dir: &Path) -> Self {
        Self {
            root: git_dir.join("lfs"),
        }
    }

    /// The store of `repo`. It lives in the common git directory, so the main work tree and every
    /// linked worktree (`git worktree add`) share one store, where git-lfs looks for objects too.
    ///
    /// Opening it sweeps [`Self::tmp_dir`] of what killed processes left (see
    /// [`Self::sweep_temp_files`]), so a training job that is OOM-killed mid-commit does not leak
    /// a checkpoint's worth of disk each time.
    pub fn for_repository(repo: &git2::Repository) -> Self {
        let store = Self::new(repo.commondir());
        store.sweep_temp_files();
        store
    }

    /// Remove temp files whose process is gone, and any older than an hour (git-lfs sweeps its
    /// `tmp` after an hour too). A file of this process, or of a live one that wrote it within the
    /// hour, is in use and kept. Temp names start with the writing process's id.
    pub fn sweep_temp_files(&self) {
        const STALE_AFTER: std::time::Duration = std::time::Duration::from_secs(3600);
        let Ok(entries) = fs::read_dir(self.tmp_dir()) else {
            return;
        };
        let me = std::process::id();
        for entry in entries.flatten() {
            let name = entry.file_name();
            let owner = name
                .to_string_lossy()
                .split('-')
                .next()
                .and_then(|pid| pid.parse::<u32>().ok());
            if owner == Some(me) {
                continue;
            }
            let stale = entry
                .metadata()
                .and_then(|meta| meta.modified())
                .ok()
                .and_then(|modified| modified.elapsed().ok())
                .is_some_and(|age| age > STALE_AFTER);
            let orphaned = owner.is_some_and(|pid| !process_is_alive(pid));
            if stale || orphaned {
                let _ = fs::remove_file(entry.path());
            }
        }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Where partial files live until they are verified and renamed into place.
    pub fn tmp_dir(&self) -> PathBuf {
        self.root.join("tmp")
    }

    pub fn object_path(&self, oid: &Oid256) -> PathBuf {
        let hex = oid.to_hex();
        self.root
            .join("objects")
            .join(&hex[0..2])
            .join(&hex[2..4])
            .join(&hex)
    }

    /// Whether the object is stored with the expected length. The empty object is always present:
    /// its pointer is the empty file, so it never needs a file of its own.
    pub fn contains(&self, oid: &Oid256, size: u64) -> bool {
        if size == 0 && *oid == Oid256::EMPTY {
            return true;
        }
        fs::metadata(self.object_path(oid)).is_ok_and(|meta| meta.is_file() && meta.len() == size)
    }

    /// Where downloads in ranges keep their parts between runs (git-lfs resumes downloads from
    /// the same directory). Never swept: a partial download is resumed, or replaced by the next
    /// download of its object.
    pub fn incomplete_dir(&self) -> PathBuf {
        self.root.join("incomplete")
    }

    /// A new, empty file in [`Self::tmp_dir`] for a download to write into before
    /// [`Self::insert_verified`]; being on the store's file system, it can be renamed into place.
    pub fn create_temp(&self) -> LfsResult<(File, PathBuf)> {
        let (file, temp) = self.new_temp()?;
        Ok((file, temp.keep()))
    }

    /// Store a work-tree file as an LFS object and return its pointer, like `git lfs clean`.
    pub fn clean_file(&self, path: &Path) -> LfsResult<Pointer> {
        self.clean_file_with_stat(path).map(|(pointer, _)| pointer)
    }

    /// [`Self::clean_file`], also returning the stat data of the very file that was hashed, for
    /// the index entry: the look at the open handle that was found unchanged since it was opened,
    /// right after the bytes were read (or cloned). A later look could describe a newer file (one
    /// that replaced it, or the same one written to since), and the index would then call that
    /// one clean.
    pub fn clean_file_with_stat(&self, path: &Path) -> LfsResult<(Pointer, Metadata)> {
        let (mut file, before) = open_for_hashing(path)?;
        self.clean_open_file(&mut file, path, &before)
    }

    /// Store the file at `path` by moving it into place instead of copying it, for a file that
    /// nothing else can reach any more: a snapshot's only name for a checkpoint the training loop
    /// has since replaced or deleted (see `repo::snapshot`). It is hashed first and refused, like
    /// [`Self::clean_file_with_stat`], if it changed while it was read; where it cannot be renamed
    /// (another file system) it is copied. An object already stored leaves `path` in place.
    pub fn adopt_file(&self, path: &Path) -> LfsResult<(Pointer, Metadata)> {
        let (mut file, before) = open_for_hashing(path)?;
        let (pointer, hashed) = hash_open_file(&mut file, path, &before, None)?;
        drop(file);
        if self.contains(&pointer.oid, pointer.size) {
            return Ok((pointer, hashed));
        }
        let target = self.object_path(&pointer.oid);
        if let Some(parent) = target.parent() {
            fs::create_dir_all(parent).map_err(|err| LfsError::io_at("creating", parent, err))?;
        }
        if fs::rename(path, &target).is_ok() {
            return Ok((pointer, hashed));
        }
        self.clean_file_with_stat(path)
    }

    /// Check a received file against `expected` and move it into place. The file at `temp` is used
    /// up either way: renamed on success, deleted when it does not match or cannot be read.
    pub fn insert_verified(&self, temp: &Path, expected: &Pointer) -> LfsResult<()> {
        let temp = TempPath::new(temp.to_path_buf());
        let actual = hash_file(temp.path(), None)?;
        if actual != *expected {
            return Err(LfsError::ObjectMismatch {
                expected: *expected,
                actual_oid: actual.oid,
                actual_size: actual.size,
            });
        }
        self.place(temp, expected)
    }

    /// Move a received file into place when `received` (its hash and length, taken while it was
    /// written) is what `expected` promises; otherwise delete it and report the mismatch. The
    /// file at `temp` is used up either way.
    pub fn insert_hashed(
        &self,
        temp: &Path,
        expected: &Pointer,
        received: &Pointer,
    ) -> LfsResult<()> {
        let temp = TempPath::new(temp.to_path_buf());
        if received != expected {
            return Err(LfsError::ObjectMismatch {
                expected: *expected,
                actual_oid: received.oid,
                actual_size: received.size,
            });
        }
        self.place(temp, expected)
    }

    /// Store the object a pushed pointer names again from a work-tree file that holds it (the
    /// store's copy was pruned): `Ok(true)` once it is in place, `Ok(false)` when the file is
    /// missing, changed while it was read, or does not hash to `expected` (nothing is stored then).
    pub fn restore_from(&self, path: &Path, expected: &Pointer) -> LfsResult<bool> {
        if self.contains(&expected.oid, expected.size) {
            return Ok(true);
        }
        let (mut file, before) = match open_for_hashing(path) {
            Ok(opened) => opened,
            Err(LfsError::Io { source, .. }) if source.kind() == io::ErrorKind::NotFound => {
                return Ok(false);
            }
            Err(err) => return Err(err),
        };
        if !before.is_file() || before.len() != expected.size {
            return Ok(false);
        }
        match self.hash_into_temp(&mut file, path, &before) {
            Ok((pointer, temp, _)) if pointer == *expected => {
                self.place(temp, &pointer)?;
                Ok(true)
            }
            Ok(_) | Err(LfsError::FileChanged { .. }) => Ok(false),
            Err(err) => Err(err),
        }
    }

    fn clean_open_file(
        &self,
        file: &mut File,
        path: &Path,
        before: &Metadata,
    ) -> LfsResult<(Pointer, Metadata)> {
        let (pointer, temp, hashed) = self.hash_into_temp(file, path, before)?;
        self.place(temp, &pointer)?;
        Ok((pointer, hashed))
    }

    /// A temp file holding `file`'s bytes, their pointer, and the file's stat data that was found
    /// unchanged since `before`. A clone where the file system can share blocks (the clone is
    /// hashed, once the file is seen not to have changed while it was cloned), else a copy written
    /// while the file is hashed.
    fn hash_into_temp(
        &self,
        file: &mut File,
        path: &Path,
        before: &Metadata,
    ) -> LfsResult<(Pointer, TempPath, Metadata)> {
        let (mut copy, temp) = self.new_temp()?;
        if reflink::clone_into(file, &copy, temp.path()).is_ok() {
            drop(copy);
            let after = file
                .metadata()
                .map_err(|err| LfsError::io_at("reading metadata of", path, err))?;
            if changed(before, &after) {
                return Err(LfsError::FileChanged {
                    path: path.to_path_buf(),
                });
            }
            let (mut clone, cloned) = open_for_hashing(temp.path())?;
            let (pointer, _) = hash_open_file(&mut clone, temp.path(), &cloned, None)?;
            if pointer.size != before.len() {
                return Err(LfsError::FileChanged {
                    path: path.to_path_buf(),
                });
            }
            return Ok((pointer, temp, after));
        }
        let (pointer, after) = hash_open_file(file, path, before, Some((&mut copy, temp.path())))?;
        drop(copy);
        Ok((pointer, temp, after))
    }

    fn new_temp(&self) -> LfsResult<(File, TempPath)> {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let dir = self.tmp_dir();
        fs::create_dir_all(&dir).map_err(|err| LfsError::io_at("creating", &dir, err))?;
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |elapsed| elapsed.subsec_nanos());
        loop {
            let count = COUNTER.fetch_add(1, Ordering::Relaxed);
            let path = dir.join(format!("{}-{nanos:08x}-{count}.tmp", std::process::id()));
            match OpenOptions::new().write(true).create_new(true).open(&path) {
                Ok(file) => return Ok((file, TempPath::new(path))),
                Err(err) if err.kind() == io::ErrorKind::AlreadyExists => {}
                Err(err) => {
                    return Err(LfsError::io_at("creating", &path, err));
                }
            }
        }
    }

    /// Rename a verified temp file to the object's name, unless an intact copy is already there.
    fn place(&self, temp: TempPath, pointer: &Pointer) -> LfsResult<()> {
        if self.contains(&pointer.oid, pointer.size) {
            return Ok(());
        }
        let target = self.object_path(&pointer.oid);
        if let Some(parent) = target.parent() {
            fs::create_dir_all(parent).map_err(|err| LfsError::io_at("creating", parent, err))?;
        }
        let first_try = fs::rename(temp.path(), &target);
        if first_try.is_ok() {
            temp.keep();
            return Ok(());
        }
        if self.contains(&pointer.oid, pointer.size) {
            // Another process stored the same object first.
            return Ok(());
        }
        // A damaged copy (which Windows will not rename over), or a temp file on another file
        // system: clear the way and go through a temp file of our own.
        let _ = fs::remove_file(&target);
        let (_, staged) = self.new_temp()?;
        fs::copy(temp.path(), staged.path())
            .map_err(|err| LfsError::io_at("copying", temp.path(), err))?;
        fs::rename(staged.path(), &target)
            .map_err(|err| LfsError::io_at("moving an object to", &target, err))?;
        staged.keep();
        Ok(())
    }
}

/// Whether a process with this id exists (a process of another user counts as alive).
#[cfg(unix)]
pub(crate) fn process_is_alive(pid: u32) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return false;
    };
    // SAFETY: signal 0 only checks that the process exists and may be signalled.
    let answer = unsafe { libc::kill(pid, 0) };
    answer == 0 || io::Error::last_os_error().raw_os_error() != Some(libc::ESRCH)
}

#[cfg(not(unix))]
pub(crate) fn process_is_alive(_pid: u32) -> bool {
    true
}

/// SHA-256 and length of a file, streamed, without storing it.
pub fn sha256_file(path: &Path) -> LfsResult<(Oid256, u64)> {
    let pointer = hash_file(path, None)?;
    Ok((pointer.oid, pointer.size))
}

fn open_for_hashing(path: &Path) -> LfsResult<(File, Metadata)> {
    let file = File::open(path).map_err(|err| LfsError::io_at("opening", path, err))?;
    let before = file
        .metadata()
        .map_err(|err| LfsError::io_at("reading metadata of", path, err))?;
    Ok((file, before))
}

fn hash_file(path: &Path, copy: Option<(&mut File, &Path)>) -> LfsResult<Pointer> {
    let (mut file, before) = open_for_hashing(path)?;
    hash_open_file(&mut file, path, &before, copy).map(|(pointer, _)| pointer)
}

/// Read `file` to the end once, hashing every byte and copying it to `copy` if given; fail with
/// [`LfsError::FileChanged`] if its length or modification time moved since `before` was taken.
/// Also returns the stat data taken right after the read, which matched `before`.
fn hash_open_file(
    file: &mut File,
    path: &Path,
    before: &Metadata,
    copy: Option<(&mut File, &Path)>,
) -> LfsResult<(Pointer, Metadata)> {
    let (digest, total) = match copy {
        None => hash_stream(file, path, |chunk| Ok(Some(chunk)))?,
        Some((out, out_path)) => hash_and_copy(file, path, out, out_path)?,
    };
    let after = file
        .metadata()
        .map_err(|err| LfsError::io_at("reading metadata of", path, err))?;
    if total != before.len() || changed(before, &after) {
        return Err(LfsError::FileChanged {
            path: path.to_path_buf(),
        });
    }
    Ok((Pointer::new(Oid256::from_bytes(digest), total), after))
}

/// Whether a file's length or modification time moved between two looks at it.
fn changed(before: &Metadata, after: &Metadata) -> bool {
    let touched = matches!(
        (before.modified(), after.modified()),
        (Ok(start), Ok(end)) if start != end
    );
    after.len() != before.len() || touched
}

/// Read `file` to the end, hashing every chunk and handing it to `sink`.
fn hash_stream(
    file: &mut File,
    path: &Path,
    mut sink: impl FnMut(Vec<u8>) -> LfsResult<Option<Vec<u8>>>,
) -> LfsResult<([u8; 32], u64)> {
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; BUFFER_SIZE];
    let mut total: u64 = 0;
    loop {
        if buffer.len() != BUFFER_SIZE {
            buffer.resize(BUFFER_SIZE, 0);
        }
        let read = match file.read(&mut buffer) {
            Ok(0) => break,
            Ok(read) => read,
            Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
            Err(err) => return Err(LfsError::io_at("reading", path, err)),
        };
        buffer.truncate(read);
        hasher.update(&buffer);
        total += read as u64;
        buffer = sink(buffer)?.unwrap_or_default();
    }
    Ok((hasher.finalize().into(), total))
}

/// Hash on this thread while a second thread writes the copy to `out` (the temp file at
/// `out_path`), so a big file costs the slower of the two rather than their sum. At most
/// [`COPY_QUEUE`] chunks are in flight. When the writer fails (a full disk), its error is the one
/// reported, with its errno and the temp file's path: the hashing side only sees the channel close.
fn hash_and_copy(
    file: &mut File,
    path: &Path,
    out: &mut File,
    out_path: &Path,
) -> LfsResult<([u8; 32], u64)> {
    const COPY_QUEUE: usize = 4;
    let (to_writer, chunks) = mpsc::sync_channel::<Vec<u8>>(COPY_QUEUE);
    let (give_back, spare) = mpsc::channel::<Vec<u8>>();
    std::thread::scope(|scope| {
        let writer = scope.spawn(move || -> io::Result<()> {
            for chunk in chunks {
                out.write_all(&chunk)?;
                let _ = give_back.send(chunk);
            }
            Ok(())
        });
        let hashed = hash_stream(file, path, |chunk| {
            // A closed channel means the writer stopped on an error, which is reported below.
            to_writer
                .send(chunk)
                .map_err(|_| writer_stopped(out_path))?;
            Ok(spare.try_recv().ok())
        });
        drop(to_writer);
        let written = writer
            .join()
            .unwrap_or_else(|_| Err(io::Error::other("copy thread panicked")));
        match (hashed, written) {
            (_, Err(err)) => Err(LfsError::io_at("writing", out_path, err)),
            (Err(err), Ok(())) => Err(err),
            (Ok(done), Ok(())) => Ok(done),
        }
    })
}

/// Stands in for the writer's own error until the writer thread has been joined.
fn writer_stopped(out_path: &Path) -> LfsError {
    LfsError::io_at("writing", out_path, io::ErrorKind::BrokenPipe.into())
}

/// A temp file that deletes itself unless [`TempPath::keep`] says it has been moved or handed on.
struct TempPath(Option<PathBuf>);

impl TempPath {
    fn new(path: PathBuf) -> Self {
        Self(Some(path))
    }

    fn path(&self) -> &Path {
        self.0.as_deref().unwrap_or_else(|| Path::new(""))
    }

    fn keep(mut self) -> PathBuf {
        self.0.take().unwrap_or_default()
    }
}

impl Drop for TempPath {
    fn drop(&mut self) {
        if let Some(path) = self.0.take() {
            let _ = fs::remove_file(path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `printf 'hello world\n' | sha256sum`
    const HELLO_OID: &str = "a948904f2f0f479b8f8197694b30184b0d2ed1c1cd2a1ec0fb85d299a192a447";

    fn store_in(dir: &Path) -> LfsStore {
        LfsStore::new(&dir.join(".git"))
    }

    fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
        let path = dir.join(name);
        fs::write(&path, bytes).unwrap();
        path
    }

    fn temp_files(store: &LfsStore) -> Vec<PathBuf> {
        match fs::read_dir(store.tmp_dir()) {
            Ok(entries) => entries.map(|entry| entry.unwrap().path()).collect(),
            Err(_) => Vec::new(),
        }
    }

    #[test]
    fn temp_files_of_dead_processes_and_old_ones_are_swept_but_live_ones_kept() {
        let dir = tempfile::tempdir().unwrap();
        let store = store_in(dir.path());
        fs::create_dir_all(store.tmp_dir()).unwrap();
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let dead = child.id();
        child.wait().unwrap();
        let mine = store
            .tmp_dir()
            .join(format!("{}-0-0.tmp", std::process::id()));
        let orphan = store.tmp_dir().join(format!("{dead}-0-0.tmp"));
        let live_other = store.tmp_dir().join("1-0-0.tmp");
        let old_unknown = store.tmp_dir().join("git-lfs-download.tmp");
        for path in [&mine, &orphan, &live_other, &old_unknown] {
            fs::write(path, b"partial").unwrap();
        }
        let hour_ago = SystemTime::now() - std::time::Duration::from_secs(7200);
        File::options()
            .write(true)
            .open(&old_unknown)
            .unwrap()
            .set_modified(hour_ago)
            .unwrap();

        store.sweep_temp_files();

        assert!(mine.exists());
        assert!(live_other.exists(), "pid 1 is alive");
        assert!(!orphan.exists());
        assert!(!old_unknown.exists());
    }

    #[test]
    fn objects_live_under_two_levels_of_oid_prefix() {
        let store = LfsStore::new(Path::new("/repo/.git"));
        let oid: Oid256 = HELLO_OID.parse().unwrap();
        assert_eq!(
            store.object_path(&oid),
            Path::new("/repo/.git/lfs/objects/a9/48").join(HELLO_OID)
        );
        assert_eq!(store.tmp_dir(), Path::new("/repo/.git/lfs/tmp"));
    }

    #[test]
    fn clean_file_stores_the_bytes_under_their_oid_and_leaves_no_temp() {
        let dir = tempfile::tempdir().unwrap();
        let store = store_in(dir.path());
        let file = write(dir.path(), "hello.txt", b"hello world\n");
        let pointer = store.clean_file(&file).unwrap();
        assert_eq!(pointer.oid.to_hex(), HELLO_OID);
        assert_eq!(pointer.size, 12);
        assert_eq!(
            fs::read(store.object_path(&pointer.oid)).unwrap(),
            b"hello world\n"
        );
        assert!(store.contains(&pointer.oid, 12));
        assert!(temp_files(&store).is_empty());
    }

    #[test]
    fn cleaning_the_same_content_twice_keeps_one_object() {
        let dir = tempfile::tempdir().unwrap();
        let store = store_in(dir.path());
        let first = store.clean_file(&write(dir.path(), "a", b"same")).unwrap();
        let second = store.clean_file(&write(dir.path(), "b", b"same")).unwrap();
        assert_eq!(first, second);
        assert!(store.contains(&first.oid, 4));
        assert!(temp_files(&store).is_empty());
    }

    #[test]
    fn empty_file_cleans_to_the_empty_pointer_without_an_object() {
        let dir = tempfile::tempdir().unwrap();
        let store = store_in(dir.path());
        let pointer = store.clean_file(&write(dir.path(), "empty", b"")).unwrap();
        assert_eq!(pointer, Pointer::empty());
        assert!(!store.object_path(&Oid256::EMPTY).exists());
        assert!(store.contains(&Oid256::EMPTY, 0));
        assert!(temp_files(&store).is_empty());
    }

    #[test]
    fn empty_oid_constant_is_the_sha256_of_nothing() {
        let digest: [u8; 32] = Sha256::digest(b"").into();
        assert_eq!(Oid256::from_bytes(digest), Oid256::EMPTY);
    }

    #[test]
    fn contains_requires_the_expected_length() {
        let dir = tempfile::tempdir().unwrap();
        let store = store_in(dir.path());
        let pointer = store.clean_file(&write(dir.path(), "f", b"12345")).unwrap();
        assert!(store.contains(&pointer.oid, 5));
        assert!(!store.contains(&pointer.oid, 4));
        let missing: Oid256 = HELLO_OID.parse().unwrap();
        assert!(!store.contains(&missing, 12));
    }

    #[test]
    fn file_that_changes_while_hashed_is_refused_and_leaves_no_temp() {
        let dir = tempfile::tempdir().unwrap();
        let store = store_in(dir.path());
        let path = write(dir.path(), "growing.bin", b"first part");
        let (mut file, before) = open_for_hashing(&path).unwrap();
        // Another writer appends after hashing started.
        OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap()
            .write_all(b" and more")
            .unwrap();
        let err = store
            .clean_open_file(&mut file, &path, &before)
            .unwrap_err();
        assert!(matches!(err, LfsError::FileChanged { .. }), "{err}");
        assert!(err
            .to_string()
            .starts_with("File changed while it was being hashed"));
        assert!(temp_files(&store).is_empty());
        assert!(!store.root().join("objects").exists());
    }

    #[test]
    fn missing_file_is_an_io_error_that_names_it() {
        let dir = tempfile::tempdir().unwrap();
        let store = store_in(dir.path());
        let err = store.clean_file(&dir.path().join("nope.bin")).unwrap_err();
        assert!(matches!(err, LfsError::Io { .. }));
        assert!(err.to_string().contains("nope.bin"));
    }

    #[test]
    fn verified_download_is_moved_into_place() {
        let dir = tempfile::tempdir().unwrap();
        let store = store_in(dir.path());
        let (mut file, temp) = store.create_temp().unwrap();
        file.write_all(b"hello world\n").unwrap();
        drop(file);
        let expected = Pointer::new(HELLO_OID.parse().unwrap(), 12);
        store.insert_verified(&temp, &expected).unwrap();
        assert!(store.contains(&expected.oid, 12));
        assert!(!temp.exists());
    }

    #[test]
    fn corrupt_download_is_deleted_and_reported() {
        let dir = tempfile::tempdir().unwrap();
        let store = store_in(dir.path());
        let expected = Pointer::new(HELLO_OID.parse().unwrap(), 12);
        for bad in [&b"hello world?"[..], b"hello"] {
            let (mut file, temp) = store.create_temp().unwrap();
            file.write_all(bad).unwrap();
            drop(file);
            let err = store.insert_verified(&temp, &expected).unwrap_err();
            match err {
                LfsError::ObjectMismatch { actual_size, .. } => {
                    assert_eq!(actual_size, bad.len() as u64);
                }
                other => panic!("unexpected {other}"),
            }
            assert!(!temp.exists());
            assert!(!store.object_path(&expected.oid).exists());
        }
    }

    #[test]
    fn download_of_an_object_already_stored_just_drops_the_temp() {
        let dir = tempfile::tempdir().unwrap();
        let store = store_in(dir.path());
        let stored = store
            .clean_file(&write(dir.path(), "h", b"hello world\n"))
            .unwrap();
        let temp = write(dir.path(), "download.tmp", b"hello world\n");
        store.insert_verified(&temp, &stored).unwrap();
        assert!(!temp.exists());
        assert!(store.contains(&stored.oid, 12));
    }

    #[test]
    fn damaged_object_is_replaced_by_a_verified_copy() {
        let dir = tempfile::tempdir().unwrap();
        let store = store_in(dir.path());
        let expected = Pointer::new(HELLO_OID.parse().unwrap(), 12);
        let target = store.object_path(&expected.oid);
        fs::create_dir_all(target.parent().unwrap()).unwrap();
        fs::write(&target, b"trunc").unwrap();
        let temp = write(dir.path(), "download.tmp", b"hello world\n");
        store.insert_verified(&temp, &expected).unwrap();
        assert_eq!(fs::read(&target).unwrap(), b"hello world\n");
    }

    #[test]
    fn restore_from_stores_a_file_only_when_it_hashes_to_the_pointer() {
        let dir = tempfile::tempdir().unwrap();
        let store = store_in(dir.path());
        let file = write(dir.path(), "model.bin", b"hello world\n");
        let expected = Pointer::new(HELLO_OID.parse().unwrap(), 12);
        let edited = write(dir.path(), "edited.bin", b"hello world?");

        assert!(!store.restore_from(&edited, &expected).unwrap());
        assert!(!store
            .restore_from(&dir.path().join("gone.bin"), &expected)
            .unwrap());
        assert!(!store.contains(&expected.oid, 12));
        assert!(!store.root().join("objects").exists());
        assert!(store.restore_from(&file, &expected).unwrap());
        assert_eq!(
            fs::read(store.object_path(&expected.oid)).unwrap(),
            b"hello world\n"
        );
        assert!(temp_files(&store).is_empty());
    }

    #[test]
    fn hashing_64_mib_agrees_with_sha256sum() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big.bin");
        let mut out = io::BufWriter::new(File::create(&path).unwrap());
        let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut chunk = vec![0u8; BUFFER_SIZE];
        for _ in 0..64 {
            for word in chunk.chunks_exact_mut(8) {
                // xorshift64: cheap bytes that no hashing shortcut could predict
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                word.copy_from_slice(&state.to_le_bytes());
            }
            out.write_all(&chunk).unwrap();
        }
        out.into_inner().unwrap().sync_all().unwrap();

        let (oid, size) = sha256_file(&path).unwrap();
        assert_eq!(size, 64 << 20);

        let store = store_in(dir.path());
        let pointer = store.clean_file(&path).unwrap();
        assert_eq!(pointer, Pointer::new(oid, size));
        assert!(store.contains(&oid, size));

        match std::process::Command::new("sha256sum").arg(&path).output() {
            Ok(output) => {
                assert!(output.status.success(), "sha256sum failed: {output:?}");
                let stdout = String::from_utf8(output.stdout).unwrap();
                assert_eq!(
                    stdout.split_whitespace().next(),
                    Some(oid.to_hex().as_str())
                );
            }
            // No sha256sum on this machine (e.g. stock macOS or Windows): the size and the
            // clean-vs-hash agreement above are all this test can check.
            Err(err) if err.kind() == io::ErrorKind::NotFound => {}
            Err(err) => panic!("could not run sha256sum: {err}"),
        }
    }
}
