//! Benchmarks of the catalog as it grows: what `keyhaven providers list` and the desktop's
//! catalog pay once per process (parse and validate every embedded file), what a hand-out pays
//! (one file, `Catalog::builtin_provider`), and the list as JSON.
//!
//! Run: `cargo bench -p keyhaven-core --bench catalog`. Target: the whole catalog < 20 ms on a
//! process's first load, one entry < 0.5 ms (the hand-out path must not grow with the catalog).

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
    // What one process pays: the first calls, before anything is cached (compiled patterns
    // are kept per process). One sample each; run the bench a few times to see the spread.
    let t = Instant::now();
    std::hint::black_box(Catalog::builtin_provider("gitlab-self-managed").unwrap());
    let one_cold = t.elapsed();
    let t = Instant::now();
    let n = Catalog::load_embedded().unwrap().len();
    let all_cold = t.elapsed();
    let all = time(30, || {
        std::hint::black_box(Catalog::load_embedded().unwrap());
    });
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/providers");
    let texts: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.path().extension().is_some_and(|x| x == "toml"))
        .map(|e| std::fs::read_to_string(e.path()).unwrap())
        .collect();
    let parse = time(30, || {
        for t in &texts {
            std::hint::black_box(toml::from_str::<keyhaven_core::catalog::ProviderDef>(t).unwrap());
        }
    });
    let one = time(500, || {
        std::hint::black_box(Catalog::builtin_provider("github").unwrap());
    });
    let json = time(100, || {
        let list = keyhaven_core::providers::catalog_summaries().unwrap();
        std::hint::black_box(serde_json::to_vec(&list).unwrap());
    });
    println!(
        "summary: first load and validation of all {n} entries in a process: {:.2} ms",
        all_cold.as_secs_f64() * 1e3
    );
    println!(
        "summary: first single entry in a process (a hand-out): {:.3} ms",
        one_cold.as_secs_f64() * 1e3
    );
    println!(
        "summary: load and validate all {n} entries again: median {:.2} ms",
        all.as_secs_f64() * 1e3
    );
    println!(
        "summary: of which TOML parsing alone: median {:.2} ms",
        parse.as_secs_f64() * 1e3
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
