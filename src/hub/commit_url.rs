//! The Hub's web page of a commit: `{endpoint}/{prefix}{repo_id}/commit/{sha}`, where `prefix` is
//! "" for models and `datasets/` / `spaces/` otherwise.
//!
//! A git remote of the Hub is that same `{endpoint}/{prefix}{repo_id}` (see
//! [`super::parse_remote`]), so the page is the remote's URL, without credentials, a trailing
//! `/` or `.git`, followed by `/commit/{sha}`: the link a training log or a model card can show
//! for the checkpoint it just pushed.

use super::parse_remote;
use crate::error::Result;

/// The web page of commit `sha` of the Hub repo whose git URL is `remote_url`.
pub fn commit_url(remote_url: &str, sha: &str) -> Result<String> {
    let spec = parse_remote(remote_url, None, None, None)?;
    let base = spec.clean_url();
    let base = base.strip_suffix(".git").unwrap_or(base);
    Ok(format!("{base}/commit/{sha}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn models_datasets_and_spaces_keep_their_prefix() {
        let sha = "0123456789abcdef0123456789abcdef01234567";
        for (remote, page) in [
            (
                "https://huggingface.co/alice/bert",
                "https://huggingface.co/alice/bert",
            ),
            (
                "https://huggingface.co/datasets/alice/d.git",
                "https://huggingface.co/datasets/alice/d",
            ),
            (
                "https://huggingface.co/spaces/alice/s/",
                "https://huggingface.co/spaces/alice/s",
            ),
            ("http://127.0.0.1:8080/gpt2", "http://127.0.0.1:8080/gpt2"),
        ] {
            assert_eq!(
                commit_url(remote, sha).unwrap(),
                format!("{page}/commit/{sha}")
            );
        }
    }

    #[test]
    fn credentials_in_the_remote_url_stay_out_of_the_page() {
        let url = commit_url("https://user:hf_secret@huggingface.co/alice/bert", "abc").unwrap();
        assert_eq!(url, "https://huggingface.co/alice/bert/commit/abc");
    }
}
