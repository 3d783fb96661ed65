//! The servers real tools talk to in the helper tests (tests/tool-servers): a git smart-HTTP
//! server, a Kubernetes API server and an authenticating registry proxy, each of which accepts
//! only an access token the test authorization server says is active (RFC 7662
//! introspection on every request).

#![allow(dead_code)]

use std::path::Path;
use std::process::{Child, ChildStdin, Command, Output};
use std::time::Duration;

use super::Session;
use super::oauth::spawn_node_server;

/// One running tool server.
pub struct ToolServer {
    child: Child,
    _stdin: ChildStdin,
    pub ready: serde_json::Value,
}

impl ToolServer {
    /// Starts `tests/tool-servers/NAME.mjs` checking tokens at `issuer`.
    pub fn start(name: &str, issuer: &str, env: &[(&str, &str)]) -> ToolServer {
        let introspect = format!("{issuer}/token/introspection");
        let mut all = vec![("KH_INTROSPECT_URL", introspect.as_str())];
        all.extend_from_slice(env);
        let (child, stdin, ready) =
            spawn_node_server(&format!("tests/tool-servers/{name}.mjs"), &all);
        ToolServer {
            child,
            _stdin: stdin,
            ready,
        }
    }

    pub fn url(&self) -> String {
        self.ready["url"].as_str().unwrap().to_string()
    }

    /// `host:port` of the server.
    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.ready["port"])
    }

    /// `GET /__test/stats` (plain http on the same port).
    pub fn stats(&self) -> serde_json::Value {
        let base = self.ready["http_url"]
            .as_str()
            .map(str::to_string)
            .unwrap_or_else(|| self.url());
        reqwest::blocking::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap()
            .get(format!("{base}/__test/stats"))
            .send()
            .unwrap()
            .json()
            .unwrap()
    }
}

impl ToolServer {
    /// `POST /__test/deny-seen`: every token seen so far is refused from now on.
    pub fn deny_seen(&self) {
        let r = reqwest::blocking::Client::new()
            .post(format!("{}/__test/deny-seen", self.url()))
            .send()
            .unwrap();
        assert!(r.status().is_success());
    }
}

impl Drop for ToolServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A real tool run in the session's environment, bounded in time; never prompting.
pub fn tool(s: &Session, program: &str, args: &[&str], cwd: &Path) -> Output {
    let mut c = s.command(program);
    c.args(args)
        .current_dir(cwd)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("GIT_AUTHOR_NAME", "Keyhaven Test")
        .env("GIT_AUTHOR_EMAIL", "test@keyhaven.invalid")
        .env("GIT_COMMITTER_NAME", "Keyhaven Test")
        .env("GIT_COMMITTER_EMAIL", "test@keyhaven.invalid");
    super::output_within(&mut c, 120)
}

/// [`tool`], asserting success.
pub fn tool_ok(s: &Session, program: &str, args: &[&str], cwd: &Path) -> String {
    let out = tool(s, program, args, cwd);
    assert!(
        out.status.success(),
        "{program} {args:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Whether a program runs here.
pub fn have(program: &str) -> bool {
    Command::new(program)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// The hand-outs in the audit log for `tool`.
pub fn hand_outs(s: &Session, tool: &str) -> Vec<serde_json::Value> {
    let all: Vec<serde_json::Value> = serde_json::from_str(&s.kh_ok(&["audit", "--json"])).unwrap();
    let outs: Vec<serde_json::Value> = all
        .into_iter()
        .filter(|e| e["action"] == "token.handed_out" && e["tool"] == tool)
        .collect();
    // `audit --tool` selects exactly these.
    let by_tool: Vec<serde_json::Value> =
        serde_json::from_str(&s.kh_ok(&["audit", "--tool", tool, "--json"])).unwrap();
    assert_eq!(by_tool, outs, "audit --tool {tool}");
    outs
}
