//! Passphrase mode: the vault key derived from a passphrase with Argon2id.
//!
//! For machines without a keychain (a headless server), chosen explicitly at
//! `keyhaven init --passphrase`, never as a fallback. The salt and cost parameters live in the
//! metadata file beside the vault; the derived 32 bytes are then used as a raw SQLCipher key, so
//! SQLCipher's own PBKDF2 does not run on top.
//!
//! Parameters: 64 MiB, 3 passes, 4 lanes (RFC 9106 §4, second recommended option). They are
//! stored with the vault, so a future default change never locks anyone out.

use argon2::{Algorithm, Argon2, Params, Version};
use zeroize::Zeroizing;

use super::meta::KeySpec;
use crate::error::{Error, Result};
use crate::secret::{Passphrase, VAULT_KEY_LEN, VaultKey};

/// Default Argon2id memory cost in KiB (64 MiB).
pub(crate) const M_COST: u32 = 64 * 1024;
/// Default Argon2id passes.
pub(crate) const T_COST: u32 = 3;
/// Default Argon2id lanes.
pub(crate) const P_COST: u32 = 4;
const SALT_LEN: usize = 16;

/// Derives a key for a new passphrase vault and describes how, for the metadata.
pub(crate) fn new_key(passphrase: &Passphrase, vault_id: &str) -> Result<(VaultKey, KeySpec)> {
    passphrase.check_new()?;
    let mut salt = [0u8; SALT_LEN];
    getrandom::fill(&mut salt).map_err(|_| Error::Random)?;
    let salt_hex = hex::encode(salt);
    let key = derive(passphrase, &salt, M_COST, T_COST, P_COST)?;
    let spec = KeySpec::Passphrase {
        kdf: "argon2id".into(),
        m_cost: M_COST,
        t_cost: T_COST,
        p_cost: P_COST,
        salt: salt_hex,
        check: key.check_value(vault_id),
    };
    Ok((key, spec))
}

/// Derives the key described by `spec` (which must be a passphrase spec).
pub(crate) fn key_for(passphrase: &Passphrase, spec: &KeySpec) -> Result<VaultKey> {
    let KeySpec::Passphrase {
        kdf,
        m_cost,
        t_cost,
        p_cost,
        salt,
        ..
    } = spec
    else {
        unreachable!("key_for is only called with a passphrase spec");
    };
    let bad = |reason: &str| Error::BadMetadata {
        path: "vault.meta.json".into(),
        reason: reason.into(),
    };
    if kdf != "argon2id" {
        return Err(bad("unknown key derivation function"));
    }
    let salt = hex::decode(salt).map_err(|_| bad("salt is not hex"))?;
    derive(passphrase, &salt, *m_cost, *t_cost, *p_cost)
}

fn derive(passphrase: &Passphrase, salt: &[u8], m: u32, t: u32, p: u32) -> Result<VaultKey> {
    let params = Params::new(m, t, p, Some(VAULT_KEY_LEN)).map_err(|e| Error::BadMetadata {
        path: "vault.meta.json".into(),
        reason: format!("unusable Argon2id parameters: {e}"),
    })?;
    let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
    let mut out = Zeroizing::new([0u8; VAULT_KEY_LEN]);
    argon
        .hash_password_into(passphrase.expose_secret().as_bytes(), salt, out.as_mut())
        .map_err(|e| Error::BadPassphrase {
            reason: e.to_string(),
        })?;
    Ok(VaultKey::from_bytes(&out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_passphrase_and_salt_give_the_same_key_and_others_do_not() {
        let pw = Passphrase::new("correct horse".into()).unwrap();
        let (key, spec) = new_key(&pw, "v1").unwrap();
        let again = key_for(&pw, &spec).unwrap();
        assert!(again.matches_check_value("v1", spec.check()));
        assert!(key.matches_check_value("v1", spec.check()));
        let wrong = key_for(&Passphrase::new("wrong horse".into()).unwrap(), &spec).unwrap();
        assert!(!wrong.matches_check_value("v1", spec.check()));
        // A second vault with the same passphrase gets another salt, hence another key.
        let (_, spec2) = new_key(&pw, "v1").unwrap();
        assert_ne!(spec, spec2);
    }
}
