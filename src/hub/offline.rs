//! `HF_HUB_OFFLINE`: the switch huggingface_hub users flip to keep a process off the network.
//!
//! huggingface_hub reads `HF_HUB_OFFLINE` (or the older `TRANSFORMERS_OFFLINE`) as true when it is
//! `1`, `ON`, `YES` or `TRUE` in any case (`constants.py`, `_is_true`), and then refuses every
//! HTTP request before it is sent (`OfflineModeIsEnabled`, `utils/_http.py`). hfgit does the same
//! at the three doors to the network (a libgit2 session, an LFS remote, the Hub API client), so a
//! clone, push, pull, `lfs_pull`, `create_repo` or `whoami` fails at once, before any request,
//! while commit, status and log keep working. The variable is read on every call rather than
//! once at start-up, so a notebook can turn offline mode on and off between cells.

use url::Url;

use crate::error::{HfGitError, Result};

/// The variables huggingface_hub reads, in its order.
const OFFLINE_VARIABLES: [&str; 2] = ["HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"];

/// Whether offline mode is on in this process's environment.
pub fn is_offline() -> bool {
    offline_in(|name| std::env::var(name).ok())
}

/// Refuse to contact `target` when offline mode is on.
pub fn ensure_online(target: &Url) -> Result<()> {
    if is_offline() {
        return Err(HfGitError::Offline {
            target: crate::lfs::transfer::short_url(target),
        });
    }
    Ok(())
}

fn offline_in(var: impl Fn(&str) -> Option<String>) -> bool {
    // huggingface_hub: `os.environ.get("HF_HUB_OFFLINE") or os.environ.get("TRANSFORMERS_OFFLINE")`,
    // so an empty HF_HUB_OFFLINE defers to TRANSFORMERS_OFFLINE.
    let value = OFFLINE_VARIABLES
        .iter()
        .find_map(|name| var(name).filter(|value| !value.is_empty()));
    value.is_some_and(|value| {
        matches!(
            value.to_ascii_uppercase().as_str(),
            "1" | "ON" | "YES" | "TRUE"
        )
    })
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn offline(vars: &[(&str, &str)]) -> bool {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        offline_in(|name| vars.get(name).cloned())
    }

    #[test]
    fn huggingface_hub_true_values_turn_offline_mode_on() {
        for value in ["1", "ON", "yes", "True", "TRUE"] {
            assert!(offline(&[("HF_HUB_OFFLINE", value)]), "{value}");
        }
        for value in ["0", "false", "off", "no", "2", " 1"] {
            assert!(!offline(&[("HF_HUB_OFFLINE", value)]), "{value}");
        }
        assert!(!offline(&[]));
    }

    #[test]
    fn transformers_offline_counts_when_hf_hub_offline_is_unset_or_empty() {
        assert!(offline(&[("TRANSFORMERS_OFFLINE", "1")]));
        assert!(offline(&[
            ("HF_HUB_OFFLINE", ""),
            ("TRANSFORMERS_OFFLINE", "1")
        ]));
        assert!(!offline(&[
            ("HF_HUB_OFFLINE", "0"),
            ("TRANSFORMERS_OFFLINE", "1")
        ]));
    }
}
