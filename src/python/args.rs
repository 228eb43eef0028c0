//! Converting Python arguments into the core's types, keeping the token secret from the start.

use std::path::PathBuf;

use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::PyBool;

use crate::auth::{
    implicit_token_without_notebook, notebook_secret_checked, set_notebook_secret, ProcessEnv,
    SecretString, TokenRequest,
};

/// `token=None` or `True` → look it up; `False` → anonymous; a string → that token.
///
/// Looking it up may need the notebook's secret store (Google Colab's `HF_TOKEN` secret), the
/// last source huggingface_hub reads. That takes Python, so it is read here, on the calling
/// thread with the GIL, by `hfgit._colab.colab_token()`: once per process, and only when no
/// other source has a token (so nobody is asked to grant access for nothing). The core gets it
/// through [`set_notebook_secret`] and keeps its place in the order.
pub fn token_request(token: Option<&Bound<'_, PyAny>>) -> PyResult<TokenRequest> {
    let Some(token) = token.filter(|t| !t.is_none()) else {
        return implicit();
    };
    if let Ok(flag) = token.cast::<PyBool>() {
        return if flag.is_true() {
            implicit()
        } else {
            Ok(TokenRequest::Anonymous)
        };
    }
    let text: String = token
        .extract()
        .map_err(|_| PyTypeError::new_err("token must be a str, True, False or None"))?;
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return implicit();
    }
    Ok(TokenRequest::Explicit(SecretString::from(
        trimmed.to_owned(),
    )))
}

fn implicit() -> PyResult<TokenRequest> {
    if !notebook_secret_checked() && !implicit_token_without_notebook(&ProcessEnv) {
        let secret: Option<String> = Python::attach(|py| {
            py.import("hfgit._colab")?
                .call_method0("colab_token")?
                .extract()
        })?;
        set_notebook_secret(secret.map(SecretString::from));
    }
    Ok(TokenRequest::Implicit)
}

/// A `str` or `os.PathLike` as a path.
pub fn path(value: &Bound<'_, PyAny>, what: &str) -> PyResult<PathBuf> {
    value
        .extract::<PathBuf>()
        .map_err(|_| PyTypeError::new_err(format!("{what} must be a str or os.PathLike")))
}

/// A list of paths, or None.
pub fn paths(value: Option<&Bound<'_, PyAny>>) -> PyResult<Option<Vec<PathBuf>>> {
    let Some(value) = value.filter(|v| !v.is_none()) else {
        return Ok(None);
    };
    if value.extract::<PathBuf>().is_ok() {
        return Ok(Some(vec![path(value, "paths")?]));
    }
    value
        .try_iter()?
        .map(|item| path(&item?, "each entry of paths"))
        .collect::<PyResult<Vec<_>>>()
        .map(Some)
}
