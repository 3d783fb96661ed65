//! What several benchmarks share: a passphrase source for throw-away vaults, the local
//! oidc-provider server, a median. Included with `#[path]` (benches are separate crates).
#![allow(dead_code)] // each bench uses only part of it

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use keyhaven_core::secret::Passphrase;
use keyhaven_core::{PassphrasePurpose, PassphraseSource};

/// The passphrase of every benchmark vault.
pub struct Pass;

impl PassphraseSource for Pass {
    fn passphrase(&mut self, _: PassphrasePurpose) -> keyhaven_core::Result<Option<Passphrase>> {
        Passphrase::new("benchmark passphrase".into()).map(Some)
    }
}

/// The repository root.
pub fn repo_root() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Starts tests/oauth-server; returns it (kill it when done) and its issuer URL.
pub fn start_oauth_server() -> (Child, String) {
    let mut server = Command::new("node")
        .arg(repo_root().join("tests/oauth-server/server.mjs"))
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
    (server, issuer)
}

/// The median of some durations.
pub fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}
