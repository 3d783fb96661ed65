//! The local fake of the cloud providers' APIs (tests/cloud-fake), and a vault whose debug-build
//! `keyhaven` sends every catalog endpoint there (`KEYHAVEN_TEST_API_BASE`).

use std::process::{Child, ChildStdin, Command, Output};
use std::time::Duration;

use super::Session;
use super::oauth::{repo_root, spawn_node_server};

/// A running cloud fake.
pub struct CloudFake {
    child: Child,
    _stdin: ChildStdin,
    pub base: String,
    pub accounts: serde_json::Value,
}

impl CloudFake {
    pub fn start() -> CloudFake {
        let (child, stdin, ready) = spawn_node_server("tests/cloud-fake/server.mjs", &[]);
        let accounts =
            std::fs::read_to_string(repo_root().join("tests/cloud-fake/accounts.json")).unwrap();
        CloudFake {
            child,
            _stdin: stdin,
            base: ready["base"].as_str().unwrap().to_string(),
            accounts: serde_json::from_str(&accounts).unwrap(),
        }
    }

    fn http() -> reqwest::blocking::Client {
        reqwest::blocking::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap()
    }

    /// A value from accounts.json: `acct("aws", "permanent", "access_key_id")`.
    pub fn acct(&self, provider: &str, set: &str, field: &str) -> String {
        self.accounts[provider][set][field]
            .as_str()
            .unwrap_or_else(|| panic!("accounts.json has no {provider}.{set}.{field}"))
            .to_string()
    }

    /// The fake's clock runs `offset` seconds ahead of the real one.
    pub fn clock(&self, offset: i64) {
        Self::http()
            .post(format!("{}/__fake/clock", self.base))
            .json(&serde_json::json!({ "offset_seconds": offset }))
            .send()
            .unwrap();
    }

    /// Every request to `host` fails with `mode` until reset.
    pub fn fault(&self, host: &str, mode: &str) {
        Self::http()
            .post(format!("{}/__fake/fault", self.base))
            .json(&serde_json::json!({ "host": host, "mode": mode }))
            .send()
            .unwrap();
    }

    pub fn reset(&self) {
        Self::http()
            .post(format!("{}/__fake/reset", self.base))
            .send()
            .unwrap();
    }

    /// The requests the fake received (host, method, path, headers).
    pub fn requests(&self) -> Vec<serde_json::Value> {
        let v: serde_json::Value = Self::http()
            .get(format!("{}/__fake/stats", self.base))
            .send()
            .unwrap()
            .json()
            .unwrap();
        v["requests"].as_array().cloned().unwrap_or_default()
    }
}

impl Drop for CloudFake {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A keychain vault whose `keyhaven` talks to the fake.
pub struct Cloud {
    pub s: Session,
    pub fake: CloudFake,
}

impl Cloud {
    pub fn new() -> Cloud {
        let s = Session::with_keyring();
        s.kh_ok(&["init"]);
        Cloud {
            s,
            fake: CloudFake::start(),
        }
    }

    pub fn command(&self, args: &[&str]) -> Command {
        let mut c = self.s.command(super::keyhaven_bin());
        c.env("KEYHAVEN_TEST_API_BASE", &self.fake.base).args(args);
        c
    }

    /// `keyhaven ARGS` with `input` on stdin.
    pub fn kh_input(&self, args: &[&str], input: &str) -> Output {
        super::run_with_input(&mut self.command(args), input)
    }
}
