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

    use super::*;

    /// The UI's list of codes (`ERROR_CODES` in ui/src/lib/vault/types.ts).
    const TS_TYPES: &str = include_str!("../../ui/src/lib/vault/types.ts");

    #[test]
    fn every_core_error_code_is_known_to_the_ui() {
        for code in keyhaven_core::Error::all_codes() {
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
