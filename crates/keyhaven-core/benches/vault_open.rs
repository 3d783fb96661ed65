//! Benchmark: opening the vault and running a first query, raw key vs SQLCipher's passphrase KDF.
//!
//! Why it matters: every `keyhaven token` call opens the vault. With the key kept in the OS
//! keychain we apply it as a raw key (`PRAGMA key = "x'…'"`), so no KDF runs on that hot path.
//! This bench opens the same database content keyed both ways (raw key, and a passphrase through
//! SQLCipher's default PBKDF2-HMAC-SHA512 with 256,000 iterations) and reports both, plus the
//! Argon2id derivation that passphrase-mode vaults pay once per process.
//!
//! Run: `cargo bench -p keyhaven-core --bench vault_open` (the summary lines at the end give the
//! medians and the ratio). Targets: raw-key open < 5 ms median, >= 50x faster than KDF.

use std::path::Path;
use std::time::{Duration, Instant};

use criterion::{Criterion, black_box};
use rusqlite::Connection;

const RAW_KEY: &str = "x'2b7e151628aed2a6abf7158809cf4f3c2b7e151628aed2a6abf7158809cf4f3c'";
const PASSPHRASE: &str = "correct horse battery staple";

/// Creates a vault-like database (the real schema's shape: a few tables, some rows).
fn create(path: &Path, key_pragma: &str) {
    let c = Connection::open(path).unwrap();
    c.execute_batch(&format!("PRAGMA key = \"{key_pragma}\";"))
        .unwrap();
    c.execute_batch(
        "PRAGMA journal_mode = WAL;
         CREATE TABLE connections (id TEXT PRIMARY KEY, provider_id TEXT, account TEXT, status TEXT);
         CREATE TABLE connection_fields (connection_id TEXT, name TEXT, value BLOB);
         CREATE TABLE audit_events (id INTEGER PRIMARY KEY, at INTEGER, action TEXT);",
    )
    .unwrap();
    for i in 0..200 {
        c.execute(
            "INSERT INTO connections VALUES (?1, 'github', ?2, 'connected')",
            (format!("c_{i}"), format!("user{i}")),
        )
        .unwrap();
    }
}

/// What every command does first: open, key, prove the key with one read.
fn open_and_first_query(path: &Path, key_pragma: &str) -> i64 {
    let c = Connection::open(path).unwrap();
    c.execute_batch(&format!("PRAGMA key = \"{key_pragma}\";"))
        .unwrap();
    c.query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get(0))
        .unwrap()
}

fn argon2id_derive() -> [u8; 32] {
    use argon2::{Algorithm, Argon2, Params, Version};
    // The parameters Keyhaven's passphrase vaults use (RFC 9106 second recommendation).
    let params = Params::new(64 * 1024, 3, 4, Some(32)).unwrap();
    let mut out = [0u8; 32];
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
        .hash_password_into(PASSPHRASE.as_bytes(), b"0123456789abcdef", &mut out)
        .unwrap();
    out
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() {
    let dir = tempfile::tempdir().unwrap();
    let raw = dir.path().join("raw.db");
    let kdf = dir.path().join("kdf.db");
    create(&raw, RAW_KEY);
    create(&kdf, PASSPHRASE);

    let mut c = Criterion::default().configure_from_args();
    {
        let mut g = c.benchmark_group("vault_open");
        g.sample_size(50).measurement_time(Duration::from_secs(5));
        g.bench_function("raw_key", |b| {
            b.iter(|| black_box(open_and_first_query(&raw, RAW_KEY)))
        });
        g.finish();
    }
    {
        let mut g = c.benchmark_group("vault_open_kdf");
        g.sample_size(10).measurement_time(Duration::from_secs(10));
        g.bench_function("sqlcipher_default_pbkdf2", |b| {
            b.iter(|| black_box(open_and_first_query(&kdf, PASSPHRASE)))
        });
        g.bench_function("argon2id_64MiB_t3_p4", |b| {
            b.iter(|| black_box(argon2id_derive()))
        });
        g.finish();
    }
    c.final_summary();

    // One plain summary with medians and the ratio, whatever criterion's output format.
    let sample = |n: usize, f: &dyn Fn()| -> Duration {
        median(
            (0..n)
                .map(|_| {
                    let t = Instant::now();
                    f();
                    t.elapsed()
                })
                .collect(),
        )
    };
    let raw_med = sample(101, &|| {
        black_box(open_and_first_query(&raw, RAW_KEY));
    });
    let kdf_med = sample(11, &|| {
        black_box(open_and_first_query(&kdf, PASSPHRASE));
    });
    let argon_med = sample(5, &|| {
        black_box(argon2id_derive());
    });
    println!(
        "summary: raw-key open+first query median {:.3} ms",
        raw_med.as_secs_f64() * 1e3
    );
    println!(
        "summary: SQLCipher default KDF open+first query median {:.1} ms",
        kdf_med.as_secs_f64() * 1e3
    );
    println!(
        "summary: raw key is {:.0}x faster (target: >= 50x, raw < 5 ms)",
        kdf_med.as_secs_f64() / raw_med.as_secs_f64()
    );
    println!(
        "summary: Argon2id derivation (passphrase vaults, once per process) median {:.0} ms",
        argon_med.as_secs_f64() * 1e3
    );
}
