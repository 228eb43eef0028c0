//! Pruning the local LFS store: which objects the remote has and nothing local needs.
//!
//! Every commit copies each new LFS file into `.git/lfs/objects`, and nothing ever takes it out:
//! a training job that pushes a 64 MiB checkpoint six times keeps 384 MiB there beside the 64 MiB
//! in its work tree, and a 7B model saved every 500 steps fills a disk in a day. Once a push has
//! put an object on the remote, the local copy is only a cache. The rules below decide which copies
//! may go; they are those of git-lfs-prune(1) with two differences: "recent" refs and commits
//! (`lfs.fetchrecent*`) are not kept, and the current checkout's objects are not kept when the
//! work tree itself holds them. The store is never touched here; [`remove`] unlinks what a plan
//! names, and the caller holds the locks that keep a commit from racing it (see
//! `crate::repo::lfs_prune`).
//!
//! An object may be removed only when all of these hold:
//!
//! 1. the remote has it: a commit reachable from the remote's remote-tracking refs
//!    (`refs/remotes/<remote>/*`, which a successful push moves) points at it;
//! 2. no unpushed commit introduces it: no commit reachable from a local ref (branches, tags,
//!    `refs/stash` and its older entries, other remotes' refs, the HEAD of every checkout) and not
//!    from those remote-tracking refs adds or changes a file to it (those are what the next push
//!    uploads);
//! 3. no checkout needs it: wherever a HEAD commit or an index entry of any checkout (the main
//!    work tree and every linked worktree) points at it, the entry's work-tree file holds the
//!    content, which [`CheckoutState::holds`] decides by git's stat rule. A missing file, a file
//!    that is still a pointer, an edited one, a staged change or a conflict keeps the object.
//!
//! Rule 1 alone already keeps everything staged or committed that was never pushed. Rule 3 goes
//! further than git-lfs, which always keeps the current checkout's objects: the work tree and the
//! remote both hold them, so a third copy is dropped. `git lfs fsck` then reports those objects
//! missing, and checking out another revision of such a file (or restoring it after an edit)
//! downloads it again; a push to a remote that lacks it cleans the work-tree file into the store
//! again (see [`super::work_tree_copies`]).

use std::collections::{HashMap, HashSet};
use std::fs;
use std::io;
use std::ops::ControlFlow;
use std::path::PathBuf;

use git2::{Oid, Repository};

use super::checkouts::{pointer_in_blob, CheckoutState};
use super::pointer::Oid256;
use super::scan::for_each_pointer;
use super::{LfsError, LfsStore, Pointer};
use crate::error::Result;

/// One object file of the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredObject {
    pub pointer: Pointer,
    pub path: PathBuf,
}

/// What a prune would do: the objects it may remove and those it keeps, by the rules above.
#[derive(Debug, Default)]
pub struct PrunePlan {
    pub removable: Vec<StoredObject>,
    pub kept: Vec<StoredObject>,
}

/// The objects in `store`, with their lengths on disk (the size a pointer names). Files whose
/// name is not an oid, or that sit under the wrong prefix directories, are not objects and are
/// left alone; so is `lfs/tmp`, where commits and downloads stage their files.
pub fn stored_objects(store: &LfsStore) -> Result<Vec<StoredObject>> {
    let objects = store.root().join("objects");
    let mut found = Vec::new();
    for first in read_dir_or_empty(&objects)? {
        for second in read_dir_or_empty(&first)? {
            for file in read_dir_or_empty(&second)? {
                let Some(oid) = file
                    .file_name()
                    .and_then(|name| name.to_str())
                    .and_then(|name| name.parse::<Oid256>().ok())
                else {
                    continue;
                };
                if store.object_path(&oid) != file {
                    continue;
                }
                let meta = match fs::symlink_metadata(&file) {
                    Ok(meta) if meta.is_file() => meta,
                    Ok(_) => continue,
                    Err(err) if err.kind() == io::ErrorKind::NotFound => continue,
                    Err(err) => return Err(LfsError::io_at("reading", &file, err).into()),
                };
                found.push(StoredObject {
                    pointer: Pointer::new(oid, meta.len()),
                    path: file,
                });
            }
        }
    }
    found.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(found)
}

fn read_dir_or_empty(dir: &std::path::Path) -> Result<Vec<PathBuf>> {
    match fs::read_dir(dir) {
        Ok(entries) => entries
            .map(|entry| entry.map(|entry| entry.path()))
            .collect::<io::Result<Vec<_>>>()
            .map_err(|err| LfsError::io_at("listing", dir, err).into()),
        Err(err)
            if matches!(
                err.kind(),
                io::ErrorKind::NotFound | io::ErrorKind::NotADirectory
            ) =>
        {
            Ok(Vec::new())
        }
        Err(err) => Err(LfsError::io_at("listing", dir, err).into()),
    }
}

/// Decide, by the rules of the module docs, which objects of `store` may be removed, given the
/// remote's name and the state of every checkout (read under the caller's locks).
pub fn plan(
    repo: &Repository,
    store: &LfsStore,
    remote_name: &str,
    checkouts: &[CheckoutState],
) -> Result<PrunePlan> {
    let stored = stored_objects(store)?;
    let tracking = remote_tracking_tips(repo, remote_name)?;
    if stored.is_empty() || tracking.is_empty() {
        return Ok(PrunePlan {
            removable: Vec::new(),
            kept: stored,
        });
    }
    let stored_oids: HashSet<Oid256> = stored.iter().map(|object| object.pointer.oid).collect();

    // Rule 1: pointers of the remote's history (the walk stops once every stored object is seen).
    let mut pushed = HashSet::new();
    for_each_pointer(repo, &tracking, &[], |found| {
        if stored_oids.contains(&found.pointer.oid) {
            pushed.insert(found.pointer.oid);
        }
        if pushed.len() == stored_oids.len() {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    })?;

    // Rule 2: pointers that unpushed commits introduce.
    let local = local_tips(repo, remote_name, checkouts)?;
    let mut candidates = pushed;
    if !candidates.is_empty() {
        for_each_pointer(repo, &local, &tracking, |found| {
            candidates.remove(&found.pointer.oid);
            ControlFlow::Continue(())
        })?;
    }

    // Rule 3: what each checkout points at and its work tree does not hold.
    if !candidates.is_empty() {
        let needed = needed_by_checkouts(repo, checkouts, &candidates)?;
        candidates.retain(|oid| !needed.contains(oid));
    }

    let (removable, kept) = stored
        .into_iter()
        .partition(|object| candidates.contains(&object.pointer.oid));
    Ok(PrunePlan { removable, kept })
}

/// Unlink each object file, in order. One already gone is not an error (another prune took it).
/// Every file is tried; the first failure is returned after the others were tried.
pub fn remove(objects: &[StoredObject]) -> Result<()> {
    let mut first_error = None;
    for object in objects {
        match fs::remove_file(&object.path) {
            Ok(()) => {}
            Err(err) if err.kind() == io::ErrorKind::NotFound => {}
            Err(err) => {
                first_error.get_or_insert(LfsError::io_at("removing", &object.path, err));
            }
        }
    }
    match first_error {
        Some(err) => Err(err.into()),
        None => Ok(()),
    }
}

/// The commits `refs/remotes/<remote>/*` name (a symbolic `HEAD` there resolves to its target).
pub fn remote_tracking_tips(repo: &Repository, remote_name: &str) -> Result<Vec<Oid>> {
    let glob = format!("refs/remotes/{remote_name}/*");
    let mut tips = Vec::new();
    for reference in repo.references_glob(&glob)? {
        let reference = reference?;
        if let Ok(commit) = reference.peel_to_commit() {
            tips.push(commit.id());
        }
    }
    Ok(tips)
}

/// Every commit a local ref or a checkout's HEAD names: all refs but the remote's own tracking
/// refs, the older entries of `refs/stash` (they live in its reflog), and each checkout's HEAD
/// (a detached HEAD is on no branch).
fn local_tips(
    repo: &Repository,
    remote_name: &str,
    checkouts: &[CheckoutState],
) -> Result<Vec<Oid>> {
    let tracking_prefix = format!("refs/remotes/{remote_name}/");
    let mut tips = Vec::new();
    for reference in repo.references()? {
        let reference = reference?;
        if reference
            .name_bytes()
            .starts_with(tracking_prefix.as_bytes())
        {
            continue;
        }
        if let Ok(commit) = reference.peel_to_commit() {
            tips.push(commit.id());
        }
    }
    if let Ok(stash_log) = repo.reflog("refs/stash") {
        tips.extend(stash_log.iter().map(|entry| entry.id_new()));
    }
    tips.extend(checkouts.iter().filter_map(|checkout| checkout.head));
    tips.retain(|id| repo.find_commit(*id).is_ok());
    tips.sort();
    tips.dedup();
    Ok(tips)
}

/// The `candidates` that some checkout points at (HEAD or index) where its work tree does not
/// hold the content.
fn needed_by_checkouts(
    repo: &Repository,
    checkouts: &[CheckoutState],
    candidates: &HashSet<Oid256>,
) -> Result<HashSet<Oid256>> {
    let odb = repo.odb()?;
    let mut pointers: HashMap<Oid, Option<Pointer>> = HashMap::new();
    let mut pointer_of = |blob: Oid| {
        *pointers
            .entry(blob)
            .or_insert_with(|| pointer_in_blob(repo, &odb, blob))
    };
    let mut needed = HashSet::new();
    for checkout in checkouts {
        // Paths whose index entry's file holds its candidate object, with that entry's blob.
        let mut held: HashMap<Vec<u8>, Oid> = HashMap::new();
        if let Some(index) = &checkout.index {
            for entry in index.iter() {
                let Some(pointer) = pointer_of(entry.id) else {
                    continue;
                };
                if !candidates.contains(&pointer.oid) {
                    continue;
                }
                if checkout.holds(&entry, &pointer) {
                    held.insert(entry.path.clone(), entry.id);
                } else {
                    needed.insert(pointer.oid);
                }
            }
        }
        let Some(head) = checkout.head else {
            continue;
        };
        let tree = repo.find_commit(head)?.tree()?;
        tree.walk(git2::TreeWalkMode::PreOrder, |dir, entry| {
            if entry.kind() != Some(git2::ObjectType::Blob) {
                return git2::TreeWalkResult::Ok;
            }
            let Some(pointer) = pointer_of(entry.id()) else {
                return git2::TreeWalkResult::Ok;
            };
            if !candidates.contains(&pointer.oid) {
                return git2::TreeWalkResult::Ok;
            }
            let mut path = dir.as_bytes().to_vec();
            path.extend_from_slice(entry.name_bytes());
            if held.get(&path) != Some(&entry.id()) {
                needed.insert(pointer.oid);
            }
            git2::TreeWalkResult::Ok
        })?;
    }
    Ok(needed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lfs::checkouts::checkouts;
    use std::path::Path;

    fn commit_pointer(repo: &Repository, pointer: &Pointer, parent: Option<Oid>) -> Oid {
        let blob = repo.blob(&pointer.encode()).unwrap();
        let mut tree = repo.treebuilder(None).unwrap();
        tree.insert("model.safetensors", blob, 0o100644).unwrap();
        let tree = repo.find_tree(tree.write().unwrap()).unwrap();
        let signature = git2::Signature::now("t", "t@example.com").unwrap();
        let parents: Vec<git2::Commit> = parent
            .map(|id| repo.find_commit(id).unwrap())
            .into_iter()
            .collect();
        let parents: Vec<&git2::Commit> = parents.iter().collect();
        repo.commit(Some("HEAD"), &signature, &signature, "c", &tree, &parents)
            .unwrap()
    }

    fn store_bytes(dir: &Path, store: &LfsStore, bytes: &[u8]) -> Pointer {
        let file = dir.join("source.bin");
        fs::write(&file, bytes).unwrap();
        let pointer = store.clean_file(&file).unwrap();
        fs::remove_file(file).unwrap();
        pointer
    }

    fn plan_for(repo: &Repository, store: &LfsStore) -> PrunePlan {
        let states: Vec<CheckoutState> = checkouts(repo)
            .unwrap()
            .iter()
            .map(|checkout| checkout.load(repo).unwrap())
            .collect();
        plan(repo, store, "origin", &states).unwrap()
    }

    #[test]
    fn stored_objects_are_the_files_named_by_their_oid_under_its_prefix_and_nothing_else() {
        let dir = tempfile::tempdir().unwrap();
        let store = LfsStore::new(&dir.path().join(".git"));
        let kept = store_bytes(dir.path(), &store, b"an object");
        let stray = store_bytes(dir.path(), &store, b"another object");
        let misplaced = store.root().join("objects/00/00").join(stray.oid.to_hex());
        fs::create_dir_all(misplaced.parent().unwrap()).unwrap();
        fs::rename(store.object_path(&stray.oid), &misplaced).unwrap();
        let aa = store.root().join("objects/aa/bb");
        fs::create_dir_all(&aa).unwrap();
        fs::write(aa.join("not-an-oid"), b"x").unwrap();
        fs::create_dir_all(store.tmp_dir()).unwrap();
        fs::write(store.tmp_dir().join("1-0-0.tmp"), b"partial").unwrap();

        let found = stored_objects(&store).unwrap();

        assert_eq!(
            found,
            vec![StoredObject {
                pointer: kept,
                path: store.object_path(&kept.oid),
            }]
        );
    }

    #[test]
    fn an_object_the_remote_has_goes_one_it_may_not_have_stays() {
        let dir = tempfile::tempdir().unwrap();
        let repo = Repository::init(dir.path()).unwrap();
        let store = LfsStore::for_repository(&repo);
        let pushed = store_bytes(dir.path(), &store, b"pushed checkpoint");
        let unpushed = store_bytes(dir.path(), &store, b"unpushed checkpoint");
        let orphan = store_bytes(dir.path(), &store, b"in no commit at all");
        let first = commit_pointer(&repo, &pushed, None);
        commit_pointer(&repo, &unpushed, Some(first));

        // Before any push nothing is known to be on the remote.
        assert!(plan_for(&repo, &store).removable.is_empty());

        repo.reference("refs/remotes/origin/main", first, true, "push")
            .unwrap();
        let planned = plan_for(&repo, &store);

        let removable: Vec<Pointer> = planned.removable.iter().map(|o| o.pointer).collect();
        let mut kept: Vec<Pointer> = planned.kept.iter().map(|o| o.pointer).collect();
        kept.sort_by_key(|pointer| pointer.oid.to_hex());
        let mut expected = vec![unpushed, orphan];
        expected.sort_by_key(|pointer| pointer.oid.to_hex());
        assert_eq!(removable, vec![pushed]);
        assert_eq!(kept, expected);
        assert!(
            plan(&repo, &store, "other", &[])
                .unwrap()
                .removable
                .is_empty(),
            "another remote's refs say nothing of this one"
        );

        remove(&planned.removable).unwrap();
        remove(&planned.removable).unwrap();
        assert!(!store.contains(&pushed.oid, pushed.size));
        assert!(store.contains(&unpushed.oid, unpushed.size));
    }
}
