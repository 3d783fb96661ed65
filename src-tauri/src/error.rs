//! The one error type of the IPC surface: what every command returns on failure.
//!
//! It serializes as `{ "code": "...", "message": "..." }` so the UI can branch on a stable
//! machine code (`ui/src/lib/vault/types.ts` lists them) and show a message a person can act
//! on. Both come straight from `keyhaven_core::Error` (`code()` and its one-line, secret-free
//! `Display`), so the desktop app says exactly what the CLI says. Commands never return
//! `Result<_, String>`: a bare string would lose the code.

use serde::Serialize;

/// A command failure as the UI receives it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("{message} ({code})")]
pub struct CommandError {
    /// Stable machine code, e.g. `keychain_unavailable` (see `keyhaven_core::Error::code`).
    pub code: &'static str,
    /// One line for a person, free of secrets.
    pub message: String,
}

impl From<keyhaven_core::Error> for CommandError {
    fn from(e: keyhaven_core::Error) -> Self {
        CommandError {
            code: e.code(),
            message: e.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use keyhaven_core::Error;

    use super::*;

    /// The UI's list of codes (`ERROR_CODES` in ui/src/lib/vault/types.ts).
    const TS_TYPES: &str = include_str!("../../ui/src/lib/vault/types.ts");

    /// One of each core error, to read their codes. Extend when core gains a variant.
    fn one_of_each() -> Vec<Error> {
        let path = PathBuf::from("/v/vault.db");
        let io = || std::io::Error::other("x");
        vec![
            Error::KeychainUnavailable { detail: "x".into() },
            Error::KeychainLocked,
            Error::Keychain { detail: "x".into() },
            Error::KeyMissing {
                path: path.clone(),
                item: "x".into(),
            },
            Error::WrongKey { path: path.clone() },
            Error::WrongPassphrase { path: path.clone() },
            Error::PassphraseRequired { path: path.clone() },
            Error::BadPassphrase { reason: "x".into() },
            Error::NotAVault {
                path: path.clone(),
                reason: "x".into(),
            },
            Error::Corrupt {
                path: path.clone(),
                reason: "x".into(),
            },
            Error::SchemaTooNew {
                path: path.clone(),
                found: 2,
                supported: 1,
            },
            Error::DataDirNotWritable {
                path: path.clone(),
                source: io(),
            },
            Error::NoDataDir,
            Error::AlreadyInitialized { path: path.clone() },
            Error::NotInitialized { path: path.clone() },
            Error::BadMetadata {
                path: path.clone(),
                reason: "x".into(),
            },
            Error::Io {
                context: "x".into(),
                source: io(),
            },
            Error::Database(rusqlite::Error::InvalidQuery),
            Error::RekeyFailed { reason: "x".into() },
            Error::Random,
            Error::Catalog { reason: "x".into() },
            Error::UnknownProvider { id: "x".into() },
            Error::BadVariable {
                name: "x".into(),
                reason: "x".into(),
            },
            Error::NotConfigured {
                provider: "x".into(),
                register_url: "x".into(),
                redirect_uri: "x".into(),
                secret_hint: String::new(),
            },
            Error::BadInput("x".into()),
            Error::BadRedirect { reason: "x".into() },
            Error::UnknownState,
            Error::FlowExpired,
            Error::AuthorizationDenied {
                provider: "x".into(),
                error: "x".into(),
                description: String::new(),
            },
            Error::IssuerMismatch { reason: "x".into() },
            Error::IdTokenInvalid { reason: "x".into() },
            Error::TokenEndpoint {
                provider: "x".into(),
                error: "x".into(),
                description: String::new(),
            },
            Error::Http {
                what: "x".into(),
                reason: "x".into(),
            },
            Error::FlowFailed {
                message: "x".into(),
            },
            Error::FlowTimeout,
            Error::NeedsReauth {
                connection: "x".into(),
                provider: "x".into(),
            },
            Error::Expired {
                connection: "x".into(),
                provider: "x".into(),
            },
        ]
    }

    #[test]
    fn every_core_error_code_is_known_to_the_ui() {
        for e in one_of_each() {
            let code = CommandError::from(e).code;
            assert!(
                TS_TYPES.contains(&format!("'{code}',")),
                "error code {code} is missing from ERROR_CODES in ui/src/lib/vault/types.ts"
            );
        }
    }

    #[test]
    fn serializes_as_code_and_message_from_core() {
        let e = CommandError::from(keyhaven_core::Error::KeychainLocked);
        let json = serde_json::to_value(&e).unwrap();
        assert_eq!(json["code"], "keychain_locked");
        assert_eq!(
            json["message"],
            keyhaven_core::Error::KeychainLocked.to_string()
        );
        assert_eq!(json.as_object().unwrap().len(), 2);
    }
}
