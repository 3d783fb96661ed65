//! The default vault: a 32-byte key in the OS keychain (real gnome-keyring), opened as a raw
//! SQLCipher key. First init, reopen, rekey, and that the key never lands on disk.

use std::fs;

use crate::support::Bounded;
use crate::support::{Session, sha256};

#[test]
fn init_stores_a_raw_key_in_the_keychain_and_an_encrypted_vault_on_disk() {
    let s = Session::with_keyring();
    let out = s.kh_ok(&["init"]);
    assert!(out.contains("Created the vault"), "{out}");
    let accounts = s.keychain_accounts();
    assert_eq!(accounts.len(), 1, "one keychain item: {accounts:?}");
    assert_eq!(accounts[0], s.current_account());
    let key_hex = s.keychain_secret(&accounts[0]);
    assert_eq!(key_hex.len(), 64, "32 bytes as hex");
    assert!(key_hex.chars().all(|c| c.is_ascii_hexdigit()));

    // The vault is not plaintext SQLite, and the key is in no file of the data directory, in
    // hex or raw form.
    let vault = fs::read(s.vault_file()).unwrap();
    assert!(!vault.starts_with(b"SQLite format 3"));
    let raw = hex::decode(&key_hex).unwrap();
    for entry in fs::read_dir(s.home()).unwrap() {
        let path = entry.unwrap().path();
        let bytes = fs::read(&path).unwrap();
        for needle in [
            key_hex.as_bytes(),
            &key_hex.to_uppercase().into_bytes()[..],
            &raw[..],
        ] {
            assert!(
                !bytes.windows(needle.len()).any(|w| w == needle),
                "key found in {}",
                path.display()
            );
        }
    }
}

#[test]
fn reopen_reports_status_with_key_source_schema_and_counts() {
    let s = Session::with_keyring();
    s.kh_ok(&["init"]);
    let st = s.status_json();
    assert_eq!(st["key_source"]["kind"], "keychain");
    assert_eq!(st["key_source"]["account"], s.current_account().as_str());
    assert_eq!(st["schema_version"], 6);
    assert_eq!(st["schema_latest"], 6);
    assert_eq!(st["integrity"], "ok");
    assert_eq!(st["counts"]["connections"], 0);
    assert_eq!(st["counts"]["audit_events"], 1, "vault.created");
    assert_eq!(
        st["path"].as_str().unwrap(),
        s.vault_file().to_str().unwrap()
    );
    let text = s.kh_ok(&["vault", "status"]);
    assert!(text.contains("key in the OS keychain"), "{text}");
    // Opening again changes nothing of substance: same counts.
    assert_eq!(s.status_json()["counts"], st["counts"]);
}

#[test]
fn rekey_moves_to_a_new_keychain_item_and_removes_the_old_one() {
    let s = Session::with_keyring();
    s.kh_ok(&["init"]);
    let old_account = s.current_account();
    let old_key = s.keychain_secret(&old_account);
    let before = sha256(&s.vault_file());
    let out = s.kh_ok(&["vault", "rekey"]);
    assert!(out.contains("Re-keyed"), "{out}");
    let new_account = s.current_account();
    assert_ne!(new_account, old_account);
    assert!(new_account.ends_with(":2"), "{new_account}");
    assert_eq!(
        s.keychain_accounts(),
        vec![new_account.clone()],
        "old item deleted"
    );
    assert_ne!(s.keychain_secret(&new_account), old_key);
    assert_ne!(before, sha256(&s.vault_file()), "every page re-encrypted");
    let st = s.status_json();
    assert_eq!(st["integrity"], "ok");
    assert_eq!(
        st["counts"]["audit_events"], 2,
        "vault.created + vault.rekeyed"
    );
    // A second rekey works too.
    s.kh_ok(&["vault", "rekey"]);
    assert!(s.current_account().ends_with(":3"));
    assert_eq!(s.keychain_accounts().len(), 1);
}

#[test]
fn two_vaults_in_one_keychain_do_not_collide() {
    let s = Session::with_keyring();
    s.kh_ok(&["init"]);
    let other_home = s.tmp.path().join("other");
    let out = s
        .command(crate::support::keyhaven_bin())
        .env("KEYHAVEN_HOME", &other_home)
        .arg("init")
        .run_bounded();
    assert!(out.status.success(), "{out:?}");
    assert_eq!(s.keychain_accounts().len(), 2);
    s.kh_ok(&["vault", "status"]);
}

#[test]
fn trace_logging_never_prints_the_vault_key() {
    // SEC-22: with every crate logging at trace level (ours, zbus, the keyring store), neither
    // the old nor the new key appears in the output of init, status or rekey.
    let s = Session::with_keyring();
    let run = |args: &[&str]| {
        let out = s
            .command(crate::support::keyhaven_bin())
            .env("KEYHAVEN_LOG", "trace")
            .args(args)
            .run_bounded();
        assert!(out.status.success(), "{out:?}");
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr)
    };
    let mut logs = run(&["init"]);
    let first = s.keychain_secret(&s.current_account());
    logs += &run(&["vault", "status"]);
    logs += &run(&["vault", "rekey"]);
    let second = s.keychain_secret(&s.current_account());
    assert!(
        logs.len() > 1000,
        "trace logging is on: {} bytes",
        logs.len()
    );
    for key in [&first, &second] {
        assert!(!logs.contains(key.as_str()), "key hex in logs");
        assert!(!logs.contains(&key.to_uppercase()), "key hex in logs");
        let raw = hex::decode(key).unwrap();
        assert!(!logs.as_bytes().windows(32).any(|w| w == raw.as_slice()));
        // Also not as a Rust byte-array debug print of its first bytes.
        let debug = format!("{:?}", &raw[..6]);
        assert!(
            !logs.contains(&debug[1..debug.len() - 1]),
            "key bytes in logs"
        );
    }
}
