//! Benchmark: machine time from callback received to connection committed.
//!
//! Against the real local test server (oidc-provider, `tests/oauth-server`), 60 deep-link flows:
//! for each, `flows::start`, the scripted browser logs in and consents (not timed), then
//! `flows::complete(redirect URL)` is timed: URL validation, atomic consumption of the pending
//! flow, `iss` check, code redemption over loopback HTTP, JWKS fetch and id token verification,
//! and the commit of the connection (`synchronous=FULL`).
//!
//! Run: `cargo bench -p keyhaven-core --bench connect_flow` (needs `npm ci` in tests/oauth-server;
//! `make bench` does it). Target (issue 3): median under 30 ms.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use keyhaven_core::catalog::RedirectKind;
use keyhaven_core::flows::{self, ConnectOptions};
use keyhaven_core::providers::CustomProvider;
use keyhaven_core::secret::Passphrase;
use keyhaven_core::{Actor, DataDir, KeyChoice, PassphrasePurpose, PassphraseSource, Vault};

const FLOWS: usize = 60;

struct Pass;
impl PassphraseSource for Pass {
    fn passphrase(&mut self, _: PassphrasePurpose) -> keyhaven_core::Result<Option<Passphrase>> {
        Passphrase::new("benchmark passphrase".into()).map(Some)
    }
}

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut server = Command::new("node")
        .arg(root.join("tests/oauth-server/server.mjs"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("node and tests/oauth-server (npm ci) are needed");
    let mut line = String::new();
    BufReader::new(server.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let ready: serde_json::Value = serde_json::from_str(&line).expect("server ready line");
    let issuer = ready["issuer"].as_str().unwrap().to_string();

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
