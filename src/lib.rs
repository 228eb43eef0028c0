//! hfgit: clone, commit and push Hugging Face Hub repositories with libgit2.
//!
//! The crate is a pure Rust core (`auth`, `hub`, `remote`, `repo`, `progress`, `error`) and, behind
//! the `python` feature, the PyO3 bindings in `python/`. The core knows nothing of Python, so
//! `cargo test --no-default-features` exercises it on any machine.

pub mod auth;
pub mod error;
pub mod hub;
pub mod lfs;
pub mod net;
mod parallel;
mod platform;
pub mod progress;
pub mod remote;
pub mod repo;

#[cfg(feature = "python")]
mod python;

pub use error::{HfGitError, Result};
