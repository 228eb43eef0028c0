//! Finding the token to use, in the order huggingface_hub uses (see hub-protocol.md §3):
//! an explicit argument, a token embedded in the URL the user passed, `HF_TOKEN`,
//! `HUGGING_FACE_HUB_TOKEN`, then the token file (`HF_TOKEN_PATH`, else `$HF_HOME/token`, else
//! `$XDG_CACHE_HOME/huggingface/token`, else `~/.cache/huggingface/token`), then a notebook's
//! secret store: Google Colab's `HF_TOKEN` secret.
//!
//! The notebook secret comes last because huggingface_hub reads it last since 2026-06
//! (`utils/_auth.py`, `get_token`: environment, file, Colab; commit `b60b6da07`, "Take google
//! colab token from env first"); before that it read Colab first. Reading it needs Python (and
//! may show the user a "grant access" prompt), so the core never reads it itself: the Python
//! layer resolves it once, only when no other source has a token, and hands it down with
//! [`set_notebook_secret`].

use std::path::PathBuf;
use std::sync::OnceLock;

use secrecy::SecretString;

/// What the caller asked for.
#[derive(Debug, Default)]
pub enum TokenRequest {
    /// Look in the usual places.
    #[default]
    Implicit,
    /// `token=False`: never send credentials.
    Anonymous,
    /// `token="hf_..."`.
    Explicit(SecretString),
}

/// The environment a token is resolved from; a trait so tests need not touch the process env.
pub trait TokenEnv {
    fn var(&self, key: &str) -> Option<String>;
    fn read_file(&self, path: &std::path::Path) -> Option<String>;
    /// A notebook's secret store (Colab's `HF_TOKEN` secret), when one was handed down.
    fn notebook_secret(&self) -> Option<String> {
        None
    }
}

/// The real process environment and file system.
pub struct ProcessEnv;

impl TokenEnv for ProcessEnv {
    fn var(&self, key: &str) -> Option<String> {
        std::env::var(key).ok()
    }

    fn read_file(&self, path: &std::path::Path) -> Option<String> {
        std::fs::read_to_string(path).ok()
    }

    fn notebook_secret(&self) -> Option<String> {
        NOTEBOOK_SECRET
            .get()
            .and_then(Option::as_ref)
            .map(|secret| secrecy::ExposeSecret::expose_secret(secret).to_owned())
    }
}

/// The notebook secret of this process: unset until the Python layer looked (once), then the
/// secret or `None` (no notebook, no secret, or access refused).
static NOTEBOOK_SECRET: OnceLock<Option<SecretString>> = OnceLock::new();

/// Record what the notebook's secret store holds; only the first call counts, as huggingface_hub
/// asks the store once per session.
pub fn set_notebook_secret(secret: Option<SecretString>) {
    let _ = NOTEBOOK_SECRET.set(secret);
}

/// Whether the notebook's secret store has been looked at in this process.
pub fn notebook_secret_checked() -> bool {
    NOTEBOOK_SECRET.get().is_some()
}

/// Whether an implicit lookup would find a token without the notebook secret: the caller asks
/// a notebook's store only when this is false.
pub fn implicit_token_without_notebook(env: &dyn TokenEnv) -> bool {
    is_truthy(env.var("HF_HUB_DISABLE_IMPLICIT_TOKEN")) || environment_or_file_token(env).is_some()
}

/// Pick the token for one operation. `from_url` is a token found in the URL's userinfo.
pub fn resolve_token(
    request: TokenRequest,
    from_url: Option<SecretString>,
    env: &dyn TokenEnv,
) -> Option<SecretString> {
    match request {
        TokenRequest::Anonymous => None,
        TokenRequest::Explicit(token) => Some(token),
        TokenRequest::Implicit => from_url.or_else(|| implicit_token(env)),
    }
}

fn implicit_token(env: &dyn TokenEnv) -> Option<SecretString> {
    if is_truthy(env.var("HF_HUB_DISABLE_IMPLICIT_TOKEN")) {
        return None;
    }
    environment_or_file_token(env)
        .or_else(|| env.notebook_secret().and_then(|value| clean(&value)))
        .map(SecretString::from)
}

fn environment_or_file_token(env: &dyn TokenEnv) -> Option<String> {
    ["HF_TOKEN", "HUGGING_FACE_HUB_TOKEN"]
        .iter()
        .find_map(|key| env.var(key).and_then(|value| clean(&value)))
        .or_else(|| {
            let path = token_file_path(env)?;
            env.read_file(&path).and_then(|value| clean(&value))
        })
}

/// Where huggingface_hub keeps the token written by `hf auth login`.
pub fn token_file_path(env: &dyn TokenEnv) -> Option<PathBuf> {
    if let Some(path) = env.var("HF_TOKEN_PATH").filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(path));
    }
    let hf_home = env
        .var("HF_HOME")
        .filter(|p| !p.is_empty())
        .map(PathBuf::from)
        .or_else(|| {
            env.var("XDG_CACHE_HOME")
                .filter(|p| !p.is_empty())
                .map(|cache| PathBuf::from(cache).join("huggingface"))
        })
        .or_else(|| {
            env.var("HOME")
                .filter(|p| !p.is_empty())
                .map(|home| PathBuf::from(home).join(".cache").join("huggingface"))
        })?;
    Some(hf_home.join("token"))
}

/// huggingface_hub strips line breaks and surrounding whitespace; an empty value means no token.
fn clean(raw: &str) -> Option<String> {
    let cleaned: String = raw.chars().filter(|c| *c != '\r' && *c != '\n').collect();
    let cleaned = cleaned.trim();
    (!cleaned.is_empty()).then(|| cleaned.to_string())
}

fn is_truthy(value: Option<String>) -> bool {
    matches!(
        value.as_deref().map(str::to_ascii_lowercase).as_deref(),
        Some("1" | "true" | "yes" | "on")
    )
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::path::Path;

    use secrecy::ExposeSecret;

    use super::*;

    #[derive(Default)]
    struct FakeEnv {
        vars: HashMap<&'static str, String>,
        files: HashMap<PathBuf, String>,
        notebook: Option<String>,
    }

    impl TokenEnv for FakeEnv {
        fn var(&self, key: &str) -> Option<String> {
            self.vars.get(key).cloned()
        }
        fn read_file(&self, path: &Path) -> Option<String> {
            self.files.get(path).cloned()
        }
        fn notebook_secret(&self) -> Option<String> {
            self.notebook.clone()
        }
    }

    #[test]
    fn the_notebook_secret_comes_after_the_environment_and_the_token_file() {
        let mut env = FakeEnv {
            notebook: Some(" hf_colab\n".into()),
            ..FakeEnv::default()
        };
        env.vars.insert("HF_HOME", "/hf".into());
        assert!(!implicit_token_without_notebook(&env));
        assert_eq!(
            resolved(TokenRequest::Implicit, None, &env).as_deref(),
            Some("hf_colab")
        );
        env.files
            .insert(PathBuf::from("/hf/token"), "hf_file\n".into());
        assert!(implicit_token_without_notebook(&env));
        assert_eq!(
            resolved(TokenRequest::Implicit, None, &env).as_deref(),
            Some("hf_file")
        );
        env.vars.insert("HF_TOKEN", "hf_env".into());
        assert_eq!(
            resolved(TokenRequest::Implicit, None, &env).as_deref(),
            Some("hf_env")
        );
        env.vars.insert("HF_HUB_DISABLE_IMPLICIT_TOKEN", "1".into());
        env.vars.remove("HF_TOKEN");
        env.files.clear();
        assert_eq!(resolved(TokenRequest::Implicit, None, &env), None);
    }

    fn resolved(request: TokenRequest, from_url: Option<&str>, env: &FakeEnv) -> Option<String> {
        resolve_token(request, from_url.map(SecretString::from), env)
            .map(|t| t.expose_secret().to_string())
    }

    #[test]
    fn explicit_token_wins_over_everything() {
        let mut env = FakeEnv::default();
        env.vars.insert("HF_TOKEN", "hf_env".into());
        let got = resolved(
            TokenRequest::Explicit("hf_arg".into()),
            Some("hf_url"),
            &env,
        );
        assert_eq!(got.as_deref(), Some("hf_arg"));
    }

    #[test]
    fn url_token_comes_before_the_environment() {
        let mut env = FakeEnv::default();
        env.vars.insert("HF_TOKEN", "hf_env".into());
        assert_eq!(
            resolved(TokenRequest::Implicit, Some("hf_url"), &env).as_deref(),
            Some("hf_url")
        );
    }

    #[test]
    fn anonymous_ignores_every_source() {
        let mut env = FakeEnv::default();
        env.vars.insert("HF_TOKEN", "hf_env".into());
        assert_eq!(
            resolved(TokenRequest::Anonymous, Some("hf_url"), &env),
            None
        );
    }

    #[test]
    fn hf_token_is_cleaned_and_empty_means_none() {
        let mut env = FakeEnv::default();
        env.vars.insert("HF_TOKEN", "  hf_abc\r\n".into());
        assert_eq!(
            resolved(TokenRequest::Implicit, None, &env).as_deref(),
            Some("hf_abc")
        );
        env.vars.insert("HF_TOKEN", " \n".into());
        env.vars
            .insert("HUGGING_FACE_HUB_TOKEN", "hf_legacy".into());
        assert_eq!(
            resolved(TokenRequest::Implicit, None, &env).as_deref(),
            Some("hf_legacy")
        );
    }

    #[test]
    fn token_file_follows_hf_token_path_then_hf_home_then_home() {
        let mut env = FakeEnv::default();
        env.vars.insert("HOME", "/home/u".into());
        assert_eq!(
            token_file_path(&env),
            Some(PathBuf::from("/home/u/.cache/huggingface/token"))
        );
        env.vars.insert("XDG_CACHE_HOME", "/xdg".into());
        assert_eq!(
            token_file_path(&env),
            Some(PathBuf::from("/xdg/huggingface/token"))
        );
        env.vars.insert("HF_HOME", "/hf".into());
        assert_eq!(token_file_path(&env), Some(PathBuf::from("/hf/token")));
        env.vars.insert("HF_TOKEN_PATH", "/custom/tok".into());
        assert_eq!(token_file_path(&env), Some(PathBuf::from("/custom/tok")));
    }

    #[test]
    fn token_file_is_read_when_no_variable_is_set() {
        let mut env = FakeEnv::default();
        env.vars.insert("HF_HOME", "/hf".into());
        env.files
            .insert(PathBuf::from("/hf/token"), "hf_file\n".into());
        assert_eq!(
            resolved(TokenRequest::Implicit, None, &env).as_deref(),
            Some("hf_file")
        );
    }

    #[test]
    fn disable_implicit_token_stops_env_and_file_tokens() {
        let mut env = FakeEnv::default();
        env.vars.insert("HF_TOKEN", "hf_env".into());
        env.vars.insert("HF_HUB_DISABLE_IMPLICIT_TOKEN", "1".into());
        assert_eq!(resolved(TokenRequest::Implicit, None, &env), None);
        assert_eq!(
            resolved(TokenRequest::Explicit("hf_arg".into()), None, &env).as_deref(),
            Some("hf_arg")
        );
    }
}
