//! Hash a file the way `commit` does (streamed SHA-256, one core) and print bytes per second,
//! for comparison with `openssl speed -evp sha256`. Used by `benches/lfs_bench.py`.
//!
//! `cargo run --release --no-default-features --example sha256_throughput -- FILE [ROUNDS]`

use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

fn main() {
    let mut args = std::env::args().skip(1);
    let Some(path) = args.next().map(PathBuf::from) else {
        eprintln!("usage: sha256_throughput FILE [ROUNDS]");
        std::process::exit(2);
    };
    let rounds: usize = args.next().and_then(|r| r.parse().ok()).unwrap_or(3);
    let mut best = f64::INFINITY;
    let mut size = 0;
    for _ in 0..rounds {
        let started = Instant::now();
        let (oid, bytes) = hfgit::lfs::sha256_file(&path).expect("hashing failed");
        best = best.min(started.elapsed().as_secs_f64());
        size = bytes;
        let _ = oid;
    }
    // One line for the bench script to parse: bytes per second of the best round.
    let rate = size as f64 / best;
    writeln!(std::io::stdout(), "{rate:.0}").expect("writing to stdout");
}
