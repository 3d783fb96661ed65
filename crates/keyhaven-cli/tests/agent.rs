//! The session agent (docs/agent.md) with real parts: gnome-keyring in a private D-Bus session,
//! the oidc-provider test server, the real `keyhaven` front binary and `keyhaven-main`, and
//! `setpriv` for another uid. Every fault ends in a fallback or a one-line error within a bound.

use std::io::{Read, Write};
use std::os::unix::net::UnixListener;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use keyhaven_ipc::wire::Request;

use crate::support::oauth::{AuthServer, Flow, same_token_from_all};
use crate::support::{Session, assert_fails, is_root, keyhaven_bin};

/// A keychain vault with one OAuth connection (`testas`), agent allowed.
fn flow() -> (Flow, String) {
    let f = Flow::new();
    let id = f.connect("alice");
    f.s.enable_agent();
    (f, id)
}

/// The newest hand-out rows of the audit log, newest first.
fn hand_outs(s: &Session) -> Vec<serde_json::Value> {
    let audit: Vec<serde_json::Value> =
        serde_json::from_str(&s.kh_ok(&["audit", "--json"])).unwrap();
    audit
        .into_iter()
        .filter(|e| e["action"] == "token.handed_out")
        .collect()
}

fn newest_first(mut rows: Vec<serde_json::Value>) -> Vec<serde_json::Value> {
    rows.sort_by_key(|e| std::cmp::Reverse(e["id"].as_i64().unwrap()));
    rows
}

#[test]
fn unlock_starts_the_agent_which_hands_out_and_audits_who_asked() {
    let (f, id) = flow();
    let s = &f.s;
    let st = s.agent_status();
    assert_eq!(st["running"], false, "{st}");
    s.kh_ok(&["unlock"]);
    let st = s.agent_status();
    assert_eq!(st["running"], true, "{st}");
    assert_eq!(st["locked"], false, "{st}");
    assert_eq!(st["this_vault"], true, "{st}");
    assert_eq!(st["host"], "cli");
    assert!(st["pid"].as_u64().unwrap() > 0);
    assert!(st["since"].as_str().unwrap().ends_with('Z'));
    assert_eq!(
        std::fs::canonicalize(s.vault_file())
            .unwrap()
            .to_str()
            .unwrap(),
        st["vault_path"]
    );
    let meta: serde_json::Value =
        serde_json::from_slice(&std::fs::read(s.meta_file()).unwrap()).unwrap();
    assert_eq!(st["vault_id"], meta["vault_id"]);

    let token = s.kh_ok(&["token", &id]);
    assert_eq!(token.trim(), f.access_token(&id));
    let json: serde_json::Value =
        serde_json::from_str(&s.kh_ok(&["token", "testas", "--json"])).unwrap();
    assert_eq!(json["token"], token.trim());
    assert_eq!(json["provider"], "testas");
    assert_eq!(json["account"], "alice");
    assert!(json["scopes"].as_array().unwrap().len() >= 2, "{json}");

    let rows = newest_first(hand_outs(s));
    let row = &rows[0];
    assert_eq!(row["actor"], "agent", "{row}");
    assert_eq!(row["tool"], "token");
    assert!(row["pid"].as_i64().unwrap() > 0);
    assert!(
        row["program"].as_str().unwrap().ends_with("/keyhaven"),
        "the asking program is the front binary: {row}"
    );
    let me = std::env::current_exe().unwrap();
    assert_eq!(
        row["parent_program"].as_str().unwrap(),
        me.to_str().unwrap(),
        "its parent is this test process: {row}"
    );
    assert_eq!(s.agent_status()["served"], 2);

    // An error the agent answers is the direct path's error, word for word and exit code.
    let out = s.kh(&["token", "nosuch"]);
    assert_fails(&out, 2, "no connection \"nosuch\"");
}

#[test]
fn a_keychain_vault_starts_its_agent_on_demand_after_a_direct_hand_out() {
    let (f, id) = flow();
    let s = &f.s;
    let first = s.kh_ok(&["token", &id]);
    assert_eq!(newest_first(hand_outs(s))[0]["actor"], "cli");
    let st = s.wait_agent("started", |st| {
        st["running"] == true && st["locked"] == false
    });
    assert_eq!(st["this_vault"], true);
    let second = s.kh_ok(&["token", &id]);
    assert_eq!(first, second);
    assert_eq!(newest_first(hand_outs(s))[0]["actor"], "agent");

    // KEYHAVEN_NO_AGENT=1: neither used nor started.
    let direct = s
        .command(keyhaven_bin())
        .args(["token", &id])
        .env("KEYHAVEN_NO_AGENT", "1")
        .output()
        .unwrap();
    assert!(direct.status.success());
    assert_eq!(newest_first(hand_outs(s))[0]["actor"], "cli");
}

#[test]
fn autostart_false_in_the_settings_starts_no_agent() {
    let (f, id) = flow();
    let s = &f.s;
    let conf = s.tmp.path().join("home/.config/keyhaven");
    std::fs::create_dir_all(&conf).unwrap();
    std::fs::write(conf.join("config.toml"), "[agent]\nautostart = false\n").unwrap();
    s.kh_ok(&["token", &id]);
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(s.agent_status()["running"], false);
    // `unlock` still starts one: the setting is about hand-outs.
    s.kh_ok(&["unlock"]);
    assert_eq!(s.agent_status()["locked"], false);
}

#[test]
fn the_agent_locks_when_idle_and_at_the_hard_cap_with_an_injected_clock() {
    let (f, id) = flow();
    let s = &f.s;
    s.kh_ok(&["unlock", "--timeout", "60"]);
    let st = s.agent_status();
    assert_eq!(st["idle_lock_secs"], 60);
    s.agent_request(&Request::TestAdvanceClock { secs: 30 });
    s.kh_ok(&["token", &id]); // re-arms the idle timer
    s.agent_request(&Request::TestAdvanceClock { secs: 45 });
    std::thread::sleep(Duration::from_millis(600));
    assert_eq!(
        s.agent_status()["locked"],
        false,
        "used 45 s ago: not idle yet"
    );
    s.agent_request(&Request::TestAdvanceClock { secs: 20 });
    let st = s.wait_agent("idle-locked", |st| st["locked"] == true);
    assert_eq!(st["lock_reason"], "idle", "{st}");
    // A locked agent is not used: the hand-out takes the direct path and still works.
    let out = s.kh_ok(&["token", &id]);
    assert_eq!(out.trim(), f.access_token(&id));
    s.kh_ok(&["lock"]);

    // Hard cap: busy or not, it locks that long after the unlock.
    s.kh_ok(&["lock"]);
    let pid = s.agent_status()["pid"].clone();
    s.agent_request(&Request::Shutdown);
    wait_gone(pid.as_u64().unwrap());
    let mut agent = s
        .command(crate::support::keyhaven_bin())
        .args(["agent", "--hard-cap", "100", "--idle-lock", "100000"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    s.wait_agent("unlocked", |st| {
        st["running"] == true && st["locked"] == false
    });
    assert_ne!(s.agent_status()["pid"], pid);
    s.agent_request(&Request::TestAdvanceClock { secs: 60 });
    s.kh_ok(&["token", &id]);
    s.agent_request(&Request::TestAdvanceClock { secs: 41 });
    let st = s.wait_agent("capped", |st| st["locked"] == true);
    assert_eq!(st["lock_reason"], "hard_cap", "{st}");
    s.agent_request(&Request::Shutdown);
    let out = wait_child_status(&mut agent, 10);
    assert!(
        out.success(),
        "the agent exits cleanly on shutdown: {out:?}"
    );
}

/// Waits until process `pid` has exited (gone, or a zombie nobody reaped yet).
fn wait_gone(pid: u64) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|st| !st.contains(") Z")) {
        assert!(Instant::now() < deadline, "process {pid} did not exit");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn wait_child_status(child: &mut std::process::Child, secs: u64) -> std::process::ExitStatus {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(st) = child.try_wait().unwrap() {
            return st;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("process did not exit within {secs} s");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn lock_forgets_the_key_and_hand_outs_fall_back_to_the_direct_path() {
    let (f, id) = flow();
    let s = &f.s;
    s.kh_ok(&["unlock"]);
    let out = s.kh(&["lock"]);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("holds no key"));
    let st = s.agent_status();
    assert_eq!(st["locked"], true);
    assert_eq!(st["lock_reason"], "asked");
    assert_eq!(st["unlocked_at"], serde_json::Value::Null);
    let token = s.kh_ok(&["token", &id]);
    assert_eq!(token.trim(), f.access_token(&id));
    assert_eq!(newest_first(hand_outs(s))[0]["actor"], "cli");
    // Locked on purpose stays locked (an idle-locked keychain agent would take its key again).
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(s.agent_status()["locked"], true);
    s.kh_ok(&["unlock"]);
    assert_eq!(s.agent_status()["locked"], false);
    // `lock` with no agent is not an error.
    s.agent_request(&Request::Shutdown);
    s.wait_agent("stopped", |st| st["running"] == false);
    let out = s.kh(&["lock"]);
    assert!(out.status.success(), "{out:?}");
}

#[test]
fn a_passphrase_vault_unlocks_once_and_then_needs_no_passphrase() {
    let s = Session::bare(); // no keychain at all
    s.enable_agent();
    let pass = s.tmp.path().join("pass");
    std::fs::write(&pass, "correct horse battery staple\n").unwrap();
    let pf = pass.to_str().unwrap();
    s.kh_ok(&["init", "--passphrase", "--passphrase-file", pf]);
    let add = s.kh_input(
        &[
            "credentials",
            "add",
            "hetzner",
            "--no-verify",
            "--passphrase-file",
            pf,
        ],
        "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\n",
    );
    assert!(add.status.success(), "{add:?}");
    // Without the agent: the passphrase is needed.
    let out = s.kh(&["token", "hetzner"]);
    assert_fails(&out, 2, "passphrase");
    // A wrong passphrase is refused and starts nothing usable.
    let wrong = s.tmp.path().join("wrong");
    std::fs::write(&wrong, "not the passphrase\n").unwrap();
    let out = s.kh(&["unlock", "--passphrase-file", wrong.to_str().unwrap()]);
    assert_fails(&out, 2, "passphrase");
    s.kh_ok(&["unlock", "--passphrase-file", pf]);
    let token = s.kh_ok(&["token", "hetzner"]);
    assert_eq!(
        token.trim(),
        "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
    );
    let env = s.kh_ok(&["list", "--json", "--passphrase-file", pf]);
    assert!(env.contains("hetzner"));
    assert_eq!(newest_first(hand_outs_with(&s, pf))[0]["actor"], "agent");
    s.kh_ok(&["lock"]);
    let out = s.kh(&["token", "hetzner"]);
    assert_fails(&out, 2, "passphrase");
}

fn hand_outs_with(s: &Session, pf: &str) -> Vec<serde_json::Value> {
    let audit: Vec<serde_json::Value> =
        serde_json::from_str(&s.kh_ok(&["audit", "--json", "--passphrase-file", pf])).unwrap();
    audit
        .into_iter()
        .filter(|e| e["action"] == "token.handed_out")
        .collect()
}

#[test]
fn the_key_is_in_no_argv_environment_or_file_and_the_agent_is_not_dumpable() {
    let (f, id) = flow();
    let s = &f.s;
    s.kh_ok(&["unlock"]);
    let pid = s.agent_status()["pid"].as_u64().unwrap();
    let key_hex = s.keychain_secret(&s.current_account());
    assert_eq!(key_hex.len(), 64);
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap();
    assert!(!contains(&cmdline, key_hex.as_bytes()));
    let argv: Vec<String> = cmdline
        .split(|b| *b == 0)
        .filter(|a| !a.is_empty())
        .map(|a| String::from_utf8_lossy(a).into_owned())
        .collect();
    assert_eq!(
        argv,
        [main_bin().to_str().unwrap(), "agent", "--locked"],
        "argv is the program and its options"
    );
    // Root may read a non-dumpable process's environment; check it holds no key either.
    if let Ok(environ) = std::fs::read(format!("/proc/{pid}/environ")) {
        assert!(!contains(&environ, key_hex.as_bytes()));
        assert!(!contains(&environ, b"KEYHAVEN_AGENT_TRIED"));
    }
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    assert!(status.contains("State:"), "{status}");
    for entry in walk(s.tmp.path()) {
        let bytes = std::fs::read(&entry).unwrap_or_default();
        assert!(
            !contains(&bytes, key_hex.as_bytes()),
            "key hex in {}",
            entry.display()
        );
    }
    // Not dumpable: a process of the agent's own uid (not root) cannot read its environment.
    // As root this needs an agent of another user: run one as `nobody` with a passphrase vault.
    let _ = id;
    if is_root() {
        nobody_agent_is_not_dumpable();
    } else {
        let e = std::fs::read(format!("/proc/{pid}/environ")).unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::PermissionDenied);
    }
}

fn main_bin() -> std::path::PathBuf {
    keyhaven_bin().with_file_name("keyhaven-main")
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = vec![];
    let Ok(rd) = std::fs::read_dir(dir) else {
        return out;
    };
    for e in rd.flatten() {
        let p = e.path();
        let Ok(ft) = e.file_type() else { continue };
        if ft.is_dir() {
            out.extend(walk(&p));
        } else if ft.is_file() {
            out.push(p);
        }
    }
    out
}

/// A directory `nobody` owns, for running keyhaven as another user.
fn nobody_dir(s: &Session, name: &str) -> std::path::PathBuf {
    let d = s.tmp.path().join(name);
    std::fs::create_dir_all(&d).unwrap();
    // SAFETY: chown on a path we just created; plain integers.
    let c = std::ffi::CString::new(d.to_str().unwrap()).unwrap();
    assert_eq!(unsafe { libc::chown(c.as_ptr(), 65534, 65534) }, 0);
    crate::support::set_mode(&d, 0o700);
    d
}

fn as_nobody(s: &Session, program: &std::path::Path) -> Command {
    let mut c = s.command("setpriv");
    c.args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
        .arg(program);
    c
}

fn nobody_agent_is_not_dumpable() {
    let s = Session::bare();
    s.enable_agent();
    crate::support::set_mode(s.tmp.path(), 0o755);
    let home = nobody_dir(&s, "nobody-home");
    let run = nobody_dir(&s, "nobody-run");
    let kh = s.bins_for_nobody();
    let pass = home.join("pass");
    std::fs::write(&pass, "nobody's passphrase here\n").unwrap();
    let c = std::ffi::CString::new(pass.to_str().unwrap()).unwrap();
    // SAFETY: as above.
    assert_eq!(unsafe { libc::chown(c.as_ptr(), 65534, 65534) }, 0);
    let env = |c: &mut Command| {
        c.env("KEYHAVEN_HOME", home.join("vault"))
            .env("HOME", &home)
            .env("XDG_RUNTIME_DIR", &run)
            .env("KEYHAVEN_PASSPHRASE_FILE", &pass);
    };
    let mut init = as_nobody(&s, &kh);
    init.args(["init", "--passphrase"]);
    env(&mut init);
    let out = init.output().unwrap();
    assert!(out.status.success(), "{out:?}");
    let mut unlock = as_nobody(&s, &kh);
    unlock.arg("unlock");
    env(&mut unlock);
    let out = crate::support::output_within(&mut unlock, 60);
    assert!(out.status.success(), "{out:?}");
    let mut status = as_nobody(&s, &kh);
    status.args(["agent", "status", "--json"]);
    env(&mut status);
    let st: serde_json::Value = serde_json::from_slice(&status.output().unwrap().stdout).unwrap();
    let pid = st["pid"].as_u64().unwrap();
    assert_eq!(st["locked"], false);
    // The same user reads a dumpable process's environment (so the check below could fail)...
    let mut sleeper = as_nobody(&s, std::path::Path::new("/bin/sleep"));
    let mut sleeper = sleeper.arg("30").spawn().unwrap();
    let mut cat = as_nobody(&s, std::path::Path::new("/bin/cat"));
    let out = cat
        .arg(format!("/proc/{}/environ", sleeper.id()))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "nobody reads its own sleep's environ: {out:?}"
    );
    let _ = sleeper.kill();
    let _ = sleeper.wait();
    // ...but not the agent's.
    let mut cat = as_nobody(&s, std::path::Path::new("/bin/cat"));
    let out = cat.arg(format!("/proc/{pid}/environ")).output().unwrap();
    assert!(
        !out.status.success(),
        "the agent's environ is readable: {out:?}"
    );
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("Permission denied"),
        "{out:?}"
    );
    let mut lock = as_nobody(&s, &kh);
    lock.arg("lock");
    env(&mut lock);
    assert!(lock.output().unwrap().status.success());
    // Stop it (the session's own clean-up looks at the session's socket, not this one).
    let _ = Command::new("kill").arg(pid.to_string()).status();
}

#[test]
fn another_uid_is_refused_and_the_refusal_is_audited() {
    if !is_root() {
        panic!("this test changes uid with setpriv and must run as root (as CI does)");
    }
    let (f, id) = flow();
    let s = &f.s;
    s.kh_ok(&["unlock"]);
    // Open the way to the socket for everyone, as a careless KEYHAVEN_AGENT_SOCK would: the
    // kernel's SO_PEERCRED check is what refuses now.
    crate::support::set_mode(s.tmp.path(), 0o755);
    crate::support::set_mode(&s.tmp.path().join("run"), 0o755);
    crate::support::set_mode(s.agent_socket().parent().unwrap(), 0o755);
    crate::support::set_mode(&s.agent_socket(), 0o666);
    let kh = s.bins_for_nobody();
    // A raw client as nobody (perl, part of every Debian): the agent's own check refuses it
    // before its hello, so it learns nothing about the vault. (Keyhaven's client would not
    // even ask: it refuses an agent of another uid itself.)
    let out = s
        .command("setpriv")
        .args([
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            "--",
            "/usr/bin/perl",
        ])
        .args([
            "-MIO::Socket::UNIX",
            "-e",
            "my $s = IO::Socket::UNIX->new(Peer => $ARGV[0]) or die qq(connect: $!\\n); \
             print scalar <$s>;",
        ])
        .arg(s.agent_socket())
        .output()
        .unwrap();
    let reply = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(out.status.success(), "the probe runs as nobody: {out:?}");
    assert!(reply.contains("agent_forbidden"), "{reply}");
    assert!(!reply.contains("vault"), "nothing about the vault: {reply}");
    // The front binary, as nobody, falls back to the direct path (which cannot open root's
    // vault): a one-line error, no token.
    let out = s
        .command("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
        .arg(&kh)
        .args(["token", &id])
        .env("KEYHAVEN_AGENT_SOCK", s.agent_socket())
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(out.stdout.is_empty());
    let audit: Vec<serde_json::Value> =
        serde_json::from_str(&s.kh_ok(&["audit", "--json"])).unwrap();
    let refused: Vec<_> = audit
        .iter()
        .filter(|e| e["action"] == "agent.refused")
        .collect();
    assert!(refused.len() >= 2, "{audit:?}");
    assert!(
        refused[0]["detail"].as_str().unwrap().contains("uid 65534"),
        "{refused:?}"
    );
    assert_eq!(refused[0]["actor"], "agent");
}

#[test]
fn a_killed_agent_a_stale_socket_a_silent_agent_and_garbage_all_fall_back() {
    let (f, id) = flow();
    let s = &f.s;
    let expected = f.access_token(&id);
    let direct_ok = |what: &str| {
        let started = Instant::now();
        let out = s.kh(&["token", &id]);
        assert!(out.status.success(), "{what}: {out:?}");
        assert_eq!(
            String::from_utf8_lossy(&out.stdout).trim(),
            expected,
            "{what}"
        );
        assert!(
            started.elapsed() < Duration::from_secs(8),
            "{what}: took {:?}",
            started.elapsed()
        );
        assert!(out.stderr.is_empty(), "{what}: quiet fallback: {out:?}");
    };
    s.kh_ok(&["unlock"]);
    // SIGKILL: the socket file stays behind, nobody listens.
    let pid = s.agent_status()["pid"].as_u64().unwrap();
    Command::new("kill")
        .args(["-KILL", &pid.to_string()])
        .status()
        .unwrap();
    wait_gone(pid);
    assert!(s.agent_socket().exists(), "a stale socket file");
    direct_ok("stale socket");
    // The hand-out started a new agent on demand, replacing the stale socket.
    let st = s.wait_agent("restarted", |st| {
        st["running"] == true && st["locked"] == false
    });
    assert_ne!(st["pid"].as_u64().unwrap(), pid);
    s.agent_request(&Request::Shutdown);
    s.wait_agent("stopped", |st| st["running"] == false);

    // Fakes on the socket path (no real agent can start there while they hold it; with
    // KEYHAVEN_NO_AGENT unset, the command would start one, which the fake's file blocks).
    let sock = s.agent_socket();
    let fake = |script: fn(std::os::unix::net::UnixStream)| {
        let _ = std::fs::remove_file(&sock);
        let listener = UnixListener::bind(&sock).unwrap();
        std::thread::spawn(move || {
            for conn in listener.incoming().flatten() {
                std::thread::spawn(move || script(conn));
            }
        });
    };
    fake(|c| {
        // Accepts and never answers.
        std::thread::sleep(Duration::from_secs(30));
        drop(c)
    });
    direct_ok("silent agent");
    fake(|mut c| {
        let _ = c.write_all(b"\x7fELF garbage\n");
    });
    direct_ok("garbage");
    fake(|mut c| {
        let _ = c.write_all(
            br#"{"agent":"keyhaven","protocol":99,"vault_id":"x","vault_path":"/x","locked":false,"pid":1}
"#,
        );
    });
    direct_ok("another protocol version");
    let meta: serde_json::Value =
        serde_json::from_slice(&std::fs::read(s.meta_file()).unwrap()).unwrap();
    let hello = format!(
        "{{\"agent\":\"keyhaven\",\"protocol\":1,\"vault_id\":{},\"vault_path\":{:?},\"locked\":false,\"pid\":1}}\n",
        meta["vault_id"],
        std::fs::canonicalize(s.vault_file())
            .unwrap()
            .to_str()
            .unwrap()
    );
    let hello: &'static str = Box::leak(hello.into_boxed_str());
    static HELLO: std::sync::OnceLock<&'static str> = std::sync::OnceLock::new();
    HELLO.set(hello).unwrap();
    fake(|mut c| {
        // Our vault, then dies mid-reply: a truncated line is never used.
        let _ = c.write_all(HELLO.get().unwrap().as_bytes());
        let mut buf = [0u8; 4096];
        let _ = c.read(&mut buf);
        let _ = c.write_all(br#"{"token":"FORGED-TOKEN","token_type":"Bearer","#);
    });
    direct_ok("truncated reply");
    fake(|mut c| {
        // An agent of another vault (a valid hello for someone else's vault).
        let _ = c.write_all(
            br#"{"agent":"keyhaven","protocol":1,"vault_id":"other","vault_path":"/elsewhere/vault.db","locked":false,"pid":1}
"#,
        );
        let mut buf = [0u8; 4096];
        let _ = c.read(&mut buf);
        let _ = c.write_all(br#"{"token":"FORGED","token_type":null,"expires_at":null,"scopes":[],"id":"x","provider":"x","account":"x"}
"#);
    });
    direct_ok("agent of another vault");
    let _ = std::fs::remove_file(&sock);
    // The audit log shows only direct hand-outs for the faked cases, and nothing was lost.
    let rows = newest_first(hand_outs(s));
    assert!(rows.iter().take(5).all(|r| r["actor"] == "cli"), "{rows:?}");
}

#[test]
fn an_agent_exits_when_its_vault_file_is_gone() {
    let (f, _id) = flow();
    let s = &f.s;
    s.kh_ok(&["unlock"]);
    let pid = s.agent_status()["pid"].as_u64().unwrap();
    std::fs::rename(s.vault_file(), s.tmp.path().join("moved.db")).unwrap();
    wait_gone(pid);
    assert!(!s.agent_socket().exists(), "its socket is removed");
}

#[test]
fn unlock_refuses_a_socket_held_by_another_vaults_agent() {
    let (f, _id) = flow();
    let s = &f.s;
    s.kh_ok(&["unlock"]);
    let other = s.tmp.path().join("other-vault");
    let mut init = s.command(keyhaven_bin());
    init.args(["init"]).env("KEYHAVEN_HOME", &other);
    assert!(init.output().unwrap().status.success());
    let mut unlock = s.command(keyhaven_bin());
    unlock.args(["unlock"]).env("KEYHAVEN_HOME", &other);
    let out = crate::support::output_within(&mut unlock, 30);
    assert_fails(&out, 1, "serves another vault");
    let mut st = s.command(keyhaven_bin());
    st.args(["agent", "status", "--json"])
        .env("KEYHAVEN_HOME", &other);
    let st: serde_json::Value = serde_json::from_slice(&st.output().unwrap().stdout).unwrap();
    assert_eq!(st["running"], true);
    assert_eq!(st["this_vault"], false);
}

#[test]
fn ten_concurrent_tokens_with_the_agent_and_five_without_refresh_exactly_once() {
    let f = Flow::with_server(AuthServer::start_with(&[("KH_AS_ACCESS_TTL", "3")]));
    let id = f.connect("alice");
    f.s.enable_agent();
    let original = f.access_token(&id);
    f.s.kh_ok(&["unlock"]);
    // Expire: the agent's clock and the commands' clocks move together.
    f.s.agent_request(&Request::TestAdvanceClock { secs: 4 });
    f.s.advance(4);
    let before = f.server.token_requests("refresh_token");
    let spawn = |no_agent: bool| {
        let mut c = f.s.command(keyhaven_bin());
        c.args(["token", "testas"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if no_agent {
            c.env("KEYHAVEN_NO_AGENT", "1");
        }
        c.spawn().unwrap()
    };
    let token = same_token_from_all((0..15).map(|i| spawn(i % 3 == 2)).collect());
    assert_ne!(token, original);
    let stats = f.server.stats();
    assert_eq!(
        f.server.token_requests("refresh_token") - before,
        1,
        "exactly one refresh: {stats}"
    );
    assert_eq!(stats["reuse_detected"], 0, "{stats}");
    let rows = hand_outs(&f.s);
    let agent = rows.iter().filter(|r| r["actor"] == "agent").count();
    assert!(agent >= 10, "the agent served the ten: {agent}");
}

#[test]
fn agent_command_errors_are_one_line() {
    let s = Session::bare();
    s.enable_agent();
    let out = s.kh(&["unlock"]);
    assert_fails(&out, 1, "keyhaven init");
    let out = s.kh(&["agent", "--idle-lock", "0"]);
    assert_eq!(out.status.code(), Some(2));
    let out = s.kh(&["agent", "status", "--bogus"]);
    assert_eq!(out.status.code(), Some(2));
    // An agent will not listen in a directory open to others.
    let open = s.tmp.path().join("open");
    std::fs::create_dir(&open).unwrap();
    crate::support::set_mode(&open, 0o777);
    let pass = s.tmp.path().join("pass");
    std::fs::write(&pass, "a passphrase long enough\n").unwrap();
    s.kh_ok(&[
        "init",
        "--passphrase",
        "--passphrase-file",
        pass.to_str().unwrap(),
    ]);
    let mut c = s.command(keyhaven_bin());
    c.args(["agent"])
        .env("KEYHAVEN_AGENT_SOCK", open.join("agent.sock"));
    let out = crate::support::output_within(&mut c, 20);
    assert_fails(&out, 1, "open to other users");
    // status JSON without an agent
    let st = s.agent_status();
    assert_eq!(st["running"], false);
    assert_eq!(st["socket"], s.agent_socket().to_str().unwrap());
}

#[test]
fn a_rekey_while_the_agent_runs_locks_it_and_unlock_takes_the_new_key() {
    let (f, id) = flow();
    let s = &f.s;
    s.kh_ok(&["unlock"]);
    let out = s.kh(&["vault", "rekey"]);
    assert!(
        out.status.success(),
        "the agent lets go of the vault: {out:?}"
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("the agent was locked for the rekey"));
    let st = s.agent_status();
    assert_eq!(st["locked"], true, "{st}");
    s.kh_ok(&["unlock"]);
    assert_eq!(s.agent_status()["locked"], false);
    assert_eq!(s.kh_ok(&["token", &id]).trim(), f.access_token(&id));
    assert_eq!(newest_first(hand_outs(s))[0]["actor"], "agent");
}
