//! Benchmarks of the catalog as it grows: what `keyhaven providers list` and the desktop's
//! catalog pay once per process (parse and validate every embedded file), what a hand-out pays
//! (one file, `Catalog::builtin_provider`), and the list as JSON.
//!
//! Run: `cargo bench -p keyhaven-core --bench catalog`. Target: the whole catalog < 20 ms, one
//! entry < 0.5 ms (the hand-out path must not grow with the catalog).

use std::time::{Duration, Instant};

use keyhaven_core::catalog::Catalog;

#[path = "common/mod.rs"]
mod common;
use common::median;

fn time(runs: usize, mut f: impl FnMut()) -> Duration {
    for _ in 0..3 {
        f();
    }
    let times: Vec<Duration> = (0..runs)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .collect();
    median(times)
}

fn main() {
    let n = Catalog::load_embedded().unwrap().len();
    let all = time(30, || {
        std::hint::black_box(Catalog::load_embedded().unwrap());
    });
    let one = time(500, || {
        std::hint::black_box(Catalog::builtin_provider("github").unwrap());
    });
    let json = time(100, || {
        let list = keyhaven_core::providers::catalog_summaries().unwrap();
        std::hint::black_box(serde_json::to_vec(&list).unwrap());
    });
    println!(
        "summary: load and validate all {n} entries: median {:.2} ms",
        all.as_secs_f64() * 1e3
    );
    println!(
        "summary: one entry (hand-out path): median {:.3} ms",
        one.as_secs_f64() * 1e3
    );
    println!(
        "summary: providers list as JSON (loaded catalog): median {:.3} ms",
        json.as_secs_f64() * 1e3
    );
}
