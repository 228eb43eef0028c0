//! Checkout settings shared by clone and pull: safe by default, progress into the monitor.

use git2::build::CheckoutBuilder;

use crate::progress::{Monitor, Phase};

pub fn checkout_with_progress(monitor: &Monitor) -> CheckoutBuilder<'_> {
    let mut checkout = CheckoutBuilder::new();
    checkout.safe();
    checkout.progress(move |_path, done, total| {
        monitor.report(Phase::Checkout, done as u64, total as u64, 0);
    });
    checkout
}
