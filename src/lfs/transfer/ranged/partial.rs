//! Where a ranged download lives between runs: `.git/lfs/incomplete/<oid>.part`, locked while a
//! process writes it, and `<oid>.part.json`, the record of how far each segment got.

use std::fs::{self, File, OpenOptions};
use std::io;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::segments::Segment;
use crate::lfs::error::LfsError;
use crate::lfs::pointer::Pointer;
use crate::lfs::store::LfsStore;

const RECORD_VERSION: u32 = 2;

/// What `<oid>.part.json` holds.
#[derive(Serialize, Deserialize)]
pub(super) struct Record {
    version: u32,
    oid: String,
    size: u64,
    /// The `ETag` storage sent with the bytes on disk, to tell a changed object.
    pub etag: Option<String>,
    /// In order, covering the object.
    pub segments: Vec<Segment>,
}

/// The file the segments are written to.
pub(super) struct Partial {
    pub file: File,
    pub path: PathBuf,
    /// `Some` when the download may be resumed: this process holds the lock on `path`.
    pub record: Option<PathBuf>,
}

impl Partial {
    /// Save how far each segment got, if this download may be resumed. Best effort: without a
    /// record the next run starts from scratch, nothing worse.
    pub(super) fn save(&self, pointer: &Pointer, etag: Option<String>, segments: Vec<Segment>) {
        let Some(record_path) = &self.record else {
            return;
        };
        let record = Record {
            version: RECORD_VERSION,
            oid: pointer.oid.to_hex(),
            size: pointer.size,
            etag,
            segments,
        };
        let staged = record_path.with_extension("json.tmp");
        let saved = serde_json::to_vec(&record)
            .map_err(io::Error::other)
            .and_then(|bytes| fs::write(&staged, bytes))
            .and_then(|()| fs::rename(&staged, record_path));
        if saved.is_err() {
            let _ = fs::remove_file(&staged);
        }
    }

    pub(super) fn discard_record(&self) {
        if let Some(record) = &self.record {
            let _ = fs::remove_file(record);
        }
    }
}

/// Open `incomplete/<oid>.part` with its record, locked, or (when another process holds the
/// lock) a private temp file. The record is returned only if it can be resumed from.
pub(super) fn open_partial(
    store: &LfsStore,
    pointer: &Pointer,
    max_whole_download: u64,
) -> Result<(Partial, Option<Record>), LfsError> {
    let dir = store.incomplete_dir();
    fs::create_dir_all(&dir).map_err(|err| LfsError::io_at("creating", &dir, err))?;
    let path = dir.join(format!("{}.part", pointer.oid.to_hex()));
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(|err| LfsError::io_at("opening", &path, err))?;
    let sized = |file: File, path: PathBuf, record: Option<PathBuf>| {
        file.set_len(pointer.size)
            .map_err(|err| LfsError::io_at("sizing", &path, err))?;
        Ok::<_, LfsError>(Partial { file, path, record })
    };
    if !try_lock(&file) {
        drop(file);
        let (_, temp) = store.create_temp()?;
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(&temp)
            .map_err(|err| LfsError::io_at("opening", &temp, err))?;
        return Ok((sized(file, temp, None)?, None));
    }
    let record_path = dir.join(format!("{}.part.json", pointer.oid.to_hex()));
    let length = file.metadata().map(|meta| meta.len()).ok();
    let saved = fs::read(&record_path)
        .ok()
        .and_then(|bytes| serde_json::from_slice::<Record>(&bytes).ok())
        .filter(|record| resumable(record, pointer, max_whole_download, length));
    if saved.is_none() {
        // Whatever the file holds is unknown: from scratch (set_len keeps the length, so zero it).
        file.set_len(0)
            .map_err(|err| LfsError::io_at("truncating", &path, err))?;
    }
    Ok((sized(file, path, Some(record_path))?, saved))
}

/// A record describes the bytes of `file_length` for this object, in segments that cover it
/// exactly and that the run may ask for (a whole-download limit lowered since means new ones).
fn resumable(
    record: &Record,
    pointer: &Pointer,
    max_whole_download: u64,
    file_length: Option<u64>,
) -> bool {
    let size = pointer.size;
    let mut covered = 0;
    for segment in &record.segments {
        let fits = segment.start == covered
            && segment.end > segment.start
            && segment.written <= segment.len()
            && (size <= max_whole_download || segment.len() <= max_whole_download);
        if !fits {
            return false;
        }
        covered = segment.end;
    }
    record.version == RECORD_VERSION
        && record.oid == pointer.oid.to_hex()
        && record.size == size
        && covered == size
        && file_length == Some(size)
}

/// Take the download's lock without waiting (`flock` on Unix, `LockFileEx` on Windows); `false`
/// if another open file holds it. It is released when the file closes, or its process dies.
fn try_lock(file: &File) -> bool {
    file.try_lock().is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lfs::pointer::Oid256;
    use crate::lfs::transfer::ranged::segments::{DEFAULT_MAX_WHOLE_DOWNLOAD, MIB};

    fn pointer(size: u64) -> Pointer {
        Pointer::new(Oid256::from_bytes([7; 32]), size)
    }

    fn record(size: u64, segments: &[(u64, u64, u64)]) -> Record {
        Record {
            version: RECORD_VERSION,
            oid: pointer(size).oid.to_hex(),
            size,
            etag: None,
            segments: segments
                .iter()
                .map(|&(start, end, written)| Segment {
                    start,
                    end,
                    written,
                    taken: false,
                })
                .collect(),
        }
    }

    #[test]
    fn a_record_is_resumed_only_for_the_same_object_covered_exactly_and_a_file_of_its_length() {
        let size = 100 * MIB;
        let limit = DEFAULT_MAX_WHOLE_DOWNLOAD;
        let good = record(size, &[(0, 60 * MIB, 60 * MIB), (60 * MIB, size, 3)]);
        assert!(resumable(&good, &pointer(size), limit, Some(size)));
        assert!(!resumable(&good, &pointer(size), limit, Some(size - 1)));
        assert!(!resumable(&good, &pointer(size + 1), limit, Some(size + 1)));
        let gap = record(size, &[(0, 60 * MIB, 0), (61 * MIB, size, 0)]);
        assert!(!resumable(&gap, &pointer(size), limit, Some(size)));
        let short = record(size, &[(0, 60 * MIB, 0)]);
        assert!(!resumable(&short, &pointer(size), limit, Some(size)));
        let overfull = record(size, &[(0, 60 * MIB, 60 * MIB + 1), (60 * MIB, size, 0)]);
        assert!(!resumable(&overfull, &pointer(size), limit, Some(size)));
        // Segments longer than a lowered limit allows are not asked for again.
        assert!(!resumable(&good, &pointer(size), 50 * MIB, Some(size)));
        let small = record(size, &[(0, 50 * MIB, 0), (50 * MIB, size, 0)]);
        assert!(resumable(&small, &pointer(size), 50 * MIB, Some(size)));
    }

    #[test]
    fn a_second_process_gets_a_private_file_while_the_first_holds_the_lock() {
        let dir = tempfile::tempdir().unwrap();
        let store = LfsStore::new(&dir.path().join(".git"));
        let (first, _) = open_partial(&store, &pointer(10), 5).unwrap();
        assert!(first.record.is_some());
        let (second, _) = open_partial(&store, &pointer(10), 5).unwrap();
        assert!(second.record.is_none());
        assert!(second.path.starts_with(store.tmp_dir()));
        assert_eq!(second.file.metadata().unwrap().len(), 10);
    }
}
