//! Converting Python arguments into the core's types, keeping the token secret from the start.

use std::path::PathBuf;

use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::PyBool;

use crate::auth::{SecretString, TokenRequest};

/// `token=None` or `True` → look it up; `False` → anonymous; a string → that token.
pub fn token_request(token: Option<&Bound<'_, PyAny>>) -> PyResult<TokenRequest> {
    let Some(token) = token.filter(|t| !t.is_none()) else {
        return Ok(TokenRequest::Implicit);
    };
    if let Ok(flag) = token.cast::<PyBool>() {
        return Ok(if flag.is_true() {
            TokenRequest::Implicit
        } else {
            TokenRequest::Anonymous
        });
    }
    let text: String = token
        .extract()
        .map_err(|_| PyTypeError::new_err("token must be a str, True, False or None"))?;
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Ok(TokenRequest::Implicit);
    }
    Ok(TokenRequest::Explicit(SecretString::from(
        trimmed.to_owned(),
    )))
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
