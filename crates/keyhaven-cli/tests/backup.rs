//! Encrypted backup (`vault export` / `vault import`): an age file the standard `age` tool opens,
//! merged into another vault with a report, a damaged or wrongly decrypted file changing nothing,
//! and `--move` handing rotating refresh tokens over to the importing vault.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::support::oauth::{AuthServer, Flow};
use crate::support::{Bounded, Session, assert_fails, dir_digest};

const PASS: &str = "correct horse battery";

fn pass_file(s: &Session, text: &str) -> PathBuf {
    let p = s.tmp.path().join(format!("pass-{}.txt", text.len()));
    std::fs::write(&p, format!("{text}\n")).unwrap();
    p
}

fn export(s: &Session, file: &Path, extra: &[&str]) -> std::process::Output {
    let pass = pass_file(s, PASS);
    let mut args = vec![
        "vault",
        "export",
        file.to_str().unwrap(),
        "--backup-passphrase-file",
        pass.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    s.kh(&args)
}

fn import(s: &Session, file: &Path, pass: &str) -> std::process::Output {
    let pass = pass_file(s, pass);
    s.kh(&[
        "vault",
        "import",
        file.to_str().unwrap(),
        "--backup-passphrase-file",
        pass.to_str().unwrap(),
        "--json",
    ])
}

/// A second, empty vault with its own keyring.
fn other_vault() -> Session {
    let s = Session::with_keyring();
    s.kh_ok(&["init"]);
    s
}

#[test]
fn export_opens_with_the_age_tool_and_imports_into_another_vault() {
    let f = Flow::new();
    let id = f.connect("alice");
    let at = f.access_token(&id);
    let file = f.s.tmp.path().join("keyhaven.age");
    let out = export(&f.s, &file, &[]);
    assert!(out.status.success(), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("works in one place only"),
        "the export says plainly that a rotating refresh token lives in one place"
    );
    let bytes = std::fs::read(&file).unwrap();
    assert!(bytes.starts_with(b"age-encryption.org/v1\n"));
    assert!(
        !bytes.windows(at.len()).any(|w| w == at.as_bytes()),
        "no token in clear"
    );
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&file).unwrap().permissions().mode() & 0o777,
        0o600
    );

    // The standard age tool decrypts it (it reads the passphrase from a terminal: `script`).
    let plain = f.s.tmp.path().join("plain.json");
    let mut age = Command::new("script");
    age.args([
        "-qec",
        &format!("age -d -o {} {}", plain.display(), file.display()),
        "/dev/null",
    ]);
    let child = age
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::Write;
        let mut child = child;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(format!("{PASS}\n").as_bytes())
            .unwrap();
        let out = crate::support::oauth::wait_child(child, 60);
        assert!(out.status.success(), "{out:?}");
    }
    let doc: serde_json::Value = serde_json::from_slice(&std::fs::read(&plain).unwrap()).unwrap();
    assert_eq!(doc["format"], "keyhaven-backup");
    assert_eq!(doc["connections"][0]["account"], "alice");

    // Another vault imports it and hands out the same token.
    let b = other_vault();
    let out = import(&b, &file, PASS);
    assert!(out.status.success(), "{out:?}");
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        report["added"],
        serde_json::json!(["provider testas", "testas:alice"])
    );
    assert_eq!(b.kh_ok(&["token", "testas"]).trim(), at);
    let audit = b.kh_ok(&["audit"]);
    assert!(audit.contains("connection.imported") && audit.contains("vault.imported"));

    // Importing again: everything identical, skipped.
    let report: serde_json::Value =
        serde_json::from_slice(&import(&b, &file, PASS).stdout).unwrap();
    assert_eq!(report["added"], serde_json::json!([]));
    assert_eq!(report["updated"], serde_json::json!([]));
    assert_eq!(report["skipped"].as_array().unwrap().len(), 2, "{report}");

    // A backup never overwrites a file.
    let out = export(&f.s, &file, &[]);
    assert_fails(&out, 2, "already exists");
}

#[test]
fn a_damaged_or_wrongly_decrypted_backup_changes_nothing() {
    let f = Flow::new();
    f.connect("alice");
    let file = f.s.tmp.path().join("b.age");
    assert!(export(&f.s, &file, &[]).status.success());
    let good = std::fs::read(&file).unwrap();

    let b = other_vault();
    b.kh_ok(&["credentials", "fields", "github"]);
    let before = dir_digest(&b.home());
    let damaged = |name: &str, bytes: &[u8]| {
        let p = b.tmp.path().join(name);
        std::fs::write(&p, bytes).unwrap();
        p
    };
    let mut flipped = good.clone();
    let mid = flipped.len() - 40;
    flipped[mid] ^= 0x01;
    let cases = [
        (
            damaged("flipped.age", &flipped),
            PASS,
            1,
            "not a usable Keyhaven backup",
        ),
        (
            damaged("truncated.age", &good[..good.len() - 30]),
            PASS,
            1,
            "not a usable Keyhaven backup",
        ),
        (
            damaged("garbage.age", b"this is not an age file\n"),
            PASS,
            1,
            "not a usable Keyhaven backup",
        ),
        (file.clone(), "a wrong passphrase", 2, "wrong passphrase"),
    ];
    for (path, pass, code, needle) in cases {
        let out = import(&b, &path, pass);
        let err = assert_fails(&out, code, needle);
        assert!(err.contains("nothing was changed"), "{err}");
        assert_eq!(
            dir_digest(&b.home()),
            before,
            "{}: vault untouched",
            path.display()
        );
    }
    assert_eq!(b.kh_ok(&["list", "--json"]).trim(), "[]");
}

#[test]
fn export_with_move_hands_the_refresh_token_to_the_importing_vault() {
    let f = Flow::with_server(AuthServer::start_with(&[("KH_AS_ACCESS_TTL", "3")]));
    let id = f.connect("alice");
    let file = f.s.tmp.path().join("move.age");
    let out = export(&f.s, &file, &["--move"]);
    assert!(out.status.success(), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("Marked 1 connections as moved"));
    f.s.advance(4); // past the 3 s expiry
    let before = f.server.token_requests("refresh_token");
    assert_fails(&f.s.kh(&["token", &id]), 1, "moved to another vault");
    assert_eq!(
        f.server.token_requests("refresh_token"),
        before,
        "the source never presents the handed-over refresh token"
    );
    let list = f.connections();
    assert_eq!(list[0]["status"], "expired");
    // The importing vault refreshes it, once, without reuse detection.
    let b = other_vault();
    assert!(import(&b, &file, PASS).status.success());
    let token = b.kh_ok(&["token", "testas"]);
    assert_eq!(f.server.userinfo(token.trim()).0, 200);
    assert_eq!(f.server.token_requests("refresh_token"), before + 1);
    assert_eq!(f.server.stats()["reuse_detected"], 0);
    // A moved connection is not exported again.
    let again = f.s.tmp.path().join("again.age");
    let out = f.s.kh(&[
        "vault",
        "export",
        again.to_str().unwrap(),
        "--backup-passphrase-file",
        pass_file(&f.s, PASS).to_str().unwrap(),
        "--json",
    ]);
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["connections"], 0);
    let _ = Command::new("true").run_bounded();
}
