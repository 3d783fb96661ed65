//! The OS keychain, through the `keyring` crate.
//!
//! `keyring` (v4, feature `v1`) picks the platform store explicitly: the Secret Service over
//! D-Bus on Linux and the BSDs, Keychain Services on macOS, Credential Manager on Windows. It
//! never falls back to an in-memory mock; when the platform store cannot be reached it reports
//! `NoDefaultStore`, which we turn into [`Error::KeychainUnavailable`]. The Secret Service store
//! serializes its calls behind one connection (SEC-20).
//!
//! The distinction that matters (SEC-19): only [`Lookup::Missing`] ("no such item") may ever lead
//! to creating a key, and only when no vault exists. Locked, unavailable and any other failure
//! are errors that stop the caller with the vault untouched.
//!
//! Error details from the platform are passed through [`detail`], which never formats the
//! `BadEncoding`/`BadDataFormat` payloads (those carry the stored secret bytes).

use keyring_core::Error as KeyringError;
use zeroize::Zeroizing;

use crate::error::{Error, Result};
use crate::secret::VaultKey;

/// Keychain service name of every Keyhaven item.
pub(crate) const SERVICE: &str = "dev.keyhaven";

/// One keychain item: (service, account).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct KeychainItem {
    pub service: String,
    pub account: String,
}

/// What a lookup found.
pub(crate) enum Lookup {
    /// The item holds a well-formed key.
    Found(VaultKey),
    /// There is no such item.
    Missing,
}

impl KeychainItem {
    /// The item for generation `generation` of vault `vault_id`.
    pub(crate) fn for_vault(vault_id: &str, generation: u32) -> Self {
        KeychainItem {
            service: SERVICE.into(),
            account: format!("vault-key:{vault_id}:{generation}"),
        }
    }

    /// The generation number encoded in the account name (1 for anything unparsable).
    pub(crate) fn generation(&self) -> u32 {
        self.account
            .rsplit(':')
            .next()
            .and_then(|g| g.parse().ok())
            .unwrap_or(1)
    }

    /// A human-readable name for messages.
    pub(crate) fn describe(&self) -> String {
        format!("{} / {}", self.service, self.account)
    }

    fn entry(&self, label: Option<&str>) -> Result<keyring_core::Entry> {
        // Initializes the platform store once per process (keyring's `v1` default store).
        if let Err(e) = keyring::Entry::store_status() {
            return Err(map_error(e));
        }
        let entry = match label {
            Some(label) => {
                let mods = std::collections::HashMap::from([("label", label)]);
                keyring_core::Entry::new_with_modifiers(&self.service, &self.account, &mods)
            }
            None => keyring_core::Entry::new(&self.service, &self.account),
        };
        entry.map_err(|e| map_error(&e))
    }

    /// Reads the key. A malformed item is reported without its content.
    ///
    /// Through the `keyring` store, whose Secret Service session is Diffie-Hellman. A plain
    /// session is 6 ms faster per read, and was tried: gnome-keyring 42.1 then aborted (a glib
    /// `g_error`, `trap int3` in the kernel log) three times in a day of tests and benchmarks,
    /// and never with DH sessions. A keyring daemon that dies takes every application's secrets
    /// with it, so the hot path that needs speed is the agent's, which reads the key once
    /// (docs/agent.md, "The direct path").
    pub(crate) fn get(&self) -> Result<Lookup> {
        let entry = self.entry(None)?;
        match entry.get_password() {
            Ok(text) => {
                let text = Zeroizing::new(text);
                match VaultKey::from_hex(&text) {
                    Some(key) => Ok(Lookup::Found(key)),
                    None => Err(Error::Keychain {
                        detail: format!(
                            "keychain item {} does not hold a Keyhaven key",
                            self.describe()
                        ),
                    }),
                }
            }
            Err(KeyringError::NoEntry) => Ok(Lookup::Missing),
            Err(e) => Err(map_error(&e)),
        }
    }

    /// Stores the key, replacing any item with the same name.
    pub(crate) fn set(&self, key: &VaultKey, label: &str) -> Result<()> {
        let entry = self.entry(Some(label))?;
        let hex = key.to_hex();
        entry.set_password(&hex).map_err(|e| map_error(&e))
    }

    /// Deletes the item; a missing item is not an error.
    pub(crate) fn delete(&self) -> Result<()> {
        let entry = self.entry(None)?;
        match entry.delete_credential() {
            Ok(()) | Err(KeyringError::NoEntry) => Ok(()),
            Err(e) => Err(map_error(&e)),
        }
    }
}

/// Maps a keyring error to ours, keeping only secret-free detail.
fn map_error(e: &KeyringError) -> Error {
    match e {
        KeyringError::NoDefaultStore => Error::KeychainUnavailable {
            detail: "no Secret Service / keychain could be reached".into(),
        },
        KeyringError::NoStorageAccess(inner) => {
            let text = inner.to_string();
            if looks_locked(&text) {
                Error::KeychainLocked
            } else {
                Error::KeychainUnavailable { detail: text }
            }
        }
        KeyringError::PlatformFailure(inner) => {
            let text = inner.to_string();
            if looks_unreachable(&text) {
                Error::KeychainUnavailable { detail: text }
            } else {
                Error::Keychain { detail: text }
            }
        }
        other => Error::Keychain {
            detail: detail(other),
        },
    }
}

/// A secret-free description of a keyring error.
fn detail(e: &KeyringError) -> String {
    match e {
        KeyringError::BadEncoding(_) => "the stored item is not text".into(),
        KeyringError::BadDataFormat(_, _) => "the stored item has an unexpected format".into(),
        KeyringError::BadStoreFormat(s) => format!("bad store format: {s}"),
        KeyringError::TooLong(attr, limit) => format!("{attr} longer than {limit}"),
        KeyringError::Invalid(attr, why) => format!("invalid {attr}: {why}"),
        KeyringError::Ambiguous(v) => format!("{} matching keychain items", v.len()),
        KeyringError::NotSupportedByStore(s) => format!("not supported: {s}"),
        KeyringError::NoEntry => "no such item".into(),
        KeyringError::NoDefaultStore => "no keychain".into(),
        KeyringError::PlatformFailure(e) | KeyringError::NoStorageAccess(e) => e.to_string(),
        _ => "unknown keychain error".into(),
    }
}

fn looks_locked(text: &str) -> bool {
    let t = text.to_ascii_lowercase();
    t.contains("locked") || t.contains("prompt") || t.contains("dismissed")
}

fn looks_unreachable(text: &str) -> bool {
    let t = text.to_ascii_lowercase();
    t.contains("serviceunknown")
        || t.contains("service unknown")
        || t.contains("was not provided by any .service")
        || t.contains("no such file")
        || t.contains("connection refused")
        || t.contains("address")
        || t.contains("dbus")
        || t.contains("d-bus")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn item_names_carry_vault_and_generation() {
        let item = KeychainItem::for_vault("abc", 7);
        assert_eq!(item.service, "dev.keyhaven");
        assert_eq!(item.account, "vault-key:abc:7");
        assert_eq!(item.generation(), 7);
    }

    #[test]
    fn bad_encoding_detail_never_shows_the_payload() {
        let e = KeyringError::BadEncoding(b"CANARY-secret-bytes".to_vec());
        let mapped = map_error(&e);
        assert!(!mapped.to_string().contains("CANARY"), "{mapped}");
        assert!(!format!("{mapped:?}").contains("CANARY"));
    }
}
