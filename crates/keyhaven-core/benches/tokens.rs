//! Benchmarks of the token hot paths, in-process, no network:
//! - `tokens::access_token` for a connection whose token is valid (what `keyhaven token` does
//!   after opening the vault): read, audit the hand-out, return;
//! - `Vault::list_connections` with 10,000 connections (what `keyhaven list --json` does).
//!
//! Run: `cargo bench -p keyhaven-core --bench tokens`. Targets: token < 100 µs median,
//! list of 10,000 < 50 ms.

use std::time::{Duration, Instant};

use keyhaven_core::connections::{FieldValue, NewConnection};
use keyhaven_core::secret::SecretBytes;
use keyhaven_core::tokens::{self, TokenOptions};
use keyhaven_core::{Actor, DataDir, KeyChoice, Vault};

#[path = "common/mod.rs"]
mod common;
use common::Pass;
use common::median;

fn conn(i: usize) -> NewConnection {
    NewConnection {
        provider_id: "github".into(),
        account: format!("user{i}"),
        auth_mode: "oauth2".into(),
        scopes_requested: vec!["read:user".into()],
        scopes_granted: vec!["read:user".into()],
        token_type: Some("bearer".into()),
        expires_at: Some(4_000_000_000),
        extra: serde_json::json!({}),
        vars: Default::default(),
        issued_with: Default::default(),
        defaulted: Default::default(),
        fields: vec![
            (
                "access_token".into(),
                FieldValue::Secret(SecretBytes::from(format!("gho_{i:036}"))),
            ),
            (
                "refresh_token".into(),
                FieldValue::Secret(SecretBytes::from(format!("ghr_{i:036}"))),
            ),
        ],
    }
}

fn main() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = DataDir::new(tmp.path().join("vault"));
    let mut vault = Vault::init(&dir, KeyChoice::Passphrase, &mut Pass, Actor::Cli).unwrap();
    let id = vault.save_connection(conn(0)).unwrap();

    // Warm up, then time single calls.
    for _ in 0..50 {
        tokens::access_token(&mut vault, &id, TokenOptions::default()).unwrap();
    }
    let token_times: Vec<_> = (0..1000)
        .map(|_| {
            let t = Instant::now();
            let tok = tokens::access_token(&mut vault, &id, TokenOptions::default()).unwrap();
            let d = t.elapsed();
            assert!(!tok.expose_secret().is_empty());
            d
        })
        .collect();

    for i in 1..10_000 {
        vault.save_connection(conn(i)).unwrap();
    }
    let list_times: Vec<_> = (0..21)
        .map(|_| {
            let t = Instant::now();
            let list = vault.list_connections().unwrap();
            let json = serde_json::to_string(&list).unwrap();
            let d = t.elapsed();
            assert_eq!(list.len(), 10_000);
            assert!(json.len() > 100_000);
            d
        })
        .collect();

    let us = |d: Duration| d.as_secs_f64() * 1e6;
    println!(
        "summary: token (valid, in-process, audited) median {:.0} µs over 1000 calls (target < 100 µs)",
        us(median(token_times))
    );
    println!(
        "summary: list of 10,000 connections + JSON median {:.1} ms over 21 runs (target < 50 ms)",
        us(median(list_times)) / 1000.0
    );
}
