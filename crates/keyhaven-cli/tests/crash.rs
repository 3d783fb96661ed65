//! SEC-21: a rekey killed (SIGKILL, as a power cut) after any of its steps leaves a vault that
//! opens, and the next open converges to one clean state: one keychain item, no pending or
//! retired key in the metadata. Needs the test-only `fault-injection` feature, which makes the
//! binary kill itself at `KEYHAVEN_TEST_KILL_AT=rekey:STEP`.

mod support;

use std::os::unix::process::ExitStatusExt;

use keyhaven_core::vault::RekeyStep;
use support::{Bounded, Session, keyhaven_bin};

#[test]
fn rekey_killed_after_any_step_leaves_a_vault_that_opens() {
    for step in RekeyStep::ALL {
        let s = Session::with_keyring();
        s.kh_ok(&["init"]);
        let first_account = s.current_account();
        let out = s
            .command(keyhaven_bin())
            .env("KEYHAVEN_TEST_KILL_AT", format!("rekey:{}", step.name()))
            .args(["vault", "rekey"])
            .run_bounded();
        assert_eq!(
            out.status.signal(),
            Some(9),
            "{step:?}: killed by SIGKILL: {out:?}"
        );

        // The vault opens, with its content, whatever step we died after.
        let st = s.status_json();
        assert_eq!(st["integrity"], "ok", "{step:?}");
        assert!(st["counts"]["audit_events"].as_i64().unwrap() >= 1);

        // And the state converged: exactly one key item, the one the metadata names.
        let meta: serde_json::Value =
            serde_json::from_slice(&std::fs::read(s.meta_file()).unwrap()).unwrap();
        assert!(meta.get("pending_key").is_none(), "{step:?}: {meta}");
        assert!(meta.get("retired_key").is_none(), "{step:?}: {meta}");
        let accounts = s.keychain_accounts();
        assert_eq!(accounts, vec![s.current_account()], "{step:?}");
        let rekeyed = !matches!(step, RekeyStep::PendingRecorded | RekeyStep::NewKeyStored);
        assert_eq!(s.current_account() != first_account, rekeyed, "{step:?}");

        // A later rekey still works from there.
        s.kh_ok(&["vault", "rekey"]);
        s.kh_ok(&["vault", "status"]);
    }
}
