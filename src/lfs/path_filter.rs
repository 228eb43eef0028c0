//! Which LFS files to download: `clone(lfs=[...])` and `lfs_pull(include=, exclude=)` patterns.
//!
//! Patterns follow git-lfs's `--include` / `--exclude`: a pattern without `/` matches a file name
//! at any depth (`*.json`), one with `/` matches from the repository root (`ckpt/**`), and a
//! pattern naming a directory also covers everything below it.

use super::glob::Glob;

#[derive(Debug, Default)]
pub struct PathFilter {
    include: Option<Vec<Rule>>,
    exclude: Vec<Rule>,
}

#[derive(Debug)]
struct Rule {
    glob: Glob,
    anchored: bool,
}

impl PathFilter {
    /// Everything, unless `include` is given; never what `exclude` names.
    pub fn new(include: Option<&[String]>, exclude: &[String]) -> Self {
        Self {
            include: include.map(|patterns| patterns.iter().filter_map(|p| Rule::new(p)).collect()),
            exclude: exclude.iter().filter_map(|p| Rule::new(p)).collect(),
        }
    }

    pub fn allows(&self, path: &str) -> bool {
        let included = self
            .include
            .as_ref()
            .is_none_or(|rules| rules.iter().any(|rule| rule.matches(path)));
        included && !self.exclude.iter().any(|rule| rule.matches(path))
    }
}

impl Rule {
    fn new(pattern: &str) -> Option<Self> {
        let trimmed = pattern.trim().trim_start_matches("./");
        let trimmed = trimmed.strip_suffix('/').unwrap_or(trimmed);
        if trimmed.is_empty() {
            return None;
        }
        let anchored = trimmed.contains('/');
        let trimmed = trimmed.trim_start_matches('/');
        Some(Self {
            glob: Glob::new(trimmed.as_bytes())?,
            anchored,
        })
    }

    fn matches(&self, path: &str) -> bool {
        if self.anchored {
            // The path itself, or any directory above it.
            let mut prefix_end = path.len();
            loop {
                if self.glob.matches(&path.as_bytes()[..prefix_end]) {
                    return true;
                }
                match path[..prefix_end].rfind('/') {
                    Some(slash) => prefix_end = slash,
                    None => return false,
                }
            }
        }
        path.split('/')
            .any(|segment| self.glob.matches(segment.as_bytes()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filter(include: Option<&[&str]>, exclude: &[&str]) -> PathFilter {
        let own = |list: &[&str]| list.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let include = include.map(own);
        PathFilter::new(include.as_deref(), &own(exclude))
    }

    #[test]
    fn no_patterns_allow_everything() {
        assert!(filter(None, &[]).allows("a/b/model.safetensors"));
    }

    #[test]
    fn a_name_pattern_matches_at_any_depth() {
        let f = filter(Some(&["*.json", "model-0000*"]), &[]);
        assert!(f.allows("config.json"));
        assert!(f.allows("sub/dir/tokenizer.json"));
        assert!(f.allows("model-00001-of-00002.safetensors"));
        assert!(!f.allows("pytorch_model.bin"));
    }

    #[test]
    fn a_pattern_with_a_slash_is_anchored_and_covers_directories() {
        let f = filter(Some(&["ckpt/step-*"]), &[]);
        assert!(f.allows("ckpt/step-100/model.bin"));
        assert!(!f.allows("old/ckpt/step-100/model.bin"));
    }

    #[test]
    fn exclude_wins_over_include() {
        let f = filter(Some(&["*.bin"]), &["optimizer*"]);
        assert!(f.allows("model.bin"));
        assert!(!f.allows("optimizer.bin"));
    }
}
