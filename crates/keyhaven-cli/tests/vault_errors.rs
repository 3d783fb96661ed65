//! Every way opening a vault can fail (SEC-16, SEC-18, SEC-19): a one-line
//! message, exit code 1 or 2, never a panic, and the vault's files byte-for-byte unchanged, with
//! no new keychain item created.

use std::fs;
use std::path::Path;
use std::process::Command;

use crate::support::Bounded;
use crate::support::{Session, assert_fails, dir_digest, is_root, keyhaven_bin, set_mode};

/// A keyring session with an initialized vault, and the digest of its files.
fn initialized() -> (Session, Vec<(String, Vec<u8>)>) {
    let s = Session::with_keyring();
    s.kh_ok(&["init"]);
    let digest = dir_digest(&s.home());
    (s, digest)
}

#[test]
fn no_secret_service_on_the_bus() {
    // init: says how to fix it and mentions --passphrase; creates nothing.
    let bare = Session::bare();
    let err = assert_fails(&bare.kh(&["init"]), 1, "no OS keychain is available");
    assert!(err.contains("--passphrase"), "{err}");
    assert!(!bare.vault_file().exists());
    assert!(!bare.meta_file().exists());

    // An existing vault opened from a session without a Secret Service.
    let (s, before) = initialized();
    let out = bare
        .command(keyhaven_bin())
        .env("KEYHAVEN_HOME", s.home())
        .args(["vault", "status"])
        .run_bounded();
    assert_fails(&out, 1, "no OS keychain is available");
    assert_eq!(before, dir_digest(&s.home()));
}

#[test]
fn no_session_bus_at_all() {
    let (s, before) = initialized();
    let out = s
        .command(keyhaven_bin())
        .env("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/bus")
        .args(["list"])
        .run_bounded();
    let err = assert_fails(&out, 1, "no OS keychain is available");
    assert!(err.contains("--passphrase"));
    let out = s
        .command(keyhaven_bin())
        .env_remove("DBUS_SESSION_BUS_ADDRESS")
        .env("XDG_RUNTIME_DIR", "/nonexistent")
        .args(["vault", "status"])
        .run_bounded();
    assert_fails(&out, 1, "no OS keychain is available");
    assert_eq!(before, dir_digest(&s.home()));
}

#[test]
fn keychain_locked() {
    let (s, before) = initialized();
    s.lock_keyring();
    assert_fails(&s.kh(&["vault", "status"]), 1, "keychain is locked");
    assert_fails(&s.kh(&["vault", "rekey"]), 1, "keychain is locked");
    assert_eq!(before, dir_digest(&s.home()));
}

#[test]
fn key_item_missing_while_the_vault_exists() {
    let (s, before) = initialized();
    let account = s.current_account();
    s.keychain_clear(&account);
    let err = assert_fails(
        &s.kh(&["vault", "status"]),
        1,
        "key is missing from the OS keychain",
    );
    assert!(err.contains(&account), "names the item: {err}");
    // init must not "repair" it by creating a new vault or key.
    assert_fails(&s.kh(&["init"]), 2, "already exists");
    assert!(s.keychain_accounts().is_empty(), "no new item created");
    assert_eq!(before, dir_digest(&s.home()));
}

#[test]
fn wrong_key_in_the_keychain() {
    let (s, before) = initialized();
    s.keychain_overwrite(&s.current_account(), &"5a".repeat(32));
    assert_fails(&s.kh(&["list"]), 1, "wrong key");
    // An item that is not a key at all.
    s.keychain_overwrite(&s.current_account(), "CANARY-not-a-key");
    let err = assert_fails(&s.kh(&["list"]), 1, "does not hold a Keyhaven key");
    assert!(!err.contains("CANARY"));
    assert_eq!(before, dir_digest(&s.home()));
}

#[test]
fn file_is_not_a_vault() {
    let (s, _) = initialized();
    // A plaintext SQLite database.
    fs::remove_file(s.vault_file()).unwrap();
    {
        let c = rusqlite::Connection::open(s.vault_file()).unwrap();
        c.execute_batch("CREATE TABLE t (x); INSERT INTO t VALUES (1);")
            .unwrap();
    }
    let before = dir_digest(&s.home());
    assert_fails(
        &s.kh(&["vault", "status"]),
        1,
        "unencrypted SQLite database",
    );
    assert_eq!(before, dir_digest(&s.home()));
    // An empty file.
    fs::write(s.vault_file(), b"").unwrap();
    assert_fails(&s.kh(&["vault", "status"]), 1, "is not a Keyhaven vault");
    // Random bytes the size of two pages.
    fs::write(s.vault_file(), vec![0x42u8; 8192]).unwrap();
    let before = dir_digest(&s.home());
    assert_fails(&s.kh(&["vault", "status"]), 1, "damaged");
    assert_eq!(before, dir_digest(&s.home()));
    // A vault file without its metadata.
    fs::remove_file(s.meta_file()).unwrap();
    assert_fails(
        &s.kh(&["vault", "status"]),
        1,
        "metadata file vault.meta.json is missing",
    );
    assert_fails(&s.kh(&["init"]), 2, "already exists");
}

#[test]
fn corrupt_vault_flipped_byte_and_truncation() {
    let (s, _) = initialized();
    let original = fs::read(s.vault_file()).unwrap();
    let mut flipped = original.clone();
    flipped[200] ^= 0x04;
    fs::write(s.vault_file(), &flipped).unwrap();
    let before = dir_digest(&s.home());
    assert_fails(&s.kh(&["vault", "status"]), 1, "damaged");
    assert_eq!(before, dir_digest(&s.home()));

    fs::write(s.vault_file(), &original[..original.len() - 1000]).unwrap();
    let before = dir_digest(&s.home());
    assert_fails(&s.kh(&["vault", "status"]), 1, "truncated");
    assert_eq!(before, dir_digest(&s.home()));

    // Restoring the original bytes makes it open again: nothing else was touched.
    fs::write(s.vault_file(), &original).unwrap();
    s.kh_ok(&["vault", "status"]);
}

#[test]
fn schema_newer_than_the_program() {
    let (s, _) = initialized();
    let key = s.keychain_secret(&s.current_account());
    {
        let c = rusqlite::Connection::open(s.vault_file()).unwrap();
        c.execute_batch(&format!(
            "PRAGMA key = \"x'{key}'\"; PRAGMA user_version = 99;"
        ))
        .unwrap();
    }
    let before = dir_digest(&s.home());
    let err = assert_fails(&s.kh(&["vault", "status"]), 1, "schema version 99");
    assert!(err.contains("upgrade Keyhaven"), "{err}");
    assert_eq!(before, dir_digest(&s.home()));
}

/// Runs keyhaven as an unprivileged user when we are root (root ignores permission bits).
fn run_unprivileged(s: &Session, home: &Path, args: &[&str]) -> std::process::Output {
    if !is_root() {
        return s
            .command(keyhaven_bin())
            .env("KEYHAVEN_HOME", home)
            .args(args)
            .run_bounded();
    }
    // nobody must be able to reach and execute a copy of the binaries.
    let bin = s.bins_for_nobody();
    let mut c: Command = s.command("setpriv");
    c.env("KEYHAVEN_HOME", home)
        .args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
        .arg(&bin)
        .args(args);
    c.run_bounded()
}

#[test]
fn data_dir_not_writable() {
    let s = Session::with_keyring();
    // init into a directory the user cannot write.
    let ro = s.tmp.path().join("ro");
    fs::create_dir_all(&ro).unwrap();
    set_mode(&ro, if is_root() { 0o755 } else { 0o555 });
    let target = ro.join("keyhaven");
    assert_fails(
        &run_unprivileged(&s, &target, &["init"]),
        1,
        "is not writable",
    );
    assert!(!target.exists());
    assert!(
        s.keychain_accounts().is_empty(),
        "no key stored for a vault never created"
    );

    // An existing vault whose directory became read-only.
    s.kh_ok(&["init"]);
    let before = dir_digest(&s.home());
    set_mode(&s.home(), if is_root() { 0o755 } else { 0o555 });
    for f in [s.vault_file(), s.meta_file()] {
        set_mode(&f, 0o644);
    }
    assert_fails(
        &run_unprivileged(&s, &s.home(), &["vault", "status"]),
        1,
        "is not writable",
    );
    set_mode(&s.home(), 0o700);
    assert_eq!(before, dir_digest(&s.home()));
}
