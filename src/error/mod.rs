//! The one error type of the crate.
//!
//! Every failure a user can act on has its own variant, so the Python layer can map each to its own
//! exception class once (see `python/errors.rs`). Messages say what went wrong, about what, and what
//! to do next; they never carry a token or URL credentials: everything that may contain text from
//! elsewhere (libgit2, a server) passes through [`crate::auth::redact`] before it lands here.

pub(crate) mod classify;

use std::path::PathBuf;

pub(crate) use classify::git_lock_advice;
pub use classify::{classify_git_error, GitContext};

/// Shorthand used across the crate.
pub type Result<T, E = HfGitError> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HfGitError {
    /// The server refused the credentials, or wants some and none were given.
    #[error("Authentication failed for {target}: {detail}")]
    Authentication { target: String, detail: String },

    /// The repository does not exist, or the token cannot see it.
    #[error("Repository not found: {target}. Check the repo id and repo_type, and that your token can read it.")]
    RepositoryNotFound { target: String },

    /// A branch, tag or commit that the repository does not have.
    #[error("Revision not found: '{revision}' in {target}")]
    RevisionNotFound { revision: String, target: String },

    /// The server (or libgit2's fast-forward check) refused to update a ref.
    #[error("Push rejected for {reference}: {reason}")]
    PushRejected { reference: String, reason: String },

    /// The connection failed, timed out, or the server answered with an error status.
    #[error("Network error: {detail}")]
    Network { detail: String },

    /// The proxy refused the request (403 on a tunnel, 407), or could not be reached. `proxy` is
    /// `scheme://host:port`, never with credentials; `detail` says what to do.
    #[error("Proxy error at {proxy}: {detail}")]
    Proxy { proxy: String, detail: String },

    /// The Hub kept answering 429 longer than hfgit may wait (`HFGIT_RATE_LIMIT_MAX_WAIT`), or
    /// refused a push that cannot be sent again safely. `retry_after` is what the server asked
    /// to wait, when it said.
    #[error("Rate limited by the Hub at {target}: {detail}")]
    RateLimited {
        target: String,
        retry_after: Option<std::time::Duration>,
        detail: String,
    },

    /// TLS could not be established because the server's certificate is not trusted.
    #[error("Certificate error: {detail}. If you are behind a proxy with its own CA, point SSL_CERT_FILE or REQUESTS_CA_BUNDLE at its certificate bundle.")]
    Certificate { detail: String },

    /// Nothing changed since the last commit.
    #[error("Nothing to commit in {}: the work tree matches HEAD. Pass allow_empty=True to commit anyway.", path.display())]
    NothingToCommit { path: PathBuf },

    /// The path is not inside a git work tree.
    #[error("Not a git repository: {}", path.display())]
    NotARepository { path: PathBuf },

    /// A clone target that already holds files.
    #[error("Destination {} already exists and is not an empty directory", path.display())]
    DirectoryNotEmpty { path: PathBuf },

    /// HEAD points at a commit, not a branch, and no branch was named. `advice` says, for the
    /// call that failed, what the user can do (only options that call has).
    #[error("HEAD is detached in {}: {advice}", path.display())]
    DetachedHead { path: PathBuf, advice: &'static str },

    /// Local and remote history have both moved on; a fast-forward is impossible.
    #[error("Cannot fast-forward {branch}: {detail}")]
    Diverged { branch: String, detail: String },

    /// Replaying the local commits on the remote's new ones (`rebase=True`) found files both
    /// changed in ways that cannot be combined: overlapping text edits, a modified file the other
    /// side deleted, or any change on both sides to a binary file or a Git LFS pointer (a pointer
    /// is never merged line by line). `commit` is the local commit that could not be replayed.
    /// Nothing local was changed.
    #[error("Cannot rebase {branch} onto the remote's new commits: your commit {commit} and the remote both changed {}. Nothing local was changed (branch, index, work tree and LFS files are as they were). Combine the two with git (git pull --rebase, resolve, commit, push), or push with force=True to replace the remote's commits with yours.", paths.join(", "))]
    RebaseConflict {
        branch: String,
        commit: String,
        paths: Vec<String>,
    },

    /// Uncommitted local changes would be overwritten.
    #[error("Local changes would be overwritten: {detail}. Commit or discard them first.")]
    LocalChanges { detail: String },

    /// Another writer holds a lock on this repository's index or refs. `advice` says whether the
    /// lock can be stale (git's `index.lock` left by a killed process) or will go away by itself.
    #[error("{} is locked by {holder}: {advice}", path.display())]
    RepositoryLocked {
        path: PathBuf,
        holder: String,
        advice: String,
    },

    /// Another process rewrote the index or moved a ref while this call was working on it; this
    /// call wrote nothing.
    #[error("{what} was changed by another process while this call was working on it; this call changed nothing, so running it again is safe")]
    ConcurrentChange { what: String },

    /// A clone into this directory was killed before it finished; its files may be incomplete.
    #[error("{} holds a clone that was interrupted before it finished (the process was killed): its history or LFS files may be incomplete. Clone into the same directory again to finish it (LFS objects already downloaded are kept), or, if only LFS files are missing, run hfgit.Repository(path).lfs_pull().", path.display())]
    CloneInterrupted { path: PathBuf },

    /// `hfgit.init()` on this folder was killed before it finished: HEAD may not be on the
    /// remote's branch yet. The folder's own files were never changed.
    #[error("{} was being made a work tree of its Hub repo by hfgit.init() when the process was killed, so its history may be incomplete. Run hfgit.init() on it again to finish (the folder's files are not changed).", path.display())]
    InitInterrupted { path: PathBuf },

    /// A clone or `init` target that is already a git work tree, of another remote or of none.
    #[error("{} is already a git work tree ({detail}), so nothing was written to it. Clone into another directory, or delete its .git directory to start over.", path.display())]
    OtherRepository { path: PathBuf, detail: String },

    /// A branch or tag created under a name that is taken.
    #[error("A {kind} named '{name}' already exists: choose another name, delete the old {kind} first, or pass exist_ok=True to keep it as it is.")]
    RevisionExists { kind: &'static str, name: String },

    /// The branch to delete is the one checked out.
    #[error("Cannot delete branch '{name}': it is checked out in {}. Check out another branch first, then delete it.", path.display())]
    BranchCheckedOut { name: String, path: PathBuf },

    /// Deleting the branch would lose commits that no other branch and no remote branch has.
    #[error("Branch '{name}' has {count} commit(s) that neither the checked-out branch nor any remote-tracking branch contains, so deleting it would lose them (nothing was deleted). Push or merge them first, or pass force=True to delete it anyway.")]
    UnmergedBranch { name: String, count: usize },

    /// A path that the named revision does not hold.
    #[error("'{path}' does not exist in {revision}. Paths are relative to the top of the work tree, with '/' separators.")]
    EntryNotFound { path: String, revision: String },

    /// Paths given to a commit that match no file, as `git add` says of a mistyped pathspec.
    #[error("These paths match no file in the work tree, the index or HEAD: {}. Check their spelling; paths are relative to the top of the work tree (or absolute inside it). Nothing was committed.", specs.join(", "))]
    PathspecNoMatch { specs: Vec<String> },

    /// Paths given to `restore` that match no file of the source it restores from.
    #[error("These paths match no file in {restored_from}: {}. Check their spelling; paths are relative to the top of the work tree (or absolute inside it). Nothing was restored.", specs.join(", "))]
    PathspecNoMatchIn {
        specs: Vec<String>,
        restored_from: String,
    },

    /// A Git LFS file whose content is not in the local store, asked for without a download.
    #[error("'{path}' at {revision} is a Git LFS file of {size} bytes whose content is not in .git/lfs/objects, and show() does not download. Check that revision out (repo.checkout(...)), which downloads its LFS files, or run repo.lfs_pull() when it is the checked-out one, then call show() again.")]
    LfsNotDownloaded {
        path: String,
        revision: String,
        size: u64,
    },

    /// A commit path names files that `.gitignore` excludes (`git add` refuses them too).
    #[error("These paths are ignored by a .gitignore rule, so they were not committed: {}. Remove or narrow the rule (or add a `!` exception for them), then commit again.", paths.join(", "))]
    PathIgnored { paths: Vec<String> },

    /// Directories of the work tree that are git repositories of their own.
    #[error("These directories are git repositories of their own inside {}: {}. hfgit does not commit nested repositories (git would record only a gitlink, not their files). Move them out of the work tree, list them in .gitignore, or delete their .git to commit their files.", path.display(), paths.join(", "))]
    NestedRepository { path: PathBuf, paths: Vec<String> },

    /// Files of a checkpoint submission were rewritten in place before they could be read.
    #[error("These files were rewritten after the submission recorded them and before they could be read, so the submission was not committed (a later one carries the new content): {}. To have every submission pushed, write each checkpoint to a new file and os.replace() it into place, or call pusher.wait() before saving again.", paths.join(", "))]
    SnapshotOverwritten { paths: Vec<String> },

    /// `create_repo` of a repo that is already there (the Hub answers 409).
    #[error(
        "Repository {target} already exists: {reason}. Pass exist_ok=True to use it as it is."
    )]
    RepositoryExists { target: String, reason: String },

    /// The token is valid but may not update this ref (a read token, or no write access to the
    /// repo): the Hub's `DENIED update <ref>: forbidden`, or a 403 from its LFS batch API.
    #[error("The token cannot write to {reference} of {target} (the Hub said: {reason}). To propose these commits anyway, push with create_pr=True: that opens a pull request and pushes them to it, which a read token may do. Or use a token with write access to this repo (https://huggingface.co/settings/tokens).")]
    WriteForbidden {
        target: String,
        reference: String,
        reason: String,
    },

    /// `push(pr=N)` or a `refs/pr/N` revision where the repo has no pull request N.
    #[error("Pull request #{num} not found in {target}: {reason}. Check the number on the repo's Community tab, or push with create_pr=True to open a new one.")]
    PullRequestNotFound {
        num: u64,
        target: String,
        reason: String,
    },

    /// The Hub refused to open a pull request (403): discussions and pull requests are turned
    /// off for this repo, or the token may not open them.
    #[error("The Hub refused to open a pull request on {target}: {reason}. Pull requests (and discussions) may be disabled in the repo's settings, or the token may not open them; ask the repo's owner, or use a token that can.")]
    PullRequestForbidden { target: String, reason: String },

    /// `HF_HUB_OFFLINE` is set and the call needs the network.
    #[error("Offline mode is on (HF_HUB_OFFLINE is set), so hfgit did not contact {target}. Local calls (commit, status, log) work offline; unset HF_HUB_OFFLINE to reach the Hub.")]
    Offline { target: String },

    /// A token would travel in clear text to a host other than this machine.
    #[error("Refusing to send a token over plain http:// to {host}: use https://, or token=False for anonymous access")]
    InsecureTransport { host: String },

    /// An argument that cannot be right (malformed repo id, path outside the work tree, ...).
    #[error("Invalid argument: {0}")]
    InvalidInput(String),

    /// The user interrupted the operation (Ctrl-C) or a progress callback asked to stop.
    #[error("Operation cancelled")]
    Cancelled,

    /// Files the Hub would refuse as plain git blobs, with auto-tracking turned off.
    #[error("These files are too large or too binary for the Hub without Git LFS: {}. Track them in .gitattributes (git lfs track) or commit with lfs_auto_track=True.", paths.join(", "))]
    LfsUntracked { paths: Vec<String> },

    /// A Git LFS failure: pointer, local object store, batch API or transfer.
    #[error(transparent)]
    Lfs(#[from] crate::lfs::LfsError),

    /// A local file-system failure.
    #[error("I/O error while {context}: {source}")]
    Io {
        context: String,
        /// The file or directory involved, when there is one (Python's `OSError.filename`).
        path: Option<PathBuf>,
        #[source]
        source: std::io::Error,
    },

    /// Any other libgit2 failure, already redacted.
    #[error("Git error: {0}")]
    Git(String),
}

impl HfGitError {
    pub fn invalid(detail: impl Into<String>) -> Self {
        Self::InvalidInput(detail.into())
    }

    pub fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        Self::Io {
            context: context.into(),
            path: None,
            source,
        }
    }

    /// An I/O failure on `path`, which the message and Python's `OSError.filename` name.
    pub fn io_at(what: &str, path: &std::path::Path, source: std::io::Error) -> Self {
        Self::Io {
            context: format!("{what} {}", path.display()),
            path: Some(path.to_path_buf()),
            source,
        }
    }
}

impl From<crate::net::InvalidSetting> for HfGitError {
    fn from(setting: crate::net::InvalidSetting) -> Self {
        Self::InvalidInput(setting.detail)
    }
}

impl From<crate::net::proxy::ProxyProblem> for HfGitError {
    fn from(problem: crate::net::proxy::ProxyProblem) -> Self {
        Self::Proxy {
            proxy: problem.proxy,
            detail: problem.detail,
        }
    }
}

/// libgit2 failures outside any network context (opening, indexing, writing objects).
impl From<git2::Error> for HfGitError {
    fn from(err: git2::Error) -> Self {
        classify_git_error(&err, &GitContext::local())
    }
}
