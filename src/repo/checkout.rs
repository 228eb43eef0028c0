//! Checkout settings shared by clone and pull: safe by default, progress into the monitor, and
//! which LFS files the checkout then downloads under git-lfs's settings.

use git2::build::CheckoutBuilder;

use crate::lfs::config::LfsConfig;
use crate::lfs::path_filter::PathFilter;
use crate::progress::{Monitor, Phase};

pub fn checkout_with_progress(monitor: &Monitor) -> CheckoutBuilder<'_> {
    let mut checkout = CheckoutBuilder::new();
    checkout.safe();
    checkout.progress(move |_path, done, total| {
        monitor.report(Phase::Checkout, done as u64, total as u64, 0);
    });
    checkout
}

/// The LFS files a checkout writes out, as git-lfs's smudge filter would
/// ([`LfsConfig::checkout_filter`]); `None` for none. A notice says when a setting held some back.
pub fn lfs_checkout_filter(settings: &LfsConfig, monitor: &Monitor) -> Option<PathFilter> {
    let filter = settings.checkout_filter();
    if filter.is_none() {
        monitor.notice(
            "GIT_LFS_SKIP_SMUDGE is set, so Git LFS files were left as pointers; \
             Repository.lfs_pull() downloads them",
        );
    } else if settings.fetch_include().is_some() || !settings.fetch_exclude().is_empty() {
        monitor.notice(
            "lfs.fetchinclude / lfs.fetchexclude (git config or .lfsconfig) apply, so Git LFS \
             files outside them were left as pointers; Repository.lfs_pull(include=..., \
             exclude=...) downloads them",
        );
    }
    filter
}
