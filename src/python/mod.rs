//! The PyO3 bindings: the only place in the crate that knows about Python.
//!
//! `hfgit._native` exposes plain functions taking and returning simple Python values; the pure
//! Python package (`python/hfgit/`) wraps them in the documented API, dataclasses and progress
//! bars. Every long call goes through [`blocking::run_blocking`] (GIL released, Ctrl-C honoured)
//! and every error through [`errors::to_py_err`] (one mapping, one exception hierarchy).

mod args;
mod blocking;
mod errors;
mod hub;
mod inspect;
mod operations;
mod refs;
mod setup;
mod snapshot;
mod undo;

use pyo3::prelude::*;

#[pymodule]
fn _native(module: &Bound<'_, PyModule>) -> PyResult<()> {
    module.add("__version__", env!("CARGO_PKG_VERSION"))?;
    module.add("LIBGIT2_VERSION", libgit2_version())?;
    operations::register(module)?;
    hub::register(module)?;
    inspect::register(module)?;
    snapshot::register(module)?;
    refs::register(module)?;
    undo::register(module)?;
    setup::register(module)?;
    Ok(())
}

fn libgit2_version() -> String {
    let version = git2::Version::get();
    let (major, minor, patch) = version.libgit2_version();
    format!("{major}.{minor}.{patch}")
}
