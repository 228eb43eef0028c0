//! The Hub's naming: repo ids, repo types, endpoints, and the git URLs they make; and its HTTP
//! API (`api`): creating repos, `whoami`, pull requests.

pub mod api;
mod commit_url;
mod coordinates;
mod offline;
mod repo_ref;
mod transport_policy;

pub use commit_url::commit_url;
pub use coordinates::HubRepo;
pub use offline::{ensure_online, is_offline};
pub use repo_ref::{
    parse_remote, resolve_endpoint, validate_repo_id, RemoteSpec, RepoType, DEFAULT_ENDPOINT,
};
pub use transport_policy::{ensure_token_transport_is_safe, is_loopback_host};
