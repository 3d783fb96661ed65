//! Benchmark: machine time from callback received to connection committed.
//!
//! Against the real local test server (oidc-provider, `tests/oauth-server`), 60 deep-link flows:
//! for each, `flows::start`, the scripted browser logs in and consents (not timed), then
//! `flows::complete(redirect URL)` is timed: URL validation, atomic consumption of the pending
//! flow, `iss` check, code redemption over loopback HTTP, JWKS fetch and id token verification,
//! and the commit of the connection (`synchronous=FULL`).
//!
//! Run: `cargo bench -p keyhaven-core --bench connect_flow` (needs `npm ci` in tests/oauth-server;
//! `make bench` does it). Target: median under 30 ms (README, Performance).

use std::process::Command;
use std::time::{Duration, Instant};

use keyhaven_core::catalog::RedirectKind;
use keyhaven_core::flows::{self, ConnectOptions};
use keyhaven_core::providers::CustomProvider;
use keyhaven_core::{Actor, DataDir, KeyChoice, Vault};

#[path = "common/mod.rs"]
mod common;
use common::Pass;

const FLOWS: usize = 60;

fn main() {
    let (mut server, issuer) = common::start_oauth_server();
    let root = common::repo_root();

    let tmp = tempfile::tempdir().unwrap();
    let dir = DataDir::new(tmp.path().join("vault"));
    let mut vault = Vault::init(&dir, KeyChoice::Passphrase, &mut Pass, Actor::Cli).unwrap();
    vault
        .add_custom_provider(CustomProvider {
            id: "testas".into(),
            issuer: Some(issuer),
            scopes: vec!["openid".into(), "email".into(), "offline_access".into()],
            redirect: Some(RedirectKind::DeepLink),
            client_id: Some("keyhaven-native".into()),
            ..Default::default()
        })
        .unwrap();

    let redirect_file = tmp.path().join("redirect.txt");
    let mut times = Vec::with_capacity(FLOWS);
    for i in 0..FLOWS {
        let flow = flows::start(&mut vault, "testas", &ConnectOptions::default()).unwrap();
        let _ = std::fs::remove_file(&redirect_file);
        let status = Command::new("node")
            .arg(root.join("tests/oauth-server/browser.mjs"))
            .arg(&flow.authorization_url)
            .env("KH_TEST_REDIRECT_FILE", &redirect_file)
            .env("KH_TEST_LOGIN", format!("user{}", i % 10))
            .status()
            .unwrap();
        assert!(status.success(), "browser script failed");
        let url = std::fs::read_to_string(&redirect_file).unwrap();
        let t = Instant::now();
        let conn = flows::complete(&mut vault, url.trim()).unwrap();
        times.push(t.elapsed());
        assert_eq!(conn.provider, "testas");
    }
    let _ = server.kill();
    let _ = server.wait();

    times.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!("connect_flow: {FLOWS} flows, callback received -> connection committed");
    println!(
        "summary: median {:.2} ms, p90 {:.2} ms, min {:.2} ms, max {:.2} ms (target: median < 30 ms)",
        ms(times[FLOWS / 2]),
        ms(times[FLOWS * 9 / 10]),
        ms(times[0]),
        ms(times[FLOWS - 1])
    );
}
