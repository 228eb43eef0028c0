//! What differs between Unix and Windows file systems, in one place, under the names the Unix
//! code already uses: on Unix these are std's own `MetadataExt`, `PermissionsExt` and
//! `OsStrExt` (nothing changes there); on Windows, stand-ins give libgit2's view of a Windows
//! file (no device, inode, owner or executable bit; ctime is the creation time), so change
//! detection compares like with like, and paths from git's index are read as UTF-8.

use std::borrow::Cow;
use std::io;
use std::path::Path;

#[cfg(unix)]
pub(crate) use std::os::unix::fs::{MetadataExt, PermissionsExt};
#[cfg(windows)]
pub(crate) use windows::{MetadataExt, PermissionsExt};

/// A path from git's index (bytes, `/`-separated) as a file-system path.
pub(crate) fn path_from_bytes(bytes: &[u8]) -> Cow<'_, Path> {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        Cow::Borrowed(Path::new(std::ffi::OsStr::from_bytes(bytes)))
    }
    #[cfg(windows)]
    {
        match String::from_utf8_lossy(bytes) {
            Cow::Borrowed(text) => Cow::Borrowed(Path::new(text)),
            Cow::Owned(text) => Cow::Owned(text.into()),
        }
    }
}

/// Mark a file executable (`chmod 755`); Windows has no such bit, so there it does nothing.
pub(crate) fn set_executable(path: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755))
    }
    #[cfg(windows)]
    {
        let _ = path;
        Ok(())
    }
}

/// Bytes an unprivileged writer may still use on the file system holding `path`, if known.
pub(crate) fn free_space(path: &Path) -> Option<u64> {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        let name = std::ffi::CString::new(path.as_os_str().as_bytes()).ok()?;
        let mut stat = std::mem::MaybeUninit::<libc::statvfs>::uninit();
        // SAFETY: `name` is a valid C string and `stat` is written by statvfs before it is read.
        if unsafe { libc::statvfs(name.as_ptr(), stat.as_mut_ptr()) } != 0 {
            return None;
        }
        // SAFETY: statvfs returned 0, so it filled `stat`.
        let stat = unsafe { stat.assume_init() };
        // Both are 32-bit on some Unixes (macOS's fsblkcnt_t), 64-bit on Linux.
        #[allow(clippy::useless_conversion)]
        Some(u64::from(stat.f_bavail).saturating_mul(u64::from(stat.f_frsize)))
    }
    #[cfg(windows)]
    {
        let _ = path;
        None
    }
}

#[cfg(windows)]
mod windows {
    use std::fs::{Metadata, Permissions};
    use std::time::{SystemTime, UNIX_EPOCH};

    /// The stat fields the Unix code reads, as libgit2 fills them in on Windows.
    pub(crate) trait MetadataExt {
        fn dev(&self) -> u64;
        fn ino(&self) -> u64;
        fn mode(&self) -> u32;
        fn uid(&self) -> u32;
        fn gid(&self) -> u32;
        fn mtime(&self) -> i64;
        fn mtime_nsec(&self) -> i64;
        fn ctime(&self) -> i64;
        fn ctime_nsec(&self) -> i64;
        fn nlink(&self) -> u64;
    }

    fn seconds_and_nanos(time: std::io::Result<SystemTime>) -> (i64, i64) {
        match time.ok().and_then(|t| t.duration_since(UNIX_EPOCH).ok()) {
            Some(since) => (since.as_secs() as i64, i64::from(since.subsec_nanos())),
            None => (0, 0),
        }
    }

    impl MetadataExt for Metadata {
        fn dev(&self) -> u64 {
            0
        }
        fn ino(&self) -> u64 {
            0
        }
        fn mode(&self) -> u32 {
            let kind = if self.is_dir() {
                0o040000
            } else if self.file_type().is_symlink() {
                0o120000
            } else {
                0o100000
            };
            kind | self.permissions().mode()
        }
        fn uid(&self) -> u32 {
            0
        }
        fn gid(&self) -> u32 {
            0
        }
        fn mtime(&self) -> i64 {
            seconds_and_nanos(self.modified()).0
        }
        fn mtime_nsec(&self) -> i64 {
            seconds_and_nanos(self.modified()).1
        }
        fn ctime(&self) -> i64 {
            seconds_and_nanos(self.created()).0
        }
        fn ctime_nsec(&self) -> i64 {
            seconds_and_nanos(self.created()).1
        }
        /// Unknown without a handle; reported as shared so no caller takes a link for the last.
        fn nlink(&self) -> u64 {
            2
        }
    }

    /// Permission bits: read-only or not; never executable.
    pub(crate) trait PermissionsExt {
        fn mode(&self) -> u32;
    }

    impl PermissionsExt for Permissions {
        fn mode(&self) -> u32 {
            if self.readonly() {
                0o444
            } else {
                0o644
            }
        }
    }
}
