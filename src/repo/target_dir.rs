//! The clone destination: refused up front if it holds anything, removed again if the clone fails.

use std::fs;
use std::path::{Path, PathBuf};

use crate::error::{HfGitError, Result};

/// Owns a clone's destination until [`keep`](CloneTarget::keep) is called; dropping it without
/// keeping removes what the clone wrote (the directory itself too, if the clone created it).
pub struct CloneTarget {
    path: PathBuf,
    created: bool,
    kept: bool,
}

impl CloneTarget {
    pub fn claim(path: &Path) -> Result<Self> {
        let created = match fs::read_dir(path) {
            Ok(mut entries) => {
                if entries.next().is_some() {
                    return Err(HfGitError::DirectoryNotEmpty {
                        path: path.to_path_buf(),
                    });
                }
                false
            }
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
                fs::create_dir_all(path)
                    .map_err(|e| HfGitError::io(format!("creating {}", path.display()), e))?;
                true
            }
            Err(_) if path.exists() => {
                return Err(HfGitError::DirectoryNotEmpty {
                    path: path.to_path_buf(),
                });
            }
            Err(err) => return Err(HfGitError::io(format!("reading {}", path.display()), err)),
        };
        Ok(Self {
            path: path.to_path_buf(),
            created,
            kept: false,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn keep(mut self) -> PathBuf {
        self.kept = true;
        std::mem::take(&mut self.path)
    }
}

impl Drop for CloneTarget {
    fn drop(&mut self) {
        if self.kept {
            return;
        }
        if self.created {
            let _ = fs::remove_dir_all(&self.path);
        } else if let Ok(entries) = fs::read_dir(&self.path) {
            for entry in entries.flatten() {
                let path = entry.path();
                let _ = if path.is_dir() && !path.is_symlink() {
                    fs::remove_dir_all(&path)
                } else {
                    fs::remove_file(&path)
                };
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_directory_the_clone_created_is_removed_on_failure() {
        let tmp = tempfile::tempdir().unwrap();
        let dest = tmp.path().join("new");
        drop(CloneTarget::claim(&dest).unwrap());
        assert!(!dest.exists());
    }

    #[test]
    fn an_existing_empty_directory_is_emptied_but_kept_on_failure() {
        let tmp = tempfile::tempdir().unwrap();
        let target = CloneTarget::claim(tmp.path()).unwrap();
        fs::create_dir(tmp.path().join(".git")).unwrap();
        fs::write(tmp.path().join("file"), b"x").unwrap();
        drop(target);
        assert!(tmp.path().exists());
        assert_eq!(fs::read_dir(tmp.path()).unwrap().count(), 0);
    }

    #[test]
    fn a_non_empty_directory_is_refused_and_left_alone() {
        let tmp = tempfile::tempdir().unwrap();
        fs::write(tmp.path().join("keep.txt"), b"mine").unwrap();
        assert!(matches!(
            CloneTarget::claim(tmp.path()),
            Err(HfGitError::DirectoryNotEmpty { .. })
        ));
        assert!(tmp.path().join("keep.txt").exists());
    }

    #[test]
    fn a_kept_clone_stays() {
        let tmp = tempfile::tempdir().unwrap();
        let dest = tmp.path().join("kept");
        CloneTarget::claim(&dest).unwrap().keep();
        assert!(dest.exists());
    }
}
