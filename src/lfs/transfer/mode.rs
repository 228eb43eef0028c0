//! Which upload transfer a push asks the LFS server for: Xet when it can, or one forced.
//!
//! `auto` offers `xet` (after `basic` and `multipart`) and falls back to `basic`/`multipart` for
//! the push when the Xet path fails for a reason that is not the user's; `xet` offers it and
//! never falls back; `basic` never offers it. The caller's choice wins, then the environment
//! variable `HFGIT_LFS_TRANSFER`, then `auto`. A wheel built without the `xet` feature treats
//! `auto` as `basic` and refuses `xet`.

use std::str::FromStr;

use crate::lfs::error::LfsError;

/// The environment variable that picks the transfer when the caller does not.
pub const TRANSFER_ENV: &str = "HFGIT_LFS_TRANSFER";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LfsTransferMode {
    /// Xet when the server offers it and this build has it; else basic/multipart.
    #[default]
    Auto,
    /// Xet only: an error if the server does not choose it or the Xet upload fails.
    Xet,
    /// basic/multipart only, as git-lfs without git-xet.
    Basic,
}

impl FromStr for LfsTransferMode {
    type Err = LfsError;

    fn from_str(text: &str) -> Result<Self, LfsError> {
        match text.trim().to_ascii_lowercase().as_str() {
            "" | "auto" => Ok(Self::Auto),
            "xet" => Ok(Self::Xet),
            "basic" | "multipart" | "lfs" => Ok(Self::Basic),
            _ => Err(LfsError::InvalidSetting {
                detail: format!(
                    "unknown LFS transfer {text:?}: expected \"auto\", \"xet\" or \"basic\" \
                     (in any case; \"multipart\" and \"lfs\" also mean basic, and empty means \
                     auto)"
                ),
            }),
        }
    }
}

impl LfsTransferMode {
    /// `HFGIT_LFS_TRANSFER`, or `auto` when unset.
    pub fn from_env() -> Result<Self, LfsError> {
        match std::env::var(TRANSFER_ENV) {
            Ok(value) => value.parse().map_err(|err| match err {
                LfsError::InvalidSetting { detail } => LfsError::InvalidSetting {
                    detail: format!("{TRANSFER_ENV}: {detail}"),
                },
                other => other,
            }),
            Err(_) => Ok(Self::Auto),
        }
    }

    /// Whether the batch request offers `xet`; `Err` for `xet` in a build without it.
    pub(crate) fn offers_xet(self) -> Result<bool, LfsError> {
        match self {
            Self::Basic => Ok(false),
            Self::Auto => Ok(cfg!(feature = "xet")),
            Self::Xet if cfg!(feature = "xet") => Ok(true),
            Self::Xet => Err(LfsError::InvalidSetting {
                detail: "the Xet transfer was asked for, but this build of hfgit has no Xet \
                         support (cargo feature `xet`)"
                    .to_owned(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transfer_names_parse_case_insensitively_and_unknown_ones_are_refused() {
        assert_eq!(
            "AUTO".parse::<LfsTransferMode>().unwrap(),
            LfsTransferMode::Auto
        );
        assert_eq!(
            " xet ".parse::<LfsTransferMode>().unwrap(),
            LfsTransferMode::Xet
        );
        assert_eq!(
            "basic".parse::<LfsTransferMode>().unwrap(),
            LfsTransferMode::Basic
        );
        assert!("ftp".parse::<LfsTransferMode>().is_err());
    }

    #[test]
    fn basic_never_offers_xet_and_auto_offers_it_only_when_built_in() {
        assert!(!LfsTransferMode::Basic.offers_xet().unwrap());
        assert_eq!(
            LfsTransferMode::Auto.offers_xet().unwrap(),
            cfg!(feature = "xet")
        );
        assert_eq!(
            LfsTransferMode::Xet.offers_xet().is_ok(),
            cfg!(feature = "xet")
        );
    }
}
