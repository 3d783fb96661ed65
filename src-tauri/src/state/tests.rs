//! Tests of [`AppState`](super::AppState) over a real vault in a temporary directory.
//!
//! Only passphrase vaults are exercised here: they need no Secret Service, so these tests run
//! anywhere. The keychain path (`init`, opening a keychain vault) is covered end to end by
//! `scripts/desktop-smoke.sh`, which runs the app against a real gnome-keyring.

use keyhaven_core::secret::Passphrase;
use keyhaven_core::{
    Actor, DataDir, KeyChoice, PassphrasePurpose, PassphraseSource, Result, Vault,
};

use super::{AppState, VaultView};
use crate::CommandError;

struct Fixed(&'static str);

impl PassphraseSource for Fixed {
    fn passphrase(&mut self, _: PassphrasePurpose) -> Result<Option<Passphrase>> {
        Passphrase::new(self.0.to_owned()).map(Some)
    }
}

fn passphrase_vault(tmp: &tempfile::TempDir) -> DataDir {
    let dir = DataDir::new(tmp.path().join("home"));
    drop(
        Vault::init(
            &dir,
            KeyChoice::Passphrase,
            &mut Fixed("correct horse"),
            Actor::Cli,
        )
        .unwrap(),
    );
    dir
}

#[test]
fn missing_vault_reports_where_it_would_be_created() {
    let tmp = tempfile::tempdir().unwrap();
    let state = AppState::new(Some(DataDir::new(tmp.path())));
    match state.view().unwrap() {
        VaultView::Missing { data_dir } => assert_eq!(data_dir, tmp.path()),
        other => panic!("expected missing, got {other:?}"),
    }
}

#[test]
fn no_data_dir_is_an_error_with_a_code() {
    let err = CommandError::from(AppState::new(None).view().unwrap_err());
    assert_eq!(err.code, "no_data_dir");
}

#[test]
fn passphrase_vault_is_locked_until_unlocked_with_the_right_passphrase() {
    let tmp = tempfile::tempdir().unwrap();
    let state = AppState::new(Some(passphrase_vault(&tmp)));

    assert!(matches!(
        state.view().unwrap(),
        VaultView::LockedPassphrase { .. }
    ));

    let wrong = Passphrase::new("hunter2-not-it".into()).unwrap();
    let err = CommandError::from(state.unlock(wrong).unwrap_err());
    assert_eq!(err.code, "wrong_passphrase");
    assert!(
        !err.message.contains("hunter2"),
        "the passphrase is never echoed back"
    );

    let right = Passphrase::new("correct horse".into()).unwrap();
    let VaultView::Open { status } = state.unlock(right).unwrap() else {
        panic!("expected open");
    };
    assert_eq!(status.integrity, "ok");
    // Stays open for later calls without asking again.
    assert!(matches!(state.view().unwrap(), VaultView::Open { .. }));
}

#[test]
fn views_serialize_with_a_state_tag_as_the_ui_expects() {
    let tmp = tempfile::tempdir().unwrap();
    let missing = AppState::new(Some(DataDir::new(tmp.path())))
        .view()
        .unwrap();
    let json = serde_json::to_value(&missing).unwrap();
    assert_eq!(json["state"], "missing");
    assert!(json["data_dir"].is_string());

    let locked = AppState::new(Some(passphrase_vault(&tmp))).view().unwrap();
    assert_eq!(
        serde_json::to_value(&locked).unwrap()["state"],
        "locked_passphrase"
    );
}
