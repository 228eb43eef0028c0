//! `hfgit._native._xet_shard_files` and `_xet_reconstruct`: the two things `hfgit.testing.LocalHub`
//! asks of Xet storage (see `crate::lfs::transfer::local_cas`). Test support, not public API.

use pyo3::prelude::*;

use super::blocking::run_blocking;
use crate::lfs::transfer::local_cas::{reconstruct, shard_files};
use crate::HfGitError;

pub fn register(module: &Bound<'_, PyModule>) -> PyResult<()> {
    module.add_function(wrap_pyfunction!(_xet_shard_files, module)?)?;
    module.add_function(wrap_pyfunction!(_xet_reconstruct, module)?)?;
    Ok(())
}

/// `[(xet_hash, sha256 or None, size), ...]` for the files a serialized shard declares.
#[pyfunction]
fn _xet_shard_files(shard: &[u8]) -> PyResult<Vec<(String, Option<String>, u64)>> {
    let files = shard_files(shard)
        .map_err(|detail| HfGitError::invalid(format!("not a Xet shard: {detail}")))?;
    Ok(files
        .into_iter()
        .map(|file| (file.xet_hash, file.sha256, file.size))
        .collect())
}

/// Write the Xet file `xet_hash` (`size` bytes), reconstructed from the CAS, to `dest`.
#[pyfunction]
#[pyo3(signature = (cas_url, token, expires_at, xet_hash, size, dest))]
fn _xet_reconstruct(
    py: Python<'_>,
    cas_url: String,
    token: String,
    expires_at: u64,
    xet_hash: String,
    size: u64,
    dest: std::path::PathBuf,
) -> PyResult<()> {
    run_blocking(py, None, move |_| {
        reconstruct(&cas_url, &token, expires_at, &xet_hash, size, dest).map_err(HfGitError::from)
    })
}
