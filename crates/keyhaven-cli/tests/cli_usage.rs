//! The command-line contract: help everywhere, usage errors exit 2, list on an empty vault.

use crate::support::{Session, assert_fails};

#[test]
fn help_is_available_for_every_command() {
    let s = Session::bare();
    for args in [
        vec!["--help"],
        vec!["init", "--help"],
        vec!["vault", "--help"],
        vec!["vault", "status", "--help"],
        vec!["vault", "rekey", "--help"],
        vec!["list", "--help"],
        vec!["help", "vault"],
    ] {
        let out = s.kh(&args);
        assert_eq!(out.status.code(), Some(0), "{args:?}");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains("Usage:"), "{args:?}: {text}");
    }
    assert!(String::from_utf8_lossy(&s.kh(&["--version"]).stdout).starts_with("keyhaven "));
}

#[test]
fn usage_errors_exit_2() {
    let s = Session::bare();
    for args in [
        vec!["frobnicate"],
        vec!["list", "--bogus"],
        vec!["vault"],
        vec![],
    ] {
        let out = s.kh(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {out:?}");
        assert!(!String::from_utf8_lossy(&out.stderr).contains("panicked"));
    }
}

#[test]
fn commands_before_init_say_to_run_init() {
    let s = Session::with_keyring();
    for args in [
        vec!["list"],
        vec!["vault", "status"],
        vec!["vault", "rekey"],
    ] {
        assert_fails(&s.kh(&args), 1, "run `keyhaven init` first");
    }
    assert!(!s.vault_file().exists(), "nothing created");
}

#[test]
fn list_on_a_new_vault_is_empty() {
    let s = Session::with_keyring();
    s.kh_ok(&["init"]);
    assert_eq!(s.kh_ok(&["list", "--json"]).trim(), "[]");
    assert!(s.kh_ok(&["list"]).contains("No connections yet"));
}
