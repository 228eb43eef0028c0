//! Turning libgit2's `(code, class, message)` triple into an [`HfGitError`] a user can act on.
//!
//! libgit2 reports most transport failures as a generic error with an HTTP status in the message,
//! so classification looks at the code and class first and at the (redacted) message last.

use git2::{ErrorClass, ErrorCode};

use super::HfGitError;
use crate::auth::redact;

/// What we know about the operation that failed, so a bare libgit2 error can be put in context.
#[derive(Debug, Clone, Default)]
pub struct GitContext {
    /// The repo as the user named it, safe to print (no credentials).
    pub target: String,
    /// Whether a token was offered for this operation.
    pub had_token: bool,
}

impl GitContext {
    pub fn local() -> Self {
        Self::default()
    }

    pub fn remote(target: impl Into<String>, had_token: bool) -> Self {
        Self {
            target: target.into(),
            had_token,
        }
    }
}

/// Classify a libgit2 error raised while working on `ctx`.
pub fn classify_git_error(err: &git2::Error, ctx: &GitContext) -> HfGitError {
    let message = redact::redact_text(err.message());
    let lower = message.to_ascii_lowercase();
    let target = ctx.target.clone();

    if let Some(local) = local_lock_failure(err, &message) {
        return local;
    }
    if let Some(local) = local_file_system_failure(err, &message) {
        return local;
    }
    if err.code() == ErrorCode::Certificate
        || err.class() == ErrorClass::Ssl
        || lower.contains("certificate")
    {
        return HfGitError::Certificate { detail: message };
    }
    if err.code() == ErrorCode::Auth || lower.contains("401") || lower.contains("authentication") {
        return HfGitError::Authentication {
            target,
            detail: auth_hint(ctx.had_token),
        };
    }
    if lower.contains("403") {
        return HfGitError::Authentication {
            target,
            detail:
                "the server refused access (403). Check that your token has access to this repo."
                    .into(),
        };
    }
    if lower.contains("404") {
        return HfGitError::RepositoryNotFound { target };
    }
    if err.code() == ErrorCode::NotFastForward {
        return HfGitError::PushRejected {
            reference: target,
            reason: "non-fast-forward: the remote has commits you do not have. Push with rebase=True to put your commits after them, pull first, or push with force=True to overwrite them.".into(),
        };
    }
    if matches!(
        err.class(),
        ErrorClass::Net | ErrorClass::Http | ErrorClass::Os
    ) || lower.contains("unexpected http status")
        || lower.contains("failed to connect")
        || lower.contains("timed out")
    {
        return HfGitError::Network { detail: message };
    }
    if err.code() == ErrorCode::Conflict || err.class() == ErrorClass::Checkout {
        return HfGitError::LocalChanges { detail: message };
    }
    HfGitError::Git(message)
}

/// A lock file that libgit2 could not create (another writer, or one left by a killed git), or a
/// ref that moved under a compare-and-swap: local contention, never a network failure, whatever
/// the operation around it was.
fn local_lock_failure(err: &git2::Error, message: &str) -> Option<HfGitError> {
    if err.code() == ErrorCode::Locked || message.contains("failed to lock file") {
        let path = message
            .split('\'')
            .nth(1)
            .map(std::path::PathBuf::from)
            .unwrap_or_default();
        return Some(HfGitError::RepositoryLocked {
            advice: git_lock_advice(&path),
            path,
            holder: "another git process".to_owned(),
        });
    }
    if err.code() == ErrorCode::Modified || message.contains("old reference value does not match") {
        let what = message.split('\'').nth(1).map_or_else(
            || "a reference".to_owned(),
            |name| format!("the reference {name}"),
        );
        return Some(HfGitError::ConcurrentChange { what });
    }
    None
}

/// libgit2 reports a full disk, a read-only file system or a permission problem while writing a
/// clone as an OS-class error, the same class as a refused connection. Those are the user's disk,
/// not the network: a retry loop that catches `ConnectionError` must not retry a full disk
/// forever. libgit2 keeps no errno, so it is read back from the `strerror` text it appends.
fn local_file_system_failure(err: &git2::Error, message: &str) -> Option<HfGitError> {
    const LOCAL_ERRNOS: [i32; 14] = [1, 2, 5, 13, 17, 20, 21, 23, 24, 27, 28, 30, 36, 122];
    if !matches!(err.class(), ErrorClass::Os | ErrorClass::Filesystem) {
        return None;
    }
    let lower = message.to_ascii_lowercase();
    if ["connect", "socket", "recv", "send", "resolve", "host"]
        .iter()
        .any(|network| lower.contains(network))
    {
        return None;
    }
    let strerror = |code: i32| {
        let text = std::io::Error::from_raw_os_error(code).to_string();
        text.split(" (os error").next().unwrap_or(&text).to_owned()
    };
    let (errno, text) = LOCAL_ERRNOS
        .into_iter()
        .map(|code| (code, strerror(code)))
        .find(|(_, text)| message.contains(text.as_str()))?;
    let what = message.replace(&format!(": {text}"), "");
    let path = message.split('\'').nth(1).map(std::path::PathBuf::from);
    Some(HfGitError::Io {
        context: format!("working on the local repository ({what})"),
        path,
        source: std::io::Error::from_raw_os_error(errno),
    })
}

/// What to do about a lock file of git's (`index.lock`, `<ref>.lock`), which can outlive a killed
/// process.
pub(crate) fn git_lock_advice(path: &std::path::Path) -> String {
    format!(
        "another git process is changing this repository; wait for it, then try again. If no git \
         process is running here, one was killed and left the lock behind: delete {} and try again",
        path.display()
    )
}

/// What to tell a user whose credentials did not get them in.
pub(crate) fn auth_hint(had_token: bool) -> String {
    if had_token {
        "the token was rejected. Check that it is valid and has access to this repo \
         (https://huggingface.co/settings/tokens)."
            .into()
    } else {
        "the repo is private, does not exist, or the operation needs a token. \
         Pass token=..., set HF_TOKEN, or log in with `hf auth login`."
            .into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn git_err(code: ErrorCode, class: ErrorClass, msg: &str) -> git2::Error {
        git2::Error::new(code, class, msg)
    }

    #[test]
    fn http_404_means_repository_not_found() {
        let err = git_err(
            ErrorCode::GenericError,
            ErrorClass::Http,
            "unexpected http status code: 404",
        );
        let ctx = GitContext::remote("alice/model", true);
        assert!(matches!(
            classify_git_error(&err, &ctx),
            HfGitError::RepositoryNotFound { .. }
        ));
    }

    #[test]
    fn auth_code_becomes_authentication_with_a_hint_to_pass_a_token() {
        let err = git_err(
            ErrorCode::Auth,
            ErrorClass::Http,
            "too many redirects or authentication replays",
        );
        let ctx = GitContext::remote("alice/private", false);
        let mapped = classify_git_error(&err, &ctx);
        assert!(matches!(mapped, HfGitError::Authentication { .. }));
        assert!(mapped.to_string().contains("HF_TOKEN"));
    }

    #[test]
    fn refused_connection_is_a_network_error() {
        let err = git_err(
            ErrorCode::GenericError,
            ErrorClass::Net,
            "failed to connect to 127.0.0.1: Connection refused",
        );
        assert!(matches!(
            classify_git_error(&err, &GitContext::local()),
            HfGitError::Network { .. }
        ));
    }

    #[test]
    fn untrusted_certificate_is_a_certificate_error() {
        let err = git_err(
            ErrorCode::Certificate,
            ErrorClass::Ssl,
            "the SSL certificate is invalid",
        );
        assert!(matches!(
            classify_git_error(&err, &GitContext::local()),
            HfGitError::Certificate { .. }
        ));
    }

    #[test]
    fn classified_messages_never_carry_url_credentials() {
        let err = git_err(
            ErrorCode::GenericError,
            ErrorClass::Net,
            "failed to resolve https://user:hf_abcdefghijklmnopqrstuvwxyz0123456789@example.com/x",
        );
        let text = classify_git_error(&err, &GitContext::local()).to_string();
        assert!(
            !text.contains("hf_abcdefghijklmnopqrstuvwxyz0123456789"),
            "{text}"
        );
        assert!(!text.contains("user:"), "{text}");
    }
}
