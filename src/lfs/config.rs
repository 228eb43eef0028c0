//! git-lfs's own settings, read where and how git-lfs reads them, so a repository set up for
//! git-lfs downloads and uploads the same way under hfgit.
//!
//! The Hub's docs tell users to set these, and git-lfs-config(5) defines them
//! (<https://github.com/git-lfs/git-lfs/blob/main/docs/man/git-lfs-config.adoc>):
//!
//! - git config (repository, global and system files, merged by libgit2 as git merges them);
//! - the repository's committed `.lfsconfig`, in git config syntax: the work tree's file, else the
//!   index's copy, else `HEAD`'s ("CONFIGURATION FILES"). git config wins over it, and only the
//!   keys git-lfs deems safe are taken from it ("LFSCONFIG"), since anyone who can commit to a
//!   repository writes that file;
//! - the environment, for `GIT_LFS_SKIP_SMUDGE`.
//!
//! [`LfsConfig`] answers only what hfgit acts on: which files a checkout or an `lfs_pull`
//! downloads (`lfs.fetchinclude`, `lfs.fetchexclude`, `GIT_LFS_SKIP_SMUDGE`) and which setting
//! names the LFS endpoint (`lfs.url`, `lfs.pushurl`, `remote.<name>.lfsurl`,
//! `remote.<name>.lfspushurl`; [`super::endpoint`] turns it into a URL and a token decision).

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use git2::{Config, Repository};

use super::path_filter::PathFilter;
use crate::error::Result;

/// The committed file git-lfs reads its repository-wide settings from.
pub const LFSCONFIG: &str = ".lfsconfig";

/// The `lfs.*` keys git-lfs takes from `.lfsconfig` (git-lfs `config/git_fetcher.go`, `safeKeys`).
const SAFE_IN_LFSCONFIG: [&str; 8] = [
    "lfs.allowincompletepush",
    "lfs.fetchexclude",
    "lfs.fetchinclude",
    "lfs.gitprotocol",
    "lfs.locksverify",
    "lfs.pushurl",
    "lfs.skipdownloaderrors",
    "lfs.url",
];

/// Which way objects go: the LFS endpoint of an upload may be configured apart from downloads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    Download,
    Upload,
}

/// git-lfs's settings for one repository, as read when the operation started.
pub struct LfsConfig {
    git: Option<Config>,
    lfsconfig: Option<Config>,
}

impl LfsConfig {
    /// Read the settings of `repo`: its git config, and its `.lfsconfig` from the work tree, the
    /// index or `HEAD`, in that order. A `.lfsconfig` that cannot be parsed is ignored (git-lfs
    /// reports it and goes on without it).
    pub fn load(repo: &Repository) -> Result<Self> {
        Ok(Self {
            git: Some(repo.config()?.snapshot()?),
            lfsconfig: committed_lfsconfig(repo),
        })
    }

    #[cfg(test)]
    fn from_files(git: Option<&Path>, lfsconfig: Option<&Path>) -> Result<Self> {
        let open = |path: &Path| Config::open(path).and_then(|mut c| c.snapshot());
        Ok(Self {
            git: git.map(open).transpose()?,
            lfsconfig: lfsconfig.map(open).transpose()?,
        })
    }

    /// `lfs.fetchinclude`: the only paths a checkout or `lfs_pull` downloads; `None` when unset or
    /// empty (everything).
    pub fn fetch_include(&self) -> Option<Vec<String>> {
        let patterns = split_patterns(&self.get("lfs.fetchinclude")?);
        (!patterns.is_empty()).then_some(patterns)
    }

    /// `lfs.fetchexclude`: paths a checkout or `lfs_pull` never downloads.
    pub fn fetch_exclude(&self) -> Vec<String> {
        self.get("lfs.fetchexclude")
            .map(|value| split_patterns(&value))
            .unwrap_or_default()
    }

    /// The files a checkout (clone, pull) writes out, as git-lfs's smudge filter decides: none when
    /// `GIT_LFS_SKIP_SMUDGE` is true, else those `lfs.fetchinclude` / `lfs.fetchexclude` allow
    /// (git-lfs `commands/command_smudge.go` and `command_filter_process.go`).
    pub fn checkout_filter(&self) -> Option<PathFilter> {
        if skip_smudge_requested() {
            return None;
        }
        Some(PathFilter::new(
            self.fetch_include().as_deref(),
            &self.fetch_exclude(),
        ))
    }

    /// The files `lfs_pull` downloads, as `git lfs pull -I/-X` decides: each list given replaces
    /// its setting, the other still comes from `lfs.fetchinclude` / `lfs.fetchexclude`
    /// (git-lfs `commands/commands.go`, `determineIncludeExcludePaths`). `GIT_LFS_SKIP_SMUDGE`
    /// does not apply: it is about checkouts, and `git lfs pull` ignores it.
    pub fn fetch_filter(
        &self,
        include: Option<Vec<String>>,
        exclude: Option<Vec<String>>,
    ) -> PathFilter {
        let include = include.or_else(|| self.fetch_include());
        let exclude = exclude.unwrap_or_else(|| self.fetch_exclude());
        PathFilter::new(include.as_deref(), &exclude)
    }

    /// The setting that names the LFS endpoint of `remote` for `operation`, as `(key, value)`, in
    /// git-lfs's order (`lfsapi/endpoint_finder.go`, `getEndpoint` and `RemoteEndpoint`): for an
    /// upload `lfs.pushurl`, then `lfs.url`, then `remote.<name>.lfspushurl`, then
    /// `remote.<name>.lfsurl`; a download skips the two push keys. `None`: derive the endpoint
    /// from the remote's URL. An empty value counts as unset, so an empty git config value
    /// switches off the one `.lfsconfig` sets.
    pub fn endpoint_setting(&self, remote: &str, operation: Operation) -> Option<(String, String)> {
        let upload = operation == Operation::Upload;
        let keys = [
            (upload, "lfs.pushurl".to_owned()),
            (true, "lfs.url".to_owned()),
            (upload, format!("remote.{remote}.lfspushurl")),
            (true, format!("remote.{remote}.lfsurl")),
        ];
        keys.into_iter()
            .filter(|(applies, _)| *applies)
            .find_map(|(_, key)| {
                let value = self.get(&key)?;
                let value = value.trim();
                (!value.is_empty()).then(|| (key, value.to_owned()))
            })
    }

    /// The value git-lfs would see for `key`: git config first, then `.lfsconfig` if the key is
    /// one git-lfs takes from there.
    fn get(&self, key: &str) -> Option<String> {
        read(self.git.as_ref(), key).or_else(|| {
            safe_in_lfsconfig(key)
                .then(|| read(self.lfsconfig.as_ref(), key))
                .flatten()
        })
    }
}

fn read(config: Option<&Config>, key: &str) -> Option<String> {
    config?.get_string(key).ok()
}

/// Whether hfgit takes `key` from `.lfsconfig`: git-lfs's safe keys and `remote.<name>.lfsurl`
/// (git-lfs `config/git_fetcher.go`, `readGitConfig`). git-lfs also lets through any other key of
/// a remote whose name has a dot in it; hfgit does not.
fn safe_in_lfsconfig(key: &str) -> bool {
    let lower = key.to_ascii_lowercase();
    if let Some(remote_key) = lower.strip_prefix("remote.") {
        return remote_key
            .strip_suffix(".lfsurl")
            .is_some_and(|name| !name.is_empty());
    }
    SAFE_IN_LFSCONFIG.contains(&lower.as_str())
}

/// A comma-separated pattern list, cleaned as git-lfs cleans `-I`/`-X` and the fetch settings
/// (git-lfs `tools/filetools.go`, `CleanPaths`): each item trimmed, one trailing `/` or `\`
/// dropped; empty items are dropped.
pub fn split_patterns(value: &str) -> Vec<String> {
    value
        .split(',')
        .map(|item| {
            let item = item.trim();
            item.strip_suffix('/')
                .or_else(|| item.strip_suffix('\\'))
                .unwrap_or(item)
                .to_owned()
        })
        .filter(|item| !item.is_empty())
        .collect()
}

/// Whether `GIT_LFS_SKIP_SMUDGE` asks checkouts to leave LFS files as pointers.
pub fn skip_smudge_requested() -> bool {
    std::env::var("GIT_LFS_SKIP_SMUDGE").is_ok_and(|value| git_lfs_bool(&value))
}

/// A boolean the way git-lfs reads environment variables (git-lfs `config/environment.go`,
/// `Bool`): `true`, `1`, `on`, `yes`, `t` in any case are true; anything else, and an empty
/// value, is false.
pub fn git_lfs_bool(value: &str) -> bool {
    matches!(
        value.to_ascii_lowercase().as_str(),
        "true" | "1" | "on" | "yes" | "t"
    )
}

/// `.lfsconfig` from the work tree, else the index, else `HEAD` (git-lfs `git/config.go`,
/// `Sources`). A work-tree file that exists but is not a readable regular file stops the search,
/// as git-lfs only looks further when the file is missing.
fn committed_lfsconfig(repo: &Repository) -> Option<Config> {
    if let Some(workdir) = repo.workdir() {
        let path = workdir.join(LFSCONFIG);
        match fs::metadata(&path) {
            Ok(meta) if meta.is_file() => {
                return Config::open(&path).and_then(|mut c| c.snapshot()).ok();
            }
            Ok(_) => return None,
            Err(err) if err.kind() != std::io::ErrorKind::NotFound => return None,
            Err(_) => {}
        }
        let staged = repo
            .index()
            .ok()
            .and_then(|index| index.get_path(Path::new(LFSCONFIG), 0))
            .map(|entry| entry.id);
        if let Some(id) = staged {
            return blob_config(repo, id);
        }
    }
    let id = repo
        .head()
        .ok()?
        .peel_to_tree()
        .ok()?
        .get_path(Path::new(LFSCONFIG))
        .ok()?
        .id();
    blob_config(repo, id)
}

/// Parse a committed `.lfsconfig` blob with libgit2's config parser. libgit2 reads config only
/// from files, so the blob is written to a private file in the git directory and removed once
/// parsed.
fn blob_config(repo: &Repository, id: git2::Oid) -> Option<Config> {
    static SEQUENCE: AtomicU64 = AtomicU64::new(0);
    let blob = repo.find_blob(id).ok()?;
    let path: PathBuf = repo.path().join(format!(
        "hfgit-lfsconfig-{}-{}.tmp",
        std::process::id(),
        SEQUENCE.fetch_add(1, Ordering::Relaxed)
    ));
    let written = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&path)
        .and_then(|mut file| std::io::Write::write_all(&mut file, blob.content()));
    let parsed = written
        .ok()
        .and_then(|()| Config::open(&path).and_then(|mut c| c.snapshot()).ok());
    let _ = fs::remove_file(&path);
    parsed
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let path = dir.join(name);
        fs::write(&path, text).unwrap();
        path
    }

    fn config(git: &str, lfsconfig: &str) -> LfsConfig {
        let dir = tempfile::tempdir().unwrap();
        let git = write(dir.path(), "gitconfig", git);
        let lfs = write(dir.path(), "lfsconfig", lfsconfig);
        LfsConfig::from_files(Some(&git), Some(&lfs)).unwrap()
    }

    fn own(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn fetch_lists_are_comma_separated_and_cleaned_like_git_lfs() {
        let config = config(
            "[lfs]\n\tfetchinclude = \" *.json , ckpt/ ,, data\\\\ \"\n",
            "[lfs]\n\tfetchexclude = *.bin,optimizer*\n",
        );
        assert_eq!(
            config.fetch_include(),
            Some(own(&["*.json", "ckpt", "data"]))
        );
        assert_eq!(config.fetch_exclude(), own(&["*.bin", "optimizer*"]));
    }

    #[test]
    fn an_empty_fetchinclude_means_everything() {
        let config = config("[lfs]\n\tfetchinclude = \"  \"\n", "");
        assert_eq!(config.fetch_include(), None);
        assert!(config.fetch_exclude().is_empty());
    }

    #[test]
    fn git_config_wins_over_lfsconfig() {
        let config = config(
            "[lfs]\n\tfetchexclude = *.safetensors\n",
            "[lfs]\n\tfetchexclude = *.bin\n\tfetchinclude = sub\n",
        );
        assert_eq!(config.fetch_exclude(), own(&["*.safetensors"]));
        assert_eq!(config.fetch_include(), Some(own(&["sub"])));
    }

    #[test]
    fn lfsconfig_gives_only_the_keys_git_lfs_deems_safe() {
        let config = config(
            "",
            "[lfs]\n\turl = https://lfs.example/a\n\
             [remote \"origin\"]\n\tlfsurl = https://lfs.example/b\n\tlfspushurl = https://evil.example/c\n",
        );
        assert_eq!(
            config.endpoint_setting("origin", Operation::Upload),
            Some(("lfs.url".into(), "https://lfs.example/a".into()))
        );
        assert_eq!(config.get("remote.origin.lfspushurl"), None);
        assert_eq!(
            config.get("remote.origin.lfsurl").as_deref(),
            Some("https://lfs.example/b")
        );
        assert!(safe_in_lfsconfig("lfs.FetchExclude"));
        assert!(safe_in_lfsconfig("remote.my.fork.lfsurl"));
        assert!(!safe_in_lfsconfig("remote.origin.url"));
        assert!(!safe_in_lfsconfig("remote.my.fork.lfspushurl"));
        assert!(!safe_in_lfsconfig("remote.lfsurl"));
        assert!(!safe_in_lfsconfig("core.sshcommand"));
        assert!(!safe_in_lfsconfig("lfs.extension.x.smudge"));
    }

    #[test]
    fn endpoint_settings_follow_git_lfs_precedence() {
        let all = "[lfs]\n\turl = L\n\tpushurl = LP\n\
                   [remote \"origin\"]\n\tlfsurl = R\n\tlfspushurl = RP\n";
        let config = config(all, "");
        let pick = |op| config.endpoint_setting("origin", op).map(|(key, _)| key);
        assert_eq!(pick(Operation::Download).as_deref(), Some("lfs.url"));
        assert_eq!(pick(Operation::Upload).as_deref(), Some("lfs.pushurl"));

        let remote_only =
            self::config("[remote \"origin\"]\n\tlfsurl = R\n\tlfspushurl = RP\n", "");
        let pick = |op| remote_only.endpoint_setting("origin", op).map(|(_, v)| v);
        assert_eq!(pick(Operation::Download).as_deref(), Some("R"));
        assert_eq!(pick(Operation::Upload).as_deref(), Some("RP"));
        assert_eq!(
            remote_only.endpoint_setting("upstream", Operation::Download),
            None
        );

        let url_beats_remote = self::config(
            "[lfs]\n\turl = L\n[remote \"origin\"]\n\tlfspushurl = RP\n",
            "",
        );
        assert_eq!(
            url_beats_remote
                .endpoint_setting("origin", Operation::Upload)
                .map(|(_, v)| v)
                .as_deref(),
            Some("L")
        );
    }

    #[test]
    fn an_empty_git_config_value_switches_off_the_lfsconfig_one() {
        let config = config("[lfs]\n\turl =\n", "[lfs]\n\turl = https://lfs.example/a\n");
        assert_eq!(config.endpoint_setting("origin", Operation::Download), None);
    }

    #[test]
    fn skip_smudge_values_follow_git_lfs_booleans() {
        for value in ["1", "true", "TRUE", "on", "Yes", "t"] {
            assert!(git_lfs_bool(value), "{value}");
        }
        for value in ["", "0", "false", "off", "no", "f", "2", "y", " 1"] {
            assert!(!git_lfs_bool(value), "{value:?}");
        }
    }

    #[test]
    fn fetch_filter_replaces_each_setting_only_when_its_list_is_given() {
        let config = config("[lfs]\n\tfetchinclude = *.bin\n\tfetchexclude = sub\n", "");
        let defaults = config.fetch_filter(None, None);
        assert!(defaults.allows("a.bin"));
        assert!(!defaults.allows("sub/b.bin"));
        assert!(!defaults.allows("c.safetensors"));

        let include_given = config.fetch_filter(Some(own(&["*.safetensors"])), None);
        assert!(include_given.allows("c.safetensors"));
        assert!(!include_given.allows("sub/c.safetensors"));
        assert!(!include_given.allows("a.bin"));

        let exclude_given = config.fetch_filter(None, Some(Vec::new()));
        assert!(exclude_given.allows("sub/b.bin"));
    }

    fn repo_with_lfsconfig(text: &str) -> (tempfile::TempDir, Repository) {
        let dir = tempfile::tempdir().unwrap();
        let repo = Repository::init(dir.path()).unwrap();
        write(dir.path(), LFSCONFIG, text);
        let mut index = repo.index().unwrap();
        index.add_path(Path::new(LFSCONFIG)).unwrap();
        index.write().unwrap();
        let tree = repo.find_tree(index.write_tree().unwrap()).unwrap();
        let sig = git2::Signature::now("t", "t@example.com").unwrap();
        repo.commit(Some("HEAD"), &sig, &sig, "lfsconfig", &tree, &[])
            .unwrap();
        drop(tree);
        (dir, repo)
    }

    fn lfsconfig_exclude(repo: &Repository) -> Vec<String> {
        let config = LfsConfig {
            git: None,
            lfsconfig: committed_lfsconfig(repo),
        };
        config.fetch_exclude()
    }

    #[test]
    fn lfsconfig_is_read_from_the_work_tree_first() {
        let (dir, repo) = repo_with_lfsconfig("[lfs]\n\tfetchexclude = committed\n");
        write(dir.path(), LFSCONFIG, "[lfs]\n\tfetchexclude = edited\n");
        assert_eq!(lfsconfig_exclude(&repo), own(&["edited"]));
    }

    #[test]
    fn a_missing_lfsconfig_falls_back_to_the_index_then_head() {
        let (dir, repo) = repo_with_lfsconfig("[lfs]\n\tfetchexclude = committed\n");
        fs::remove_file(dir.path().join(LFSCONFIG)).unwrap();
        assert_eq!(lfsconfig_exclude(&repo), own(&["committed"]));

        let mut index = repo.index().unwrap();
        index.remove_path(Path::new(LFSCONFIG)).unwrap();
        index.write().unwrap();
        assert_eq!(lfsconfig_exclude(&repo), own(&["committed"]));
        let leftovers: Vec<_> = fs::read_dir(repo.path())
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| {
                e.file_name()
                    .to_string_lossy()
                    .starts_with("hfgit-lfsconfig")
            })
            .collect();
        assert!(leftovers.is_empty(), "temporary files left behind");
    }

    #[test]
    fn a_staged_lfsconfig_is_read_before_head() {
        let (dir, repo) = repo_with_lfsconfig("[lfs]\n\tfetchexclude = committed\n");
        write(dir.path(), LFSCONFIG, "[lfs]\n\tfetchexclude = staged\n");
        let mut index = repo.index().unwrap();
        index.add_path(Path::new(LFSCONFIG)).unwrap();
        index.write().unwrap();
        fs::remove_file(dir.path().join(LFSCONFIG)).unwrap();
        assert_eq!(lfsconfig_exclude(&repo), own(&["staged"]));
    }

    #[test]
    fn a_malformed_lfsconfig_is_ignored() {
        let (dir, repo) = repo_with_lfsconfig("[lfs]\n\tfetchexclude = x\n");
        write(dir.path(), LFSCONFIG, "[lfs\nnot config at all");
        assert!(lfsconfig_exclude(&repo).is_empty());
    }
}
