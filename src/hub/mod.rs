//! The Hub's naming: repo ids, repo types, endpoints, and the git URLs they make.

mod commit_url;
mod repo_ref;
mod transport_policy;

pub use commit_url::commit_url;
pub use repo_ref::{parse_remote, RemoteSpec, RepoType, DEFAULT_ENDPOINT};
pub use transport_policy::{ensure_token_transport_is_safe, is_loopback_host};
