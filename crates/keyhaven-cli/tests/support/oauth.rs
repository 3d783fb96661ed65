//! A real authorization server for end-to-end tests: `oidc-provider` (pinned, npm) run by
//! `tests/oauth-server/server.mjs`, and `browser.mjs` playing the person's browser through
//! `BROWSER` (login and consent over HTTP, then it stops at the redirect).
//!
//! The server exits when its stdin closes, so a test that panics never leaves one behind.

#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Output, Stdio};
use std::time::{Duration, Instant};

use super::{Session, keyhaven_bin};

/// The repository root (two levels above this crate).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

/// Starts one of the Node test servers (`script` relative to the repository) and returns it, its
/// stdin (kept open: the servers exit when it closes) and its one JSON ready line. A server that
/// prints no ready line within 30 s fails the test rather than hanging it.
pub fn spawn_node_server(
    script: &str,
    env: &[(&str, &str)],
) -> (Child, ChildStdin, serde_json::Value) {
    let mut cmd = Command::new("node");
    cmd.arg(repo_root().join(script))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd
        .spawn()
        .expect("node runs (make test installs tests/oauth-server with npm ci)");
    let stdin = child.stdin.take().unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = BufReader::new(stdout).read_line(&mut line);
        let _ = tx.send(line);
    });
    let line = match rx.recv_timeout(Duration::from_secs(30)) {
        Ok(line) => line,
        Err(_) => {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{script} printed no ready line within 30 s");
        }
    };
    let ready = serde_json::from_str(&line)
        .unwrap_or_else(|e| panic!("{script} did not start: {e}: {line:?}"));
    (child, stdin, ready)
}

/// A running test authorization server.
pub struct AuthServer {
    child: Child,
    _stdin: ChildStdin,
    pub issuer: String,
}

impl AuthServer {
    /// Starts the server on an ephemeral port with extra environment.
    pub fn start_with(env: &[(&str, &str)]) -> AuthServer {
        let (child, stdin, ready) = spawn_node_server("tests/oauth-server/server.mjs", env);
        AuthServer {
            child,
            _stdin: stdin,
            issuer: ready["issuer"].as_str().unwrap().to_string(),
        }
    }

    pub fn start() -> AuthServer {
        Self::start_with(&[])
    }

    fn http() -> reqwest::blocking::Client {
        reqwest::blocking::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap()
    }

    /// `GET /__test/stats`.
    pub fn stats(&self) -> serde_json::Value {
        Self::http()
            .get(format!("{}/__test/stats", self.issuer))
            .send()
            .unwrap()
            .json()
            .unwrap()
    }

    /// Number of token requests with this grant type.
    pub fn token_requests(&self, grant: &str) -> i64 {
        self.stats()["token"][grant].as_i64().unwrap_or(0)
    }

    /// Total token requests.
    pub fn token_total(&self) -> i64 {
        self.stats()["token_total"].as_i64().unwrap_or(0)
    }

    /// `POST /__test/fault`.
    pub fn fault(&self, endpoint: &str, mode: &str) {
        let r = Self::http()
            .post(format!("{}/__test/fault", self.issuer))
            .json(&serde_json::json!({"endpoint": endpoint, "mode": mode, "count": 1}))
            .send()
            .unwrap();
        assert!(r.status().is_success(), "fault {mode}: {}", r.status());
    }

    /// `POST /__test/fault` with a full JSON body (count, patch...).
    pub fn fault_json(&self, body: serde_json::Value) {
        let r = Self::http()
            .post(format!("{}/__test/fault", self.issuer))
            .json(&body)
            .send()
            .unwrap();
        assert!(r.status().is_success(), "fault {body}: {}", r.status());
    }

    /// `POST /__test/reset`.
    pub fn reset(&self) {
        Self::http()
            .post(format!("{}/__test/reset", self.issuer))
            .send()
            .unwrap();
    }

    /// `GET /__test/last-authorization`.
    pub fn last_authorization(&self) -> serde_json::Value {
        Self::http()
            .get(format!("{}/__test/last-authorization", self.issuer))
            .send()
            .unwrap()
            .json()
            .unwrap()
    }

    /// RFC 7662 introspection (as the confidential test client): whether the server still
    /// considers `token` active.
    pub fn introspect(&self, token: &str) -> bool {
        let r: serde_json::Value = Self::http()
            .post(format!("{}/token/introspection", self.issuer))
            .basic_auth(
                "keyhaven-confidential",
                Some("keyhaven-confidential-secret"),
            )
            .form(&[("token", token)])
            .send()
            .unwrap()
            .json()
            .unwrap();
        r["active"].as_bool().expect("introspection answers active")
    }

    /// Calls the userinfo endpoint with an access token.
    pub fn userinfo(&self, access_token: &str) -> (u16, serde_json::Value) {
        let r = Self::http()
            .get(format!("{}/me", self.issuer))
            .bearer_auth(access_token)
            .send()
            .unwrap();
        let status = r.status().as_u16();
        (status, r.json().unwrap_or(serde_json::Value::Null))
    }
}

impl Drop for AuthServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A vault with the test server added as custom provider `testas` (public native client).
pub struct Flow {
    pub s: Session,
    pub server: AuthServer,
    pub redirect_file: PathBuf,
}

impl Flow {
    pub fn new() -> Flow {
        Self::with_server(AuthServer::start())
    }

    pub fn with_server(server: AuthServer) -> Flow {
        let s = Session::with_keyring();
        s.kh_ok(&["init"]);
        s.kh_ok(&[
            "providers",
            "add",
            "--id",
            "testas",
            "--issuer",
            &server.issuer,
            "--client-id",
            "keyhaven-native",
            "--scope",
            "openid",
            "--scope",
            "email",
            "--scope",
            "profile",
            "--scope",
            "offline_access",
            "--redirect",
            "deep-link",
        ]);
        let redirect_file = s.tmp.path().join("redirect.txt");
        Flow {
            s,
            server,
            redirect_file,
        }
    }

    /// `keyhaven ARGS` with BROWSER set to the scripted browser.
    pub fn command(&self, args: &[&str], browser_env: &[(&str, &str)]) -> Command {
        let browser = repo_root().join("tests/oauth-server/browser.mjs");
        let mut c = self.s.command(keyhaven_bin());
        c.env("BROWSER", format!("node {}", browser.display()))
            .env("KH_TEST_REDIRECT_FILE", &self.redirect_file)
            .args(args);
        for (k, v) in browser_env {
            c.env(k, v);
        }
        c
    }

    /// Starts `keyhaven connect ARGS` in the background.
    pub fn spawn_connect(&self, args: &[&str], browser_env: &[(&str, &str)]) -> Child {
        let _ = std::fs::remove_file(&self.redirect_file);
        let _ = std::fs::remove_file(self.redirect_file.with_extension("txt.page"));
        let mut full = vec!["connect"];
        full.extend_from_slice(args);
        self.command(&full, browser_env)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    }

    /// Starts `keyhaven connect testas --redirect loopback --json` in the background.
    pub fn spawn_loopback(&self, browser_env: &[(&str, &str)]) -> Child {
        self.spawn_connect(
            &[
                "testas",
                "--redirect",
                "loopback",
                "--json",
                "--timeout",
                "60",
            ],
            browser_env,
        )
    }

    /// Waits for the browser to have written the redirect URL.
    pub fn redirect_url(&self) -> String {
        wait_for_file(&self.redirect_file)
    }

    /// The loopback page the browser got (status line, then body).
    pub fn loopback_page(&self) -> String {
        wait_for_file(&PathBuf::from(format!(
            "{}.page",
            self.redirect_file.display()
        )))
    }

    /// `keyhaven handle-url URL` (through `Session::kh`, so bounded in time).
    pub fn handle_url(&self, url: &str) -> Output {
        self.s.kh(&["handle-url", url])
    }

    /// Runs a deep-link flow to the point where the redirect URL is known; returns the
    /// waiting `connect` process and the URL.
    pub fn deep_link_until_redirect(&self, browser_env: &[(&str, &str)]) -> (Child, String) {
        let child = self.spawn_connect(&["testas", "--json", "--timeout", "60"], browser_env);
        let url = self.redirect_url();
        (child, url)
    }

    /// The access token of a connection, through `show --reveal`.
    pub fn access_token(&self, conn: &str) -> String {
        self.field(conn, "access_token").expect("an access token")
    }

    /// A stored field of a connection, through `show --reveal`.
    pub fn field(&self, conn: &str, name: &str) -> Option<String> {
        let out = self.s.kh_ok(&["show", conn, "--reveal", "--json"]);
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        v["fields"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["name"] == name)
            .and_then(|f| f["value"].as_str())
            .map(str::to_string)
    }

    /// Runs a whole deep-link connect as `login`; returns the connection id.
    pub fn connect(&self, login: &str) -> String {
        let (child, url) = self.deep_link_until_redirect(&[("KH_TEST_LOGIN", login)]);
        let out = self.handle_url(&url);
        assert!(out.status.success(), "{out:?}");
        let out = wait_child(child, 30);
        assert!(out.status.success(), "{out:?}");
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        v["id"].as_str().unwrap().to_string()
    }

    /// Connections in the vault.
    pub fn connections(&self) -> Vec<serde_json::Value> {
        serde_json::from_str::<Vec<serde_json::Value>>(&self.s.kh_ok(&["list", "--json"])).unwrap()
    }
}

/// Waits up to 30 s for a file to exist and be non-empty; returns its trimmed content.
pub fn wait_for_file(path: &Path) -> String {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(text) = std::fs::read_to_string(path)
            && !text.trim().is_empty()
        {
            return text.trim().to_string();
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {}",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Waits for a child with a deadline, killing it on timeout. Its piped stdout and stderr are read
/// while it runs: a child writing more than a pipe holds (64 KiB) would otherwise block forever.
/// Waits for concurrent `keyhaven token` processes: every one succeeds and prints the same
/// token, which is returned.
pub fn same_token_from_all(procs: Vec<Child>) -> String {
    let outs: Vec<_> = procs.into_iter().map(|p| wait_child(p, 60)).collect();
    for o in &outs {
        assert!(o.status.success(), "{o:?}");
    }
    let tokens: Vec<String> = outs
        .iter()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .collect();
    assert!(
        tokens.iter().all(|t| t == &tokens[0]),
        "all print the same token: {tokens:?}"
    );
    tokens[0].clone()
}

pub fn wait_child(mut child: Child, secs: u64) -> Output {
    fn drain(
        pipe: Option<impl std::io::Read + Send + 'static>,
    ) -> std::thread::JoinHandle<Vec<u8>> {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            if let Some(mut p) = pipe {
                let _ = p.read_to_end(&mut buf);
            }
            buf
        })
    }
    let (stdout, stderr) = (drain(child.stdout.take()), drain(child.stderr.take()));
    let deadline = Instant::now() + Duration::from_secs(secs);
    let mut timed_out = false;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            timed_out = true;
            break child.wait().unwrap();
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let out = Output {
        status,
        stdout: stdout.join().unwrap(),
        stderr: stderr.join().unwrap(),
    };
    assert!(!timed_out, "process did not finish in {secs}s: {out:?}");
    out
}

/// Replaces (or removes, with `None`) one query parameter of a URL, keeping the rest verbatim.
pub fn with_param(url: &str, name: &str, value: Option<&str>) -> String {
    let (base, query) = url.split_once('?').unwrap();
    let mut parts: Vec<String> = query
        .split('&')
        .filter(|p| p.split('=').next() != Some(name))
        .map(str::to_string)
        .collect();
    if let Some(v) = value {
        parts.push(format!("{name}={v}"));
    }
    format!("{base}?{}", parts.join("&"))
}
