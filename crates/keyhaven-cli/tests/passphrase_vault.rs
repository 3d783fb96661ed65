//! Passphrase mode: chosen explicitly, works with no keychain at all, and a wrong or missing
//! passphrase is a clear bad-input error that changes nothing.

use std::fs;

use crate::support::Bounded;
use crate::support::{Session, assert_fails, dir_digest};

const PASS: &str = "correct horse battery staple";

/// A session with a bus but no Secret Service: passphrase mode must not need one.
fn setup() -> (Session, String) {
    let s = Session::bare();
    let f = s.tmp.path().join("pass.txt");
    fs::write(&f, format!("{PASS}\n")).unwrap();
    (s, f.to_string_lossy().into_owned())
}

#[test]
fn passphrase_vault_works_without_any_keychain() {
    let (s, file) = setup();
    let out = s.kh_ok(&["init", "--passphrase", "--passphrase-file", &file]);
    assert!(out.contains("protected by your passphrase"), "{out}");
    assert!(s.keychain_accounts().is_empty());
    let st: serde_json::Value =
        serde_json::from_str(&s.kh_ok(&["vault", "status", "--json", "--passphrase-file", &file]))
            .unwrap();
    assert_eq!(st["key_source"]["kind"], "passphrase");
    assert_eq!(st["key_source"]["kdf"], "argon2id");
    // The environment variable works as well as the flag.
    let out = s
        .command(crate::support::keyhaven_bin())
        .env("KEYHAVEN_PASSPHRASE_FILE", &file)
        .args(["list", "--json"])
        .run_bounded();
    assert!(out.status.success(), "{out:?}");
    // Salt and parameters beside the vault, no passphrase in them.
    let meta = fs::read_to_string(s.meta_file()).unwrap();
    assert!(meta.contains("\"salt\"") && meta.contains("\"m_cost\""));
    assert!(!meta.contains(PASS));
}

#[test]
fn wrong_missing_or_short_passphrases_are_bad_input_and_change_nothing() {
    let (s, file) = setup();
    s.kh_ok(&["init", "--passphrase-file", &file]);
    let before = dir_digest(&s.home());
    let wrong = s.tmp.path().join("wrong.txt");
    fs::write(&wrong, "not the passphrase").unwrap();
    let wrong = wrong.to_string_lossy().into_owned();
    let err = assert_fails(
        &s.kh(&["vault", "status", "--passphrase-file", &wrong]),
        2,
        "wrong passphrase",
    );
    assert!(!err.contains("not the passphrase"));
    // No terminal and no file: says how to give it.
    assert_fails(&s.kh(&["vault", "status"]), 2, "--passphrase-file");
    // Unreadable file.
    assert_fails(
        &s.kh(&["vault", "status", "--passphrase-file", "/nonexistent/pass"]),
        2,
        "cannot read passphrase file",
    );
    assert_eq!(before, dir_digest(&s.home()));

    // A new passphrase must be long enough; nothing is created.
    let other = Session::bare();
    let short = other.tmp.path().join("short.txt");
    fs::write(&short, "short").unwrap();
    assert_fails(
        &other.kh(&["init", "--passphrase-file", short.to_str().unwrap()]),
        2,
        "at least 8 characters",
    );
    assert!(!other.vault_file().exists());
    // `init --passphrase` with no terminal and no file.
    assert_fails(&other.kh(&["init", "--passphrase"]), 2, "passphrase");
    assert!(!other.vault_file().exists());
}

#[test]
fn passphrase_rekey_switches_to_the_new_passphrase() {
    let (s, file) = setup();
    s.kh_ok(&["init", "--passphrase-file", &file]);
    let new = s.tmp.path().join("new.txt");
    fs::write(&new, "a brand new passphrase").unwrap();
    let new = new.to_string_lossy().into_owned();
    s.kh_ok(&[
        "vault",
        "rekey",
        "--passphrase-file",
        &file,
        "--new-passphrase-file",
        &new,
    ]);
    assert_fails(
        &s.kh(&["list", "--passphrase-file", &file]),
        2,
        "wrong passphrase",
    );
    s.kh_ok(&["list", "--passphrase-file", &new]);
}
