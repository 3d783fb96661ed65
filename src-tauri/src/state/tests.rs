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

/// SEC-46: a valid deep link that arrives while a passphrase vault is locked is kept (bounded),
/// not lost, and handed back once for the unlock to finish it.
#[test]
fn links_that_arrive_while_locked_are_kept_until_the_unlock() {
    use crate::deeplink::{CallbackLink, MAX_DEFERRED_LINKS};
    use crate::state::LinkOutcome;

    let tmp = tempfile::tempdir().unwrap();
    let state = AppState::new(Some(passphrase_vault(&tmp)));
    let link = |s: &str| {
        CallbackLink::parse(format!(
            "dev.keyhaven:/oauth/callback/testas?code=c&state={s}"
        ))
        .unwrap()
    };
    for i in 0..MAX_DEFERRED_LINKS + 2 {
        assert!(matches!(
            state.complete_or_defer(link(&format!("st{i}"))),
            LinkOutcome::Deferred
        ));
    }
    assert!(
        !format!("{state:?}").contains("code=c"),
        "the kept links never show in Debug"
    );

    state
        .unlock(Passphrase::new("correct horse".into()).unwrap())
        .unwrap();
    let kept = state.take_deferred_links();
    assert_eq!(
        kept.len(),
        MAX_DEFERRED_LINKS,
        "the oldest two were dropped"
    );
    assert_eq!(
        kept[0].flow_id(),
        keyhaven_core::flows::pending::state_digest("st2")
    );
    assert!(state.take_deferred_links().is_empty(), "handed back once");

    // Open now: a link goes to core at once (here: no such flow in this vault).
    match state.complete_or_defer(link("unknown")) {
        LinkOutcome::Finished(Err(e)) => assert_eq!(CommandError::from(e).code, "unknown_state"),
        other => panic!("expected core's answer, got {other:?}"),
    }
}

/// SEC-44: events reach the UI through the channel it subscribed, a reload's channel replaces
/// the old one, and a closed channel is forgotten.
#[test]
fn events_go_to_the_subscribed_channel_of_each_webview() {
    use std::sync::{Arc, Mutex};
    use tauri::ipc::{Channel, InvokeResponseBody};

    use crate::events::UiEvent;

    let state = AppState::new(None);
    let got: Arc<Mutex<Vec<String>>> = Arc::default();
    let recorder = |tag: &'static str, ok: bool| {
        let got = got.clone();
        Channel::<UiEvent>::new(move |body| {
            if let InvokeResponseBody::Json(json) = body {
                got.lock().unwrap().push(format!("{tag}:{json}"));
            }
            if ok {
                Ok(())
            } else {
                Err(tauri::Error::WebviewNotFound)
            }
        })
    };
    state.subscribe("main", recorder("old", true));
    state.subscribe("main", recorder("new", true));
    state.subscribe("gone", recorder("gone", false));
    state.publish(&UiEvent::ConnectionsChanged);
    state.publish(&UiEvent::ConnectionsChanged);
    let got = got.lock().unwrap().clone();
    let count = |tag: &str| {
        got.iter()
            .filter(|g| g.starts_with(&format!("{tag}:")))
            .count()
    };
    assert_eq!(
        count("old"),
        0,
        "a reload's channel replaces the old one: {got:?}"
    );
    assert_eq!(count("new"), 2, "{got:?}");
    assert_eq!(
        count("gone"),
        1,
        "a failing channel is dropped after one try: {got:?}"
    );
    assert!(
        got.iter()
            .all(|g| g.ends_with(r#":{"event":"connections-changed"}"#))
    );
}
