//! Fixtures the shell's unit tests share.

use keyhaven_core::connections::{ConnectionStatus, ConnectionSummary};
use keyhaven_core::secret::Passphrase;
use keyhaven_core::{
    Actor, DataDir, KeyChoice, PassphrasePurpose, PassphraseSource, Result, Vault,
};

use crate::state::AppState;

/// The passphrase of the fixtures' vaults.
pub const PASSPHRASE: &str = "correct horse";

/// A passphrase source that always answers `self.0`.
pub struct Fixed(pub &'static str);

impl PassphraseSource for Fixed {
    fn passphrase(&mut self, _: PassphrasePurpose) -> Result<Option<Passphrase>> {
        Passphrase::new(self.0.to_owned()).map(Some)
    }
}

/// A new passphrase vault ([`PASSPHRASE`]) under `tmp`, and the app's state over it, locked.
pub fn locked_state(tmp: &tempfile::TempDir) -> AppState {
    let dir = DataDir::new(tmp.path().join("home"));
    drop(
        Vault::init(
            &dir,
            KeyChoice::Passphrase,
            &mut Fixed(PASSPHRASE),
            Actor::Cli,
        )
        .unwrap(),
    );
    AppState::new(Some(dir))
}

/// The same, unlocked as `vault_unlock` does it.
pub fn unlocked_state(tmp: &tempfile::TempDir) -> AppState {
    let state = locked_state(tmp);
    state
        .unlock(Passphrase::new(PASSPHRASE.into()).unwrap())
        .unwrap();
    state
}

/// A connected summary of `provider:account`, id `c_0123456789abcdef`, nothing else set.
pub fn summary(provider: &str, account: &str) -> ConnectionSummary {
    ConnectionSummary {
        id: "c_0123456789abcdef".to_string().try_into().unwrap(),
        provider: provider.into(),
        account: account.into(),
        instance: String::new(),
        label: None,
        default: false,
        status: ConnectionStatus::Connected,
        renewable: false,
        expires_at: None,
        scopes: vec![],
    }
}
