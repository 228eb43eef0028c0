//! What git-lfs's clean filter makes of one work-tree file: the blob git stores for it.
//!
//! Usually that is the pointer of the file's content, with the content copied into the store. But
//! a file that already *is* a pointer (a clone made with `lfs=False`, or a pointer copied, renamed
//! or touched by the user) goes into git unchanged: git-lfs reads the first 1024 bytes, and when
//! they are the whole file and parse as a pointer it writes them back as they are
//! (`lfs/gitfilter_clean.go`, `copyToTemp`, and `commands/command_clean.go` in git-lfs). Wrapping
//! such a file in a second pointer would replace the model on the Hub with a pointer to pointer
//! text. Commit and status both decide through here, so they agree with each other and with git.

use std::fs::{File, Metadata};
use std::io::Read;
use std::path::Path;

use super::error::{LfsError, LfsResult};
use super::{sha256_file, LfsStore, Pointer, POINTER_SIZE_LIMIT};

/// The blob for one cleaned file, and the stat data of the very file that was read.
pub struct CleanedFile {
    /// The bytes git stores: a pointer, canonical unless the file was a non-canonical pointer.
    pub blob: Vec<u8>,
    /// The length of the content the pointer stands for (for progress).
    pub content_size: u64,
    pub meta: Metadata,
    /// The file already was a pointer and went through unchanged. git then still applies the
    /// path's line-ending conversion (`text`, `eol`, `core.autocrlf`) to it, as to any clean
    /// filter's output: see [`converted_blob_id`].
    pub passed_through: bool,
}

/// Clean `path` like `git lfs clean`, storing its content in `store` unless it already is a pointer.
/// With `adopt`, the file itself becomes the stored object (see [`LfsStore::adopt_file`]).
pub fn clean_into_store(store: &LfsStore, path: &Path, adopt: bool) -> LfsResult<CleanedFile> {
    if let Some((blob, meta)) = pointer_already(path)? {
        return Ok(CleanedFile {
            content_size: blob.len() as u64,
            blob,
            meta,
            passed_through: true,
        });
    }
    let (pointer, meta) = if adopt {
        store.adopt_file(path)?
    } else {
        store.clean_file_with_stat(path)?
    };
    Ok(CleanedFile {
        blob: pointer.encode(),
        content_size: pointer.size,
        meta,
        passed_through: false,
    })
}

/// The blob `git lfs clean` would give `path`, without storing anything, and whether the file
/// passed through as it is (see [`CleanedFile::passed_through`]).
pub fn cleaned_blob(path: &Path) -> LfsResult<(Vec<u8>, bool)> {
    if let Some((blob, _)) = pointer_already(path)? {
        return Ok((blob, true));
    }
    let (oid, size) = sha256_file(path)?;
    Ok((Pointer::new(oid, size).encode(), false))
}

/// The blob id git stores for a file that passed through the clean filter unchanged, on a path
/// whose attributes or settings may convert line ends: libgit2's filters, which implement git's
/// conversion rules (including "text=auto keeps CRLF already in the index"), decide it.
pub fn converted_blob_id(repo: &git2::Repository, path: &Path) -> crate::Result<git2::Oid> {
    Ok(repo.blob_path(path)?)
}

/// The file's bytes if they are a whole pointer, which the clean filter passes through.
fn pointer_already(path: &Path) -> LfsResult<Option<(Vec<u8>, Metadata)>> {
    let io = |what: &str, err| LfsError::io_at(what, path, err);
    let mut file = File::open(path).map_err(|err| io("opening", err))?;
    let before = file
        .metadata()
        .map_err(|err| io("reading metadata of", err))?;
    if before.len() == 0 || before.len() >= POINTER_SIZE_LIMIT as u64 {
        return Ok(None);
    }
    let mut head = Vec::with_capacity(POINTER_SIZE_LIMIT);
    file.by_ref()
        .take(POINTER_SIZE_LIMIT as u64)
        .read_to_end(&mut head)
        .map_err(|err| io("reading", err))?;
    if head.len() >= POINTER_SIZE_LIMIT || Pointer::parse(&head).is_none() {
        return Ok(None);
    }
    let meta = file
        .metadata()
        .map_err(|err| io("reading metadata of", err))?;
    Ok(Some((head, meta)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    const POINTER: &[u8] = b"version https://git-lfs.github.com/spec/v1\n\
        oid sha256:4d7a214614ab2935c943f9e0ff69d22eadbb8f32b1258daaa5e2ca24d17e2393\nsize 17\n";

    #[test]
    fn a_file_that_is_a_pointer_is_stored_as_it_is_and_not_copied_into_the_store() {
        let dir = tempfile::tempdir().unwrap();
        let store = LfsStore::new(&dir.path().join(".git"));
        let path = dir.path().join("x.bin");
        for bytes in [
            POINTER.to_vec(),
            String::from_utf8_lossy(POINTER)
                .replace('\n', "\r\n")
                .into_bytes(),
        ] {
            fs::write(&path, &bytes).unwrap();
            let cleaned = clean_into_store(&store, &path, false).unwrap();
            assert_eq!(cleaned.blob, bytes);
            assert_eq!(cleaned_blob(&path).unwrap(), (bytes, true));
        }
        assert!(!store.root().join("objects").exists());
    }

    #[test]
    fn a_file_that_only_starts_like_a_pointer_is_cleaned_into_a_new_pointer() {
        let dir = tempfile::tempdir().unwrap();
        let store = LfsStore::new(&dir.path().join(".git"));
        let path = dir.path().join("x.bin");
        let mut bytes = POINTER.to_vec();
        bytes.extend_from_slice(b"and then some more text\n");
        fs::write(&path, &bytes).unwrap();
        let cleaned = clean_into_store(&store, &path, false).unwrap();
        let pointer = Pointer::parse(&cleaned.blob).unwrap().pointer;
        assert_eq!(pointer.size, bytes.len() as u64);
        assert!(store.contains(&pointer.oid, pointer.size));
        assert_eq!(cleaned_blob(&path).unwrap(), (cleaned.blob, false));
    }
}
