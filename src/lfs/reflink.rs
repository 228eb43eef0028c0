//! Sharing a file's blocks instead of copying them (a reflink), where the file system can.
//!
//! A commit keeps a copy of every LFS file in `.git/lfs/objects` until it is pushed, so for a
//! moment each checkpoint is on disk twice. Copy-on-write file systems (XFS made with
//! `reflink=1`, btrfs, bcachefs, APFS) can give the copy the original's blocks, which are shared
//! until either file is written: the copy then costs metadata only, and is still a file of its
//! own, which later writes to the work-tree file never change. Everywhere else (ext4, tmpfs, NFS,
//! two file systems) the clone is refused at once (`EOPNOTSUPP`, `EXDEV`, `EINVAL`, `ENOTTY`, ...)
//! and the caller copies the bytes as before, whatever the error.
//!
//! Linux: `ioctl(FICLONE)` (ioctl_ficlone(2)); macOS: `fclonefileat(2)`, which makes a new file,
//! so the clone is made beside the destination and renamed over it.

use std::fs::File;
use std::io;
use std::path::Path;

/// Make `dest` (an empty file open for writing at `dest_path`) share all of `source`'s blocks.
/// `Err` when the file system cannot; `dest` is then still empty and open for the copy.
#[cfg(target_os = "linux")]
pub fn clone_into(source: &File, dest: &File, _dest_path: &Path) -> io::Result<()> {
    use std::os::fd::AsRawFd;
    // SAFETY: FICLONE's argument is the source descriptor, not a pointer; both descriptors are
    // open for the whole call, and the kernel changes nothing on failure.
    let answer = unsafe { libc::ioctl(dest.as_raw_fd(), libc::FICLONE, source.as_raw_fd()) };
    if answer == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Make the file at `dest_path` share all of `source`'s blocks. `Err` when the file system
/// cannot; `dest` is then untouched.
#[cfg(target_os = "macos")]
pub fn clone_into(source: &File, _dest: &File, dest_path: &Path) -> io::Result<()> {
    use std::ffi::CString;
    use std::os::fd::AsRawFd;
    use std::os::unix::ffi::OsStrExt;

    let mut staged = dest_path.as_os_str().to_owned();
    staged.push(".clone");
    let staged = std::path::PathBuf::from(staged);
    let name = CString::new(staged.as_os_str().as_bytes())
        .map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
    // SAFETY: `name` is a NUL-terminated path that outlives the call; the source descriptor is
    // open for the whole call.
    let answer =
        unsafe { libc::fclonefileat(source.as_raw_fd(), libc::AT_FDCWD, name.as_ptr(), 0) };
    if answer != 0 {
        return Err(io::Error::last_os_error());
    }
    std::fs::rename(&staged, dest_path).inspect_err(|_| {
        let _ = std::fs::remove_file(&staged);
    })
}

/// No clone call known here: always copy.
#[cfg(not(any(target_os = "linux", target_os = "macos")))]
pub fn clone_into(_source: &File, _dest: &File, _dest_path: &Path) -> io::Result<()> {
    Err(io::ErrorKind::Unsupported.into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};

    /// On a file system that shares blocks the clone holds the bytes; on one that does not (ext4,
    /// tmpfs: what CI mostly has) it is refused and leaves the destination empty for the copy.
    #[test]
    fn a_clone_holds_the_bytes_or_leaves_the_destination_empty() {
        let dir = tempfile::tempdir().unwrap();
        let source_path = dir.path().join("source");
        File::create(&source_path)
            .unwrap()
            .write_all(b"shared blocks")
            .unwrap();
        let dest_path = dir.path().join("dest");
        let dest = File::create(&dest_path).unwrap();
        let source = File::open(&source_path).unwrap();

        let cloned = clone_into(&source, &dest, &dest_path);

        let mut bytes = Vec::new();
        File::open(&dest_path)
            .unwrap()
            .read_to_end(&mut bytes)
            .unwrap();
        match cloned {
            Ok(()) => assert_eq!(bytes, b"shared blocks"),
            Err(_) => assert!(bytes.is_empty()),
        }
    }
}
