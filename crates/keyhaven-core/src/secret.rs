//! Secret types: the only way secrets travel inside keyhaven-core.
//!
//! Each type wraps a `secrecy`/`zeroize` container, so its memory is wiped on drop. None is
//! `Clone`, `Display` or `Serialize`; `Debug` prints `Name([redacted])`. Reading the secret takes
//! a loudly named accessor (`expose_secret`), so every place that does is easy to find in review.

use std::fmt;

use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretBox, SecretString};
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::error::{Error, Result};

/// Length of a vault key in bytes (SQLCipher's raw AES-256 key).
pub const VAULT_KEY_LEN: usize = 32;

/// The 32-byte key that opens a vault, from the OS keychain or derived from a passphrase.
pub struct VaultKey(SecretBox<[u8; VAULT_KEY_LEN]>);

impl VaultKey {
    /// A fresh key from the operating system's CSPRNG.
    pub fn generate() -> Result<Self> {
        let mut bytes = Box::new([0u8; VAULT_KEY_LEN]);
        getrandom::fill(bytes.as_mut()).map_err(|_| Error::Random)?;
        Ok(VaultKey(SecretBox::new(bytes)))
    }

    /// Wraps key bytes (e.g. an Argon2id output). The caller's buffer should be zeroized.
    pub(crate) fn from_bytes(bytes: &[u8; VAULT_KEY_LEN]) -> Self {
        VaultKey(SecretBox::new(Box::new(*bytes)))
    }

    /// Parses the hex form kept in the keychain. Fails without echoing the input.
    pub(crate) fn from_hex(text: &str) -> Option<Self> {
        let mut bytes = Zeroizing::new([0u8; VAULT_KEY_LEN]);
        hex::decode_to_slice(text.trim(), bytes.as_mut()).ok()?;
        Some(Self::from_bytes(&bytes))
    }

    /// Locks the key's page in RAM (`mlock`) so it never reaches swap. Best effort: a
    /// `RLIMIT_MEMLOCK` of zero makes it a no-op, logged.
    pub(crate) fn lock_in_memory(&self) {
        #[cfg(unix)]
        {
            let bytes = self.0.expose_secret();
            // SAFETY: the pointer and length describe the key's own heap allocation, which
            // lives as long as `self`; mlock only changes the pages' paging policy.
            let rc = unsafe { libc::mlock(bytes.as_ptr().cast(), bytes.len()) };
            if rc != 0 {
                tracing::debug!("could not mlock the vault key");
            }
        }
    }

    /// The hex form stored in the keychain.
    pub(crate) fn to_hex(&self) -> Zeroizing<String> {
        Zeroizing::new(hex::encode(self.0.expose_secret()))
    }

    /// The SQL statement that applies this key as a raw SQLCipher key (`x'…'`: no KDF runs).
    pub(crate) fn pragma_key_statement(&self, pragma: &str) -> Zeroizing<String> {
        let hex = self.to_hex();
        Zeroizing::new(format!("PRAGMA {pragma} = \"x'{}'\";", hex.as_str()))
    }

    /// A key check value: HMAC-SHA256 of a fixed label and the vault id under this key.
    ///
    /// It lets Keyhaven tell "wrong key" from "damaged file" before SQLCipher runs, and reveals
    /// nothing about the key (an attacker holding it could as well test keys against the file).
    pub(crate) fn check_value(&self, vault_id: &str) -> String {
        hex::encode(self.check_mac(vault_id).finalize().into_bytes())
    }

    /// Compares a stored check value in constant time.
    pub(crate) fn matches_check_value(&self, vault_id: &str, stored_hex: &str) -> bool {
        match hex::decode(stored_hex) {
            Ok(expected) => self.check_mac(vault_id).verify_slice(&expected).is_ok(),
            Err(_) => false,
        }
    }

    fn check_mac(&self, vault_id: &str) -> Hmac<Sha256> {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(self.0.expose_secret())
            .expect("HMAC accepts any key length");
        mac.update(b"keyhaven vault key check v1\0");
        mac.update(vault_id.as_bytes());
        mac
    }
}

impl fmt::Debug for VaultKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("VaultKey([redacted])")
    }
}

/// A passphrase typed by the person (or read from a file they named).
pub struct Passphrase(SecretString);

impl Passphrase {
    /// Wraps a passphrase, refusing an empty one. A single trailing newline (from a file or a
    /// pipe) is not part of it.
    pub fn new(mut text: String) -> Result<Self> {
        if text.ends_with('\n') {
            text.pop();
            if text.ends_with('\r') {
                text.pop();
            }
        }
        if text.is_empty() {
            // Zeroize what we were handed even on the error path.
            drop(Zeroizing::new(text));
            return Err(Error::BadPassphrase {
                reason: "it is empty".into(),
            });
        }
        Ok(Passphrase(SecretString::from(text)))
    }

    /// The passphrase itself. Only the key derivation calls this.
    pub fn expose_secret(&self) -> &str {
        self.0.expose_secret()
    }
}

/// Shortest new passphrase accepted (a new passphrase vault, a rekey, a backup), in characters.
/// Core enforces it, so every front end applies the same rule (SEC-43).
pub const MIN_NEW_PASSPHRASE_CHARS: usize = 8;

impl Passphrase {
    /// Refuses a passphrase too short to protect something new (a vault, a rekey, a backup).
    pub fn check_new(&self) -> Result<()> {
        if self.expose_secret().chars().count() < MIN_NEW_PASSPHRASE_CHARS {
            return Err(Error::BadPassphrase {
                reason: format!(
                    "a new passphrase needs at least {MIN_NEW_PASSPHRASE_CHARS} characters"
                ),
            });
        }
        Ok(())
    }

    /// A copy as `secrecy`'s own type, for crates that take one (age).
    pub(crate) fn to_secret_string(&self) -> SecretString {
        SecretString::from(self.expose_secret().to_string())
    }
}

impl fmt::Debug for Passphrase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Passphrase([redacted])")
    }
}

/// The `state` of an authorization flow (SEC-2): 256 random bits, secret until its callback,
/// redeemable once. Not `Clone`: there is one, in the pending flow; everything else (the waiting
/// process, the desktop's flow id, the result row) uses its [`FlowState::digest`].
pub struct FlowState(Zeroizing<String>);

impl FlowState {
    /// A fresh random state.
    pub(crate) fn random() -> FlowState {
        FlowState(Zeroizing::new(
            oauth2::CsrfToken::new_random_len(32).secret().clone(),
        ))
    }

    /// A state read back from the vault, or from a callback.
    pub(crate) fn from_stored(text: String) -> FlowState {
        FlowState(Zeroizing::new(text))
    }

    /// The state itself: for the authorization request and the vault's lookup only.
    pub(crate) fn expose(&self) -> &str {
        &self.0
    }

    /// SHA-256 of the state, hex: how the flow is named anywhere else.
    pub fn digest(&self) -> String {
        use sha2::Digest;
        hex::encode(sha2::Sha256::digest(self.0.as_bytes()))
    }
}

impl fmt::Debug for FlowState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("FlowState([redacted])")
    }
}

/// A PKCE code verifier (RFC 7636, SEC-1, SEC-25). Not `Clone`; it leaves Keyhaven once, in the
/// code exchange, which consumes it.
pub struct PkceVerifier(Zeroizing<String>);

impl PkceVerifier {
    /// Wraps a verifier (made by `oauth2`, or read back from the pending flow).
    pub(crate) fn new(text: String) -> PkceVerifier {
        PkceVerifier(Zeroizing::new(text))
    }

    /// The bytes to store with the pending flow.
    pub(crate) fn stored_bytes(&self) -> &[u8] {
        self.0.as_bytes()
    }

    /// The verifier for the token request's form, giving it up.
    pub(crate) fn into_form_value(self) -> Zeroizing<String> {
        self.0
    }
}

impl fmt::Debug for PkceVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PkceVerifier([redacted])")
    }
}

/// A secret byte string stored in the vault: a token, a client secret, an API key field.
pub struct SecretBytes(SecretBox<[u8]>);

impl SecretBytes {
    /// Wraps secret bytes.
    pub fn new(bytes: Vec<u8>) -> Self {
        SecretBytes(SecretBox::new(bytes.into_boxed_slice()))
    }

    /// The secret itself: call only to hand it to its one legitimate consumer.
    pub fn expose_secret(&self) -> &[u8] {
        self.0.expose_secret()
    }
}

impl From<String> for SecretBytes {
    fn from(text: String) -> Self {
        SecretBytes::new(text.into_bytes())
    }
}

impl fmt::Debug for SecretBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretBytes([redacted])")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CANARY: &str = "CANARY-7f3a9c1e-secret";

    #[test]
    fn flow_state_and_verifier_debug_are_redacted() {
        let s = FlowState::from_stored(CANARY.to_string());
        let v = PkceVerifier::new(CANARY.to_string());
        let printed = format!("{s:?} {v:?}");
        assert!(!printed.contains(CANARY), "{printed}");
        assert_eq!(s.digest().len(), 64);
    }

    #[test]
    fn vault_key_debug_is_redacted() {
        let key = VaultKey::from_hex(&"ab".repeat(32)).unwrap();
        let printed = format!("{key:?} {key:#?}");
        assert_eq!(format!("{key:?}"), "VaultKey([redacted])");
        assert!(!printed.contains("abab"), "{printed}");
    }

    #[test]
    fn passphrase_debug_is_redacted() {
        let p = Passphrase::new(CANARY.to_string()).unwrap();
        assert_eq!(format!("{p:?}"), "Passphrase([redacted])");
        assert!(!format!("{p:#?}").contains(CANARY));
    }

    #[test]
    fn secret_bytes_debug_is_redacted() {
        let s = SecretBytes::from(CANARY.to_string());
        assert_eq!(format!("{s:?}"), "SecretBytes([redacted])");
        assert!(!format!("{s:#?}").contains(CANARY));
    }

    #[test]
    fn passphrase_trailing_newline_is_trimmed_and_empty_refused() {
        assert_eq!(
            Passphrase::new("pw\n".into()).unwrap().expose_secret(),
            "pw"
        );
        assert_eq!(
            Passphrase::new("pw\r\n".into()).unwrap().expose_secret(),
            "pw"
        );
        let err = Passphrase::new("\n".into()).unwrap_err();
        assert!(matches!(err, Error::BadPassphrase { .. }));
    }

    #[test]
    fn generated_keys_differ_and_round_trip_through_hex() {
        let a = VaultKey::generate().unwrap();
        let b = VaultKey::generate().unwrap();
        assert_ne!(a.to_hex().as_str(), b.to_hex().as_str());
        let a2 = VaultKey::from_hex(a.to_hex().as_str()).unwrap();
        assert_eq!(a.to_hex().as_str(), a2.to_hex().as_str());
        assert!(VaultKey::from_hex("not hex").is_none());
        assert!(VaultKey::from_hex("abcd").is_none());
    }

    #[test]
    fn check_value_matches_only_its_key_and_vault() {
        let a = VaultKey::generate().unwrap();
        let b = VaultKey::generate().unwrap();
        let cv = a.check_value("vault-1");
        assert!(a.matches_check_value("vault-1", &cv));
        assert!(!b.matches_check_value("vault-1", &cv));
        assert!(!a.matches_check_value("vault-2", &cv));
        assert!(!a.matches_check_value("vault-1", "zz"));
    }

    #[test]
    fn pragma_statement_is_a_raw_key() {
        let key = VaultKey::from_hex(&"0f".repeat(32)).unwrap();
        let stmt = key.pragma_key_statement("key");
        assert_eq!(
            stmt.as_str(),
            format!("PRAGMA key = \"x'{}'\";", "0f".repeat(32))
        );
    }
}
