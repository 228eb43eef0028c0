//! Process-wide libgit2 settings, chosen to do what git does.
//!
//! By default libgit2 re-hashes every object it reads to check its name (SHA-1 with collision
//! detection, the slowest part of a checkout) and looks up every object an index entry or tree
//! names before writing it. git does neither on the hot path: objects are checked once, when a
//! fetched pack is indexed (libgit2's indexer still does that), and `git fsck` is there for the
//! rest. Turning both checks off made a clone's checkout and a 10,000-file commit markedly
//! faster. The settings are global to this copy of libgit2 (pygit2 and others link their own).

use std::sync::Once;

/// Apply the settings; cheap to call before every operation.
pub fn apply() {
    static APPLIED: Once = Once::new();
    APPLIED.call_once(|| {
        git2::opts::strict_hash_verification(false);
        git2::opts::strict_object_creation(false);
    });
}
