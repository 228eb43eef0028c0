//! Replaying local commits on top of the remote's new ones (`pull(rebase=True)`,
//! `push(rebase=True)`), as `git rebase` does, without the git CLI and without touching the work
//! tree, the index or any ref.
//!
//! When someone edits the model card on the Hub website or a second job pushes an eval file,
//! every later push of a training job is a non-fast-forward. Rebasing the job's few unpushed
//! commits onto the new remote tip lets it keep pushing, with a linear history like the one
//! `git pull --rebase` makes.
//!
//! Each commit is replayed with libgit2's in-memory three-way merge ([`Repository::merge_trees`]
//! of the commit's parent, the new base and the commit: what a cherry-pick does) and written as a
//! new commit object, nothing else. git2's `Rebase` API was not used: even in memory it is a
//! stateful session that commits on its own, while here every merged tree is first checked for
//! what git's merge machinery would let through (see below), and commits that became empty are
//! dropped. Since no ref, index or file moves until every commit has been replayed, a conflict
//! at any step leaves nothing behind but unreachable objects (git's `gc` removes them), and a
//! killed process leaves no half-done rebase state (`.git/rebase-merge`) to clean up.
//!
//! What counts as a conflict:
//! - whatever libgit2's merge reports (overlapping text edits, modify/delete, add/add of
//!   different content), as `git rebase` would stop on;
//! - any path both sides changed to different results where one of the versions is a Git LFS
//!   pointer or a binary blob. libgit2 merges line by line unless `.gitattributes` names a merge
//!   driver it knows, and `merge=lfs` is not one, so two pointers could otherwise be combined into
//!   a pointer naming one side's oid and the other's size. git-lfs registers no merge driver of
//!   its own either; git stops on such a file because its text merge sees overlapping lines.
//!
//! As `git rebase` does by default (git-rebase(1), `--empty` and `--keep-empty`), the author and
//! message of each commit are kept, the committer is the current user at the current time, a
//! commit whose change the remote already has (it became empty) is dropped, and a commit that
//! was empty to begin with is kept. Merge commits
//! among the local commits are refused: flattening them, as `git rebase` does, would silently
//! drop whatever the merge resolved.

use std::collections::BTreeSet;

use git2::{Commit, Delta, DiffOptions, MergeOptions, ObjectType, Oid, Repository, Sort, Tree};

use super::commit::signature;
use crate::error::{HfGitError, Result};
use crate::lfs::{Pointer, POINTER_SIZE_LIMIT};

/// The local commits replayed onto a new base.
#[derive(Debug, Clone)]
pub struct Replayed {
    /// The last replayed commit: where the branch should go.
    pub tip: Oid,
    /// Each local commit (oldest first) and its replayed copy; `None` when it was dropped
    /// because the remote already had its change.
    pub commits: Vec<(Oid, Option<Oid>)>,
}

/// Replay the commits of `local` that `onto` lacks on top of `onto`, oldest first; `branch` is
/// only for messages. Writes commit and tree objects, nothing else.
///
/// Raises [`HfGitError::RebaseConflict`] naming the paths of the first commit that cannot be
/// replayed, and [`HfGitError::Diverged`] when the local commits include a merge commit or share
/// no history with `onto`.
pub fn replay(repo: &Repository, local: Oid, onto: Oid, branch: &str) -> Result<Replayed> {
    if repo.merge_base(local, onto).is_err() {
        return Err(HfGitError::Diverged {
            branch: branch.to_owned(),
            detail: "the local branch and the remote's share no commit, so there is nothing to \
                     rebase onto. Push to another branch with branch=..., or with force=True \
                     to replace the remote's history"
                .to_owned(),
        });
    }
    let local_commits = commits_to_replay(repo, local, onto)?;
    if let Some(merge) = local_commits.iter().find(|c| c.parent_count() > 1) {
        return Err(HfGitError::Diverged {
            branch: branch.to_owned(),
            detail: format!(
                "your unpushed commits include the merge commit {}, and rebase=True only \
                 replays commits with one parent (flattening a merge would drop what it \
                 resolved). Rebase or merge with git, or push with force=True to overwrite",
                describe(merge)
            ),
        });
    }
    let committer = signature(repo, None, &crate::progress::Monitor::default())?;
    let mut options = MergeOptions::new();
    options.find_renames(true);
    let mut base = repo.find_commit(onto)?;
    let mut replayed = Replayed {
        tip: onto,
        commits: Vec::with_capacity(local_commits.len()),
    };
    for commit in &local_commits {
        let parent_tree = commit.parent(0)?.tree()?;
        let ours = base.tree()?;
        let theirs = commit.tree()?;
        let mut merged = repo.merge_trees(&parent_tree, &ours, &theirs, Some(&options))?;
        let mut conflicts = conflicted_paths(&merged);
        conflicts.extend(unmergeable_paths(repo, &parent_tree, &ours, &theirs)?);
        if !conflicts.is_empty() {
            return Err(HfGitError::RebaseConflict {
                branch: branch.to_owned(),
                commit: describe(commit),
                paths: conflicts.into_iter().collect(),
            });
        }
        let tree_id = merged.write_tree_to(repo)?;
        let was_empty = theirs.id() == parent_tree.id();
        if tree_id == ours.id() && !was_empty {
            replayed.commits.push((commit.id(), None));
            continue;
        }
        let tree = repo.find_tree(tree_id)?;
        let message = match commit.message_raw() {
            Ok(message) => message.to_owned(),
            Err(_) => String::from_utf8_lossy(commit.message_raw_bytes()).into_owned(),
        };
        let id = repo.commit(
            None,
            &commit.author(),
            &committer,
            &message,
            &tree,
            &[&base],
        )?;
        replayed.commits.push((commit.id(), Some(id)));
        base = repo.find_commit(id)?;
        replayed.tip = id;
    }
    Ok(replayed)
}

/// The commits reachable from `local` and not from `onto`, oldest first.
fn commits_to_replay<'r>(repo: &'r Repository, local: Oid, onto: Oid) -> Result<Vec<Commit<'r>>> {
    let mut walk = repo.revwalk()?;
    walk.push(local)?;
    walk.hide(onto)?;
    walk.set_sorting(Sort::TOPOLOGICAL | Sort::REVERSE)?;
    walk.map(|id| Ok(repo.find_commit(id?)?)).collect()
}

/// The paths libgit2's merge left conflicted.
fn conflicted_paths(index: &git2::Index) -> BTreeSet<String> {
    let Ok(conflicts) = index.conflicts() else {
        return BTreeSet::new();
    };
    conflicts
        .flatten()
        .filter_map(|conflict| {
            let entry = conflict.our.or(conflict.their).or(conflict.ancestor)?;
            Some(String::from_utf8_lossy(&entry.path).into_owned())
        })
        .collect()
}

/// Paths both sides changed, to different results, where a version is an LFS pointer or binary:
/// those are never merged, whatever libgit2's line merge would make of them.
fn unmergeable_paths(
    repo: &Repository,
    parent: &Tree<'_>,
    ours: &Tree<'_>,
    theirs: &Tree<'_>,
) -> Result<BTreeSet<String>> {
    let changed_by_us = changed_paths(repo, parent, ours)?;
    let changed_by_them = changed_paths(repo, parent, theirs)?;
    let mut found = BTreeSet::new();
    for path in changed_by_us.intersection(&changed_by_them) {
        let versions = [parent, ours, theirs].map(|tree| blob_at(tree, path));
        if versions[1] == versions[2] {
            continue; // the same change on both sides: nothing to merge
        }
        let mut unmergeable = false;
        for id in versions.into_iter().flatten() {
            unmergeable |= is_pointer_or_binary(repo, id)?;
        }
        if unmergeable {
            found.insert(path.clone());
        }
    }
    Ok(found)
}

/// The paths whose entry differs between two trees (added, deleted, modified, type changed).
pub(super) fn changed_paths(
    repo: &Repository,
    old: &Tree<'_>,
    new: &Tree<'_>,
) -> Result<BTreeSet<String>> {
    let mut options = DiffOptions::new();
    options.include_typechange(true);
    let diff = repo.diff_tree_to_tree(Some(old), Some(new), Some(&mut options))?;
    let mut paths = BTreeSet::new();
    for delta in diff.deltas() {
        if delta.status() == Delta::Unmodified {
            continue;
        }
        for file in [delta.old_file(), delta.new_file()] {
            if let Some(path) = file.path_bytes() {
                paths.insert(String::from_utf8_lossy(path).into_owned());
            }
        }
    }
    Ok(paths)
}

fn blob_at(tree: &Tree<'_>, path: &str) -> Option<Oid> {
    let entry = tree.get_path(std::path::Path::new(path)).ok()?;
    (entry.kind() == Some(ObjectType::Blob)).then(|| entry.id())
}

fn is_pointer_or_binary(repo: &Repository, id: Oid) -> Result<bool> {
    let blob = repo.find_blob(id)?;
    let content = blob.content();
    // The empty blob is the empty file's pointer to git-lfs, but also just an empty text file.
    let pointer = !content.is_empty()
        && content.len() < POINTER_SIZE_LIMIT
        && Pointer::parse(content).is_some();
    Ok(pointer || blob.is_binary())
}

/// `abc1234 ("first line of the message")`, for messages.
fn describe(commit: &Commit<'_>) -> String {
    let id = commit.id().to_string();
    let summary = commit.summary().unwrap_or_default();
    format!("{} ({summary:?})", &id[..12])
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use git2::Signature;

    use super::*;

    const POINTER_A: &str = "version https://git-lfs.github.com/spec/v1\noid sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\nsize 10\n";
    const POINTER_B: &str = "version https://git-lfs.github.com/spec/v1\noid sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\nsize 10\n";
    const POINTER_C: &str = "version https://git-lfs.github.com/spec/v1\noid sha256:cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc\nsize 20\n";

    struct Fixture {
        _dir: tempfile::TempDir,
        repo: Repository,
    }

    impl Fixture {
        fn new() -> Self {
            let dir = tempfile::tempdir().unwrap();
            let repo = Repository::init(dir.path()).unwrap();
            let mut config = repo.config().unwrap();
            config.set_str("user.name", "Committer").unwrap();
            config
                .set_str("user.email", "committer@example.com")
                .unwrap();
            Self { _dir: dir, repo }
        }

        /// A commit on `parent` (or a root) whose tree is the parent's with `files` written
        /// (`None` deletes), by `author`, at a fixed time.
        fn commit(
            &self,
            parent: Option<Oid>,
            files: &[(&str, Option<&[u8]>)],
            message: &str,
            author: &str,
        ) -> Oid {
            let repo = &self.repo;
            let mut index = git2::Index::new().unwrap();
            if let Some(parent) = parent {
                index
                    .read_tree(&repo.find_commit(parent).unwrap().tree().unwrap())
                    .unwrap();
            }
            for (path, content) in files {
                match content {
                    Some(bytes) => {
                        let blob = repo.blob(bytes).unwrap();
                        let mut entry = index_entry(path, blob);
                        entry.file_size = bytes.len() as u32;
                        index.add(&entry).unwrap();
                    }
                    None => index.remove_path(Path::new(path)).unwrap(),
                }
            }
            let tree = repo.find_tree(index.write_tree_to(repo).unwrap()).unwrap();
            let who =
                Signature::new(author, "a@example.com", &git2::Time::new(1_000_000, 0)).unwrap();
            let parents: Vec<Commit<'_>> = parent
                .map(|p| repo.find_commit(p).unwrap())
                .into_iter()
                .collect();
            let parents: Vec<&Commit<'_>> = parents.iter().collect();
            repo.commit(None, &who, &who, message, &tree, &parents)
                .unwrap()
        }

        fn file(&self, commit: Oid, path: &str) -> Option<Vec<u8>> {
            let tree = self.repo.find_commit(commit).unwrap().tree().unwrap();
            let id = blob_at(&tree, path)?;
            Some(self.repo.find_blob(id).unwrap().content().to_vec())
        }
    }

    fn index_entry(path: &str, id: Oid) -> git2::IndexEntry {
        git2::IndexEntry {
            ctime: git2::IndexTime::new(0, 0),
            mtime: git2::IndexTime::new(0, 0),
            dev: 0,
            ino: 0,
            mode: 0o100644,
            uid: 0,
            gid: 0,
            file_size: 0,
            id,
            flags: path.len().min(0xfff) as u16,
            flags_extended: 0,
            path: path.as_bytes().to_vec(),
        }
    }

    const README: &[u8] = b"# Model\n\nline 2\nline 3\nline 4\nline 5\nline 6\n";

    #[test]
    fn local_commits_are_replayed_oldest_first_keeping_author_and_message() {
        let f = Fixture::new();
        let base = f.commit(None, &[("README.md", Some(README))], "base", "Base");
        let remote = f.commit(Some(base), &[("eval.json", Some(b"{}"))], "eval", "Other");
        let first = f.commit(Some(base), &[("a.txt", Some(b"a"))], "first\n\nbody", "Ada");
        let second = f.commit(Some(first), &[("b.txt", Some(b"b"))], "second", "Ada");

        let replayed = replay(&f.repo, second, remote, "main").unwrap();

        let tip = f.repo.find_commit(replayed.tip).unwrap();
        let copy_of_first = tip.parent(0).unwrap();
        assert_eq!(copy_of_first.parent_id(0).unwrap(), remote);
        assert_eq!(copy_of_first.message().ok(), Some("first\n\nbody"));
        assert_eq!(tip.message().ok(), Some("second"));
        for copy in [&tip, &copy_of_first] {
            assert_eq!(copy.author().name().ok(), Some("Ada"));
            assert_eq!(copy.author().when().seconds(), 1_000_000);
            assert_eq!(copy.committer().name().ok(), Some("Committer"));
            assert!(copy.committer().when().seconds() > 1_000_000);
        }
        assert_eq!(
            replayed.commits,
            vec![(first, Some(copy_of_first.id())), (second, Some(tip.id()))]
        );
        for path in ["README.md", "eval.json", "a.txt", "b.txt"] {
            assert!(f.file(replayed.tip, path).is_some(), "{path}");
        }
    }

    #[test]
    fn edits_to_different_lines_of_one_text_file_are_combined_as_git_would() {
        let f = Fixture::new();
        let base = f.commit(None, &[("README.md", Some(README))], "base", "Base");
        let theirs = README
            .to_vec()
            .replace_line(1, b"# Model card edited on the Hub");
        let mine = README.to_vec().replace_line(6, b"line 6 from training");
        let remote = f.commit(Some(base), &[("README.md", Some(&theirs))], "hub", "Hub");
        let local = f.commit(Some(base), &[("README.md", Some(&mine))], "train", "Ada");

        let replayed = replay(&f.repo, local, remote, "main").unwrap();

        let both = README
            .to_vec()
            .replace_line(1, b"# Model card edited on the Hub")
            .replace_line(6, b"line 6 from training");
        assert_eq!(f.file(replayed.tip, "README.md").unwrap(), both);
    }

    #[test]
    fn overlapping_text_edits_are_a_conflict_naming_the_path_and_the_commit() {
        let f = Fixture::new();
        let base = f.commit(None, &[("README.md", Some(README))], "base", "Base");
        let remote = f.commit(
            Some(base),
            &[("README.md", Some(b"theirs\n"))],
            "hub",
            "Hub",
        );
        let ok = f.commit(Some(base), &[("a.txt", Some(b"a"))], "fine", "Ada");
        let local = f.commit(Some(ok), &[("README.md", Some(b"mine\n"))], "clash", "Ada");

        let err = replay(&f.repo, local, remote, "main").unwrap_err();

        match &err {
            HfGitError::RebaseConflict { paths, commit, .. } => {
                assert_eq!(paths, &vec!["README.md".to_owned()]);
                assert!(commit.contains("clash"), "{commit}");
            }
            other => panic!("unexpected {other}"),
        }
        assert!(err.to_string().contains("force=True"), "{err}");
    }

    #[test]
    fn an_lfs_pointer_changed_on_both_sides_is_a_conflict_never_a_merged_pointer() {
        let f = Fixture::new();
        let base = f.commit(None, &[("model.bin", Some(POINTER_A.as_bytes()))], "b", "B");
        let remote = f.commit(
            Some(base),
            &[("model.bin", Some(POINTER_B.as_bytes()))],
            "r",
            "R",
        );
        let local = f.commit(
            Some(base),
            &[("model.bin", Some(POINTER_C.as_bytes()))],
            "l",
            "L",
        );

        let err = replay(&f.repo, local, remote, "main").unwrap_err();

        assert!(
            matches!(&err, HfGitError::RebaseConflict { paths, .. } if paths == &["model.bin"]),
            "{err}"
        );
    }

    #[test]
    fn a_pointer_that_a_line_merge_would_combine_is_still_a_conflict() {
        // A pointer with an extension line: the two sides change lines far enough apart that a
        // line merge succeeds, and would produce a pointer neither side wrote.
        let f = Fixture::new();
        let make = |ext: char, oid: char| {
            format!(
                "version https://git-lfs.github.com/spec/v1\next-0-foo sha256:{}\n\n\n\noid sha256:{}\nsize 10\n",
                ext.to_string().repeat(64),
                oid.to_string().repeat(64)
            )
        };
        let base = f.commit(
            None,
            &[("w.bin", Some(make('1', 'a').as_bytes()))],
            "b",
            "B",
        );
        let remote = f.commit(
            Some(base),
            &[("w.bin", Some(make('2', 'a').as_bytes()))],
            "r",
            "R",
        );
        let local = f.commit(
            Some(base),
            &[("w.bin", Some(make('1', 'b').as_bytes()))],
            "l",
            "L",
        );
        let merged = f
            .repo
            .merge_trees(
                &f.repo.find_commit(base).unwrap().tree().unwrap(),
                &f.repo.find_commit(remote).unwrap().tree().unwrap(),
                &f.repo.find_commit(local).unwrap().tree().unwrap(),
                None,
            )
            .unwrap();
        assert!(
            !merged.has_conflicts(),
            "the line merge alone would combine them"
        );

        let err = replay(&f.repo, local, remote, "main").unwrap_err();

        assert!(
            matches!(&err, HfGitError::RebaseConflict { paths, .. } if paths == &["w.bin"]),
            "{err}"
        );
    }

    #[test]
    fn a_binary_file_changed_on_both_sides_is_a_conflict() {
        let f = Fixture::new();
        let base = f.commit(
            None,
            &[("w.bin", Some(b"\0base\n1\n2\n3\n4\n5\n"))],
            "b",
            "B",
        );
        let remote = f.commit(
            Some(base),
            &[("w.bin", Some(b"\0hub\n1\n2\n3\n4\n5\n"))],
            "r",
            "R",
        );
        let local = f.commit(
            Some(base),
            &[("w.bin", Some(b"\0base\n1\n2\n3\n4\nx\n"))],
            "l",
            "L",
        );

        let err = replay(&f.repo, local, remote, "main").unwrap_err();

        assert!(matches!(err, HfGitError::RebaseConflict { .. }), "{err}");
    }

    #[test]
    fn the_same_change_on_both_sides_is_no_conflict_and_its_commit_is_dropped() {
        let f = Fixture::new();
        let base = f.commit(None, &[("model.bin", Some(POINTER_A.as_bytes()))], "b", "B");
        let change = [("model.bin", Some(POINTER_B.as_bytes()))];
        let remote = f.commit(Some(base), &change, "pushed before", "R");
        let local = f.commit(Some(base), &change, "pushed before", "L");
        let empty = f.commit(Some(local), &[], "empty on purpose", "L");

        let replayed = replay(&f.repo, empty, remote, "main").unwrap();

        assert_eq!(replayed.commits[0], (local, None));
        let kept = f.repo.find_commit(replayed.tip).unwrap();
        assert_eq!(kept.message().ok(), Some("empty on purpose"));
        assert_eq!(kept.parent_id(0).unwrap(), remote);
    }

    #[test]
    fn a_merge_commit_among_the_local_commits_is_refused() {
        let f = Fixture::new();
        let base = f.commit(None, &[("a", Some(b"a"))], "base", "B");
        let remote = f.commit(Some(base), &[("r", Some(b"r"))], "r", "R");
        let left = f.commit(Some(base), &[("l", Some(b"l"))], "l", "L");
        let right = f.commit(Some(base), &[("x", Some(b"x"))], "x", "L");
        let tree = f.repo.find_commit(left).unwrap().tree().unwrap();
        let who = Signature::now("L", "l@example.com").unwrap();
        let parents = [
            &f.repo.find_commit(left).unwrap(),
            &f.repo.find_commit(right).unwrap(),
        ];
        let merge = f
            .repo
            .commit(None, &who, &who, "Merge", &tree, &parents)
            .unwrap();

        let err = replay(&f.repo, merge, remote, "main").unwrap_err();

        assert!(matches!(err, HfGitError::Diverged { .. }), "{err}");
        assert!(err.to_string().contains("merge commit"), "{err}");
    }

    #[test]
    fn unrelated_histories_are_refused() {
        let f = Fixture::new();
        let remote = f.commit(None, &[("a", Some(b"a"))], "theirs", "R");
        let local = f.commit(None, &[("b", Some(b"b"))], "mine", "L");

        let err = replay(&f.repo, local, remote, "main").unwrap_err();

        assert!(matches!(err, HfGitError::Diverged { .. }), "{err}");
    }

    trait ReplaceLine {
        fn replace_line(self, number: usize, with: &[u8]) -> Vec<u8>;
    }

    impl ReplaceLine for Vec<u8> {
        fn replace_line(self, number: usize, with: &[u8]) -> Vec<u8> {
            let mut lines: Vec<&[u8]> = self.split(|b| *b == b'\n').collect();
            lines[number - 1] = with;
            lines.join(&b'\n')
        }
    }
}
