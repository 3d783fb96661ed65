//! Test support: a private D-Bus session with a real gnome-keyring Secret Service per test, and
//! helpers to run the real `keyhaven` binary inside it.
//!
//! Each [`Session`] starts its own `dbus-daemon` from a config file that lists *no* service
//! directories. That matters: with the standard session config, D-Bus auto-activates
//! gnome-keyring on the first Secret Service call, so "no Secret Service" could never be tested,
//! and tests would share one keyring. Here a test decides whether a keyring runs
//! ([`Session::start_keyring`]), can lock it, and cannot disturb another test.
//!
//! The child processes get a cleared environment (no `DISPLAY`: an unlock prompt must fail fast,
//! never wait for a person) with `HOME`, `XDG_*`, the bus address and `KEYHAVEN_HOME` pointing
//! into the session's temporary directory.

#![allow(dead_code)]

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use sha2::Digest;

/// Path of the binary under test.
pub fn keyhaven_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_keyhaven"))
}

/// A private session: temp dir, D-Bus daemon, optionally gnome-keyring.
pub struct Session {
    pub tmp: tempfile::TempDir,
    bus_address: String,
    bus_pid: u32,
    keyring_running: bool,
    /// Seconds the clock of the keyhaven processes started from here is ahead of real time
    /// (`KEYHAVEN_TEST_TIME_OFFSET`, debug builds): tests move time instead of sleeping.
    time_offset: std::cell::Cell<i64>,
    /// Whether commands may use and start an agent (off by default: every other test is about
    /// the direct path, and an agent would keep its own clock; `tests/agent.rs` turns it on).
    agent: std::cell::Cell<bool>,
}

impl Session {
    /// A session with a bus but no keyring.
    pub fn bare() -> Session {
        let tmp = tempfile::Builder::new()
            .prefix("kh-test-")
            .tempdir()
            .unwrap();
        let root = tmp.path();
        for d in ["home", "data", "run", "vault"] {
            fs::create_dir_all(root.join(d)).unwrap();
        }
        set_mode(&root.join("run"), 0o700);
        let conf = root.join("bus.conf");
        fs::write(
            &conf,
            format!(
                r#"<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path={}/bus</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>"#,
                root.display()
            ),
        )
        .unwrap();
        let out = Command::new("dbus-daemon")
            .arg(format!("--config-file={}", conf.display()))
            .args(["--fork", "--print-address=1", "--print-pid=1", "--nosyslog"])
            .stdin(Stdio::null())
            .output()
            .expect("dbus-daemon runs (apt install dbus)");
        assert!(out.status.success(), "dbus-daemon failed: {out:?}");
        let text = String::from_utf8(out.stdout).unwrap();
        let mut lines = text.lines();
        let bus_address = lines.next().unwrap().trim().to_string();
        let bus_pid = lines.next().unwrap().trim().parse().unwrap();
        Session {
            tmp,
            bus_address,
            bus_pid,
            keyring_running: false,
            time_offset: std::cell::Cell::new(0),
            agent: std::cell::Cell::new(false),
        }
    }

    /// A session with an unlocked gnome-keyring (login collection with an empty password).
    pub fn with_keyring() -> Session {
        let mut s = Session::bare();
        s.start_keyring();
        s
    }

    /// Starts gnome-keyring's Secret Service on this session's bus, unlocked.
    pub fn start_keyring(&mut self) {
        // The newline matters: with a truly empty stdin no login collection is created.
        let mut child = self
            .command("gnome-keyring-daemon")
            .args(["--daemonize", "--unlock", "--components=secrets"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("gnome-keyring-daemon runs (apt install gnome-keyring)");
        child.stdin.take().unwrap().write_all(b"\n").unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "gnome-keyring-daemon failed: {out:?}");
        self.keyring_running = true;
        // Wait until the service answers (it registers on the bus asynchronously).
        for _ in 0..100 {
            let ok = self
                .command("gdbus")
                .args([
                    "call",
                    "--session",
                    "--dest",
                    "org.freedesktop.secrets",
                    "--object-path",
                    "/org/freedesktop/secrets",
                    "--method",
                    "org.freedesktop.Secret.Service.ReadAlias",
                    "default",
                ])
                .output()
                .map(|o| o.status.success() && String::from_utf8_lossy(&o.stdout).contains("login"))
                .unwrap_or(false);
            if ok {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        panic!("gnome-keyring did not come up on the test bus");
    }

    /// Locks the login collection (as a screen lock would).
    pub fn lock_keyring(&self) {
        let out = self
            .command("gdbus")
            .args([
                "call",
                "--session",
                "--dest",
                "org.freedesktop.secrets",
                "--object-path",
                "/org/freedesktop/secrets",
                "--method",
                "org.freedesktop.Secret.Service.Lock",
                "['/org/freedesktop/secrets/collection/login']",
            ])
            .output()
            .unwrap();
        assert!(out.status.success(), "lock failed: {out:?}");
    }

    /// The data directory used as KEYHAVEN_HOME.
    pub fn home(&self) -> PathBuf {
        self.tmp.path().join("vault")
    }

    pub fn vault_file(&self) -> PathBuf {
        self.home().join("vault.db")
    }

    pub fn meta_file(&self) -> PathBuf {
        self.home().join("vault.meta.json")
    }

    /// A command with this session's clean environment.
    pub fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let root = self.tmp.path();
        let mut c = Command::new(program);
        c.env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", root.join("home"))
            .env("XDG_DATA_HOME", root.join("data"))
            .env("XDG_RUNTIME_DIR", root.join("run"))
            .env("DBUS_SESSION_BUS_ADDRESS", &self.bus_address)
            .env("KEYHAVEN_HOME", self.home())
            .env("LANG", "C.UTF-8")
            .env(
                "KEYHAVEN_TEST_TIME_OFFSET",
                self.time_offset.get().to_string(),
            )
            .stdin(Stdio::null());
        if !self.agent.get() {
            c.env("KEYHAVEN_NO_AGENT", "1");
        }
        c
    }

    /// Both programs (`keyhaven` and the `keyhaven-main` it execs), linked or copied where
    /// `nobody` can run them: the build directory may be under a home `nobody` cannot enter.
    /// Returns the front binary's path.
    pub fn bins_for_nobody(&self) -> PathBuf {
        let bin = self.tmp.path().join("bin");
        if !bin.join("keyhaven-main").exists() {
            fs::create_dir_all(&bin).unwrap();
            for name in ["keyhaven", "keyhaven-main"] {
                let from = keyhaven_bin().with_file_name(name);
                let to = bin.join(name);
                if fs::hard_link(&from, &to).is_err() {
                    fs::copy(&from, &to).unwrap();
                }
                set_mode(&to, 0o755);
            }
        }
        set_mode(self.tmp.path(), 0o755);
        set_mode(&bin, 0o755);
        bin.join("keyhaven")
    }

    /// Lets commands use and start the agent (socket under this session's runtime dir).
    pub fn enable_agent(&self) {
        self.agent.set(true);
    }

    /// The agent socket of this session (`$XDG_RUNTIME_DIR/keyhaven/agent.sock`).
    pub fn agent_socket(&self) -> PathBuf {
        self.tmp.path().join("run/keyhaven/agent.sock")
    }

    /// `keyhaven agent status --json`, parsed.
    pub fn agent_status(&self) -> serde_json::Value {
        serde_json::from_str(&self.kh_ok(&["agent", "status", "--json"])).unwrap()
    }

    /// Waits (up to 10 s) until `agent status` satisfies `pred`, and returns that status.
    pub fn wait_agent(
        &self,
        what: &str,
        pred: impl Fn(&serde_json::Value) -> bool,
    ) -> serde_json::Value {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            let st = self.agent_status();
            if pred(&st) {
                return st;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "agent never {what}: {st}"
            );
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    }

    /// Sends one request to this session's agent and returns its reply line (parsed).
    pub fn agent_request(&self, request: &keyhaven_ipc::wire::Request) -> serde_json::Value {
        let agent = keyhaven_ipc::client::connect(&self.agent_socket()).expect("an agent answers");
        match agent
            .ask::<serde_json::Value>(request, std::time::Duration::from_secs(30))
            .expect("the agent replies")
        {
            Ok(v) => v,
            Err(f) => serde_json::json!({ "error": { "code": f.code, "message": f.message } }),
        }
    }

    /// Moves the clock of every keyhaven process started from now on `secs` seconds ahead (the
    /// authorization servers keep real time: a token Keyhaven now sees as expired is renewed
    /// normally).
    pub fn advance(&self, secs: i64) {
        self.time_offset.set(self.time_offset.get() + secs);
    }

    /// Runs `keyhaven ARGS` with stdin closed (no terminal) and returns its output. A run that
    /// takes over 120 s is killed and fails the test: a test never hangs.
    pub fn kh(&self, args: &[&str]) -> Output {
        output_within(self.command(keyhaven_bin()).args(args), 120)
    }

    /// Runs `keyhaven ARGS` with `input` on stdin (a pipe: no terminal).
    pub fn kh_input(&self, args: &[&str], input: &str) -> Output {
        run_with_input(self.command(keyhaven_bin()).args(args), input)
    }

    /// Runs `keyhaven ARGS` and asserts success.
    pub fn kh_ok(&self, args: &[&str]) -> String {
        let out = self.kh(args);
        assert!(
            out.status.success(),
            "keyhaven {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// `vault status --json`, parsed.
    pub fn status_json(&self) -> serde_json::Value {
        serde_json::from_str(&self.kh_ok(&["vault", "status", "--json"])).unwrap()
    }

    /// The keychain accounts (item names) of Keyhaven items.
    pub fn keychain_accounts(&self) -> Vec<String> {
        let out = self
            .command("secret-tool")
            .args(["search", "--all", "--unlock", "service", "dev.keyhaven"])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).to_string()
            + &String::from_utf8_lossy(&out.stderr);
        let mut v: Vec<String> = text
            .lines()
            .filter_map(|l| l.strip_prefix("attribute.username = "))
            .map(str::to_string)
            .collect();
        v.sort();
        v
    }

    /// The key hex stored under an account, via secret-tool.
    pub fn keychain_secret(&self, account: &str) -> String {
        let out = self
            .command("secret-tool")
            .args(["lookup", "service", "dev.keyhaven", "username", account])
            .output()
            .unwrap();
        assert!(out.status.success(), "lookup failed: {out:?}");
        String::from_utf8(out.stdout).unwrap().trim().to_string()
    }

    /// Replaces the secret of an item (same attributes) via secret-tool.
    pub fn keychain_overwrite(&self, account: &str, secret: &str) {
        let mut child = self
            .command("secret-tool")
            .args([
                "store",
                "--label=replaced",
                "service",
                "dev.keyhaven",
                "username",
                account,
            ])
            .stdin(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(secret.as_bytes())
            .unwrap();
        assert!(child.wait().unwrap().success());
    }

    /// Deletes an item via secret-tool.
    pub fn keychain_clear(&self, account: &str) {
        let out = self
            .command("secret-tool")
            .args(["clear", "service", "dev.keyhaven", "username", account])
            .output()
            .unwrap();
        assert!(out.status.success(), "clear failed: {out:?}");
    }

    /// The current key's account name from the metadata.
    pub fn current_account(&self) -> String {
        let meta: serde_json::Value =
            serde_json::from_slice(&fs::read(self.meta_file()).unwrap()).unwrap();
        meta["key"]["account"].as_str().unwrap().to_string()
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        // An agent of this session stops before its directory goes (it would exit by itself
        // within a second of the vault file going, but could race the directory's removal).
        if let Ok(agent) = keyhaven_ipc::client::connect(&self.agent_socket()) {
            let pid = agent.hello.pid;
            let _ = agent.ask::<serde_json::Value>(
                &keyhaven_ipc::wire::Request::Shutdown,
                std::time::Duration::from_secs(5),
            );
            for _ in 0..100 {
                if !Path::new(&format!("/proc/{pid}")).exists() {
                    break;
                }
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
        }
        // gnome-keyring-daemon exits when its bus goes away.
        let _ = Command::new("kill").arg(self.bus_pid.to_string()).status();
    }
}

/// Runs a command with `input` on its stdin (a pipe), bounded like [`output_within`].
pub fn run_with_input(cmd: &mut Command, input: &str) -> Output {
    use std::io::Write;
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let _ = stdin.write_all(input.as_bytes());
    drop(stdin);
    oauth::wait_child(child, 120)
}

/// Runs a command to completion, killing it (and failing) after `secs` seconds.
pub fn output_within(cmd: &mut Command, secs: u64) -> Output {
    let child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    oauth::wait_child(child, secs)
}

/// `Command::output` with a deadline of 120 s, for every process a test runs.
pub trait Bounded {
    /// Runs to completion or fails the test after 120 s.
    fn run_bounded(&mut self) -> Output;
}

impl Bounded for Command {
    fn run_bounded(&mut self) -> Output {
        output_within(self, 120)
    }
}

/// SHA-256 of a file.
pub fn sha256(path: &Path) -> Vec<u8> {
    sha2::Sha256::digest(fs::read(path).unwrap()).to_vec()
}

/// SHA-256 of every file in a directory (name -> digest), to prove nothing changed.
pub fn dir_digest(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut v: Vec<_> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().to_string(),
                sha256(&p),
            )
        })
        .collect();
    v.sort();
    v
}

/// Asserts a failed run: the exit code, one line of stderr starting `keyhaven: error:`, that
/// contains `needle`, and none of SQLCipher's own log lines.
pub fn assert_fails(out: &Output, code: i32, needle: &str) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert_eq!(out.status.code(), Some(code), "exit code; stderr: {stderr}");
    let lines: Vec<_> = stderr.lines().collect();
    assert_eq!(
        lines.len(),
        1,
        "exactly one line on stderr, got: {stderr:?}"
    );
    assert!(lines[0].starts_with("keyhaven: error: "), "{stderr}");
    assert!(
        lines[0].contains(needle),
        "expected {needle:?} in {stderr:?}"
    );
    for noise in ["hmac", "sqlcipher", "panicked", "RUST_BACKTRACE"] {
        assert!(
            !stderr.to_lowercase().contains(noise),
            "{noise} leaked: {stderr}"
        );
    }
    assert!(out.stdout.is_empty(), "nothing on stdout on error");
    stderr
}

pub fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
}

pub fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc_geteuid() == 0 }
}

unsafe extern "C" {
    #[link_name = "geteuid"]
    fn libc_geteuid() -> u32;
}
pub mod cloud;
pub mod oauth;
pub mod tools;
