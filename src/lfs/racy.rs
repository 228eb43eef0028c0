//! Keeping LFS index entries out of git's "racily clean" zone.
//!
//! An index entry whose file was modified in the same clock tick as the index was written is
//! "racy": git and libgit2 re-check its content on the next look. For an LFS file that re-check
//! compares the file's bytes with the pointer blob, finds them different, and reports (or marks)
//! the file as modified, because libgit2 has no LFS filter to apply. File timestamps come from a
//! coarse kernel clock (milliseconds apart at best), so a file written just before the index often
//! shares its timestamp. Waiting for that tick to pass before writing the index makes the index
//! file strictly newer than every file it describes, and the entries stay clean.

use std::fs;
use std::path::Path;
use std::time::{Duration, SystemTime};

use git2::Index;

use crate::error::Result;

const TICK_WAIT: Duration = Duration::from_millis(1);
const MAX_WAIT_ROUNDS: usize = 200;

/// Write `index` (stored at `index_path`) so that its file is newer than `newest_file`.
///
/// The wait comes before the one write: writing twice would not do, because the second write
/// would itself find the entries racy and truncate them (libgit2's "racily clean" handling).
pub fn write_index_after(
    index: &mut Index,
    index_path: &Path,
    newest_file: Option<SystemTime>,
) -> Result<()> {
    if let Some(newest_file) = newest_file {
        wait_for_file_clock_past(index_path, newest_file);
    }
    index.write()?;
    Ok(())
}

/// Touch a probe file beside the index until the file system stamps it later than `instant`.
fn wait_for_file_clock_past(index_path: &Path, instant: SystemTime) {
    let probe = index_path.with_file_name("hfgit-clock-probe");
    for _ in 0..MAX_WAIT_ROUNDS {
        let stamped = fs::File::create(&probe).and_then(|file| file.metadata()?.modified());
        match stamped {
            Ok(now) if now <= instant => std::thread::sleep(TICK_WAIT),
            _ => break,
        }
    }
    let _ = fs::remove_file(&probe);
}
