//! Benchmark: refresh 1,000 expired connections concurrently against the local
//! `oidc-provider` server, through the real single-flight path (`tokens::refresh`), with
//! THREADS workers each holding its own vault handle, as several processes would. Prints the wall
//! time, requests per second, and the peak resident memory of this process.
//!
//! The 1,000 grants come from the server's bench-only `/__test/mint` route (its own models, real
//! refresh tokens), so the run needs no browser. Checks as it goes: exactly 1,000 refresh grants
//! at the server, no reuse detected, every connection holds a new token.
//!
//! Run: `cargo bench -p keyhaven-core --bench refresh_many` (also part of `make bench`).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use keyhaven_core::catalog::RedirectKind;
use keyhaven_core::connections::{FieldValue, NewConnection};
use keyhaven_core::providers::CustomProvider;
use keyhaven_core::secret::SecretBytes;
use keyhaven_core::{Actor, DataDir, KeyChoice, Vault, tokens};

#[path = "common/mod.rs"]
mod common;
use common::Pass;

const CONNECTIONS: usize = 1000;
const THREADS: usize = 16;

fn peak_rss_mib() -> f64 {
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: getrusage fills the struct it is given.
    unsafe { libc::getrusage(libc::RUSAGE_SELF, usage.as_mut_ptr()) };
    let usage = unsafe { usage.assume_init() };
    usage.ru_maxrss as f64 / 1024.0
}

/// Current resident memory (VmRSS), MiB.
fn rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map(|kb| kb / 1024.0)
        .unwrap_or(f64::NAN)
}

fn main() {
    let (mut server, issuer) = common::start_oauth_server();
    let _root = common::repo_root();
    let http = reqwest::blocking::Client::new();
    let minted: serde_json::Value = http
        .post(format!("{issuer}/__test/mint"))
        .json(&serde_json::json!({"n": CONNECTIONS, "login": "bench"}))
        .send()
        .unwrap()
        .json()
        .unwrap();
    let minted = minted["tokens"].as_array().unwrap();

    let tmp = tempfile::tempdir().unwrap();
    let dir = DataDir::new(tmp.path().join("vault"));
    let mut vault = Vault::init(&dir, KeyChoice::Passphrase, &mut Pass, Actor::Cli).unwrap();
    vault
        .add_custom_provider(CustomProvider {
            id: "testas".into(),
            issuer: Some(issuer.clone()),
            scopes: vec!["openid".into(), "offline_access".into()],
            redirect: Some(RedirectKind::DeepLink),
            client_id: Some("keyhaven-native".into()),
            ..Default::default()
        })
        .unwrap();
    let mut ids = Vec::with_capacity(CONNECTIONS);
    for (i, t) in minted.iter().enumerate() {
        let field = |name: &str| {
            FieldValue::Secret(SecretBytes::from(t[name].as_str().unwrap().to_string()))
        };
        ids.push(
            vault
                .save_connection(NewConnection {
                    provider_id: "testas".into(),
                    account: format!("bench{i}"),
                    auth_mode: "oauth2".into(),
                    scopes_requested: vec![],
                    scopes_granted: vec![],
                    token_type: Some("Bearer".into()),
                    expires_at: Some(1), // long expired
                    extra: serde_json::json!({}),
                    vars: Default::default(),
                    issued_with: Default::default(),
                    defaulted: Default::default(),
                    fields: vec![
                        ("access_token".into(), field("access_token")),
                        ("refresh_token".into(), field("refresh_token")),
                    ],
                })
                .unwrap(),
        );
    }
    drop(vault);
    // One handle per worker, opened one after another before the clock starts: a passphrase
    // vault runs Argon2id (64 MiB) per open, which is not what this measures.
    let handles: Vec<_> = (0..THREADS)
        .map(|_| std::sync::Mutex::new(Vault::open(&dir, &mut Pass, Actor::Cli).unwrap()))
        .collect();
    let before = peak_rss_mib();
    let rss_before = rss_mib();

    let next = AtomicUsize::new(0);
    let failures = AtomicUsize::new(0);
    let start = Instant::now();
    std::thread::scope(|s| {
        for h in &handles {
            let (next, failures, ids) = (&next, &failures, &ids);
            s.spawn(move || {
                let mut v = h.lock().unwrap();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(id) = ids.get(i) else { break };
                    let opts = tokens::TokenOptions::default();
                    if let Err(e) = tokens::access_token(&mut v, id, opts)
                        && failures.fetch_add(1, Ordering::Relaxed) < 3
                    {
                        eprintln!("refresh failed: {e}");
                    }
                }
            });
        }
    });
    let wall = start.elapsed();
    let rss_after = rss_mib();
    let stats: serde_json::Value = http
        .get(format!("{issuer}/__test/stats"))
        .send()
        .unwrap()
        .json()
        .unwrap();
    let _ = server.kill();
    let _ = server.wait();
    assert_eq!(
        failures.load(Ordering::Relaxed),
        0,
        "every refresh succeeded"
    );
    assert_eq!(stats["token"]["refresh_token"], CONNECTIONS, "{stats}");
    assert_eq!(stats["reuse_detected"], 0, "{stats}");
    println!(
        "refresh_many: {CONNECTIONS} expired connections, {THREADS} workers: wall {:.2} s \
         ({:.0} refreshes/s, {:.1} ms each on average); peak RSS {:.1} MiB (peak before the refreshes {:.1} MiB: seeding and one \
         Argon2id open); resident {:.1} -> {:.1} MiB across the refreshes",
        wall.as_secs_f64(),
        CONNECTIONS as f64 / wall.as_secs_f64(),
        wall.as_secs_f64() * 1000.0 / CONNECTIONS as f64 * THREADS as f64,
        peak_rss_mib(),
        before,
        rss_before,
        rss_after
    );
}
