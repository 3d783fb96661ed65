//! The one error type of the IPC surface: what every command returns on failure.
//!
//! It serializes as `{ "code": "...", "message": "..." }` so the UI can branch on a stable
//! machine code and show a message a person can act on. Both come straight from
//! `keyhaven_core::Error` (`code()` and its one-line, secret-free `Display`), so the desktop app
//! says exactly what the CLI says; the shell adds the few codes of [`CommandError::SHELL_CODES`].
//! The UI's list of codes (`ERROR_CODES`, `SHELL_ERROR_CODES` and the `CommandErrorCode` union
//! in `ui/src/lib/api/generated.ts`) is generated from these (`contract.rs`). Commands never
//! return `Result<_, String>`: a bare string would lose the code.

use serde::Serialize;

/// A command failure as the UI receives it.
#[cfg_attr(test, derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("{message} ({code})")]
pub struct CommandError {
    /// Stable machine code, e.g. `keychain_unavailable` (see `keyhaven_core::Error::code`).
    #[cfg_attr(test, ts(type = "CommandErrorCode"))]
    pub code: &'static str,
    /// One line for a person, free of secrets.
    pub message: String,
}

impl CommandError {
    /// The person declined a native confirmation or closed a file dialog (dialogs.rs).
    pub const CANCELLED: &'static str = "cancelled";
    /// The clipboard could not be written (clipboard.rs).
    pub const CLIPBOARD: &'static str = "clipboard";
    /// The command's worker stopped before answering (commands/mod.rs). The UI uses it too, for a
    /// call that never reached a command.
    pub const IPC: &'static str = "ipc";
    /// Every code this crate produces besides core's.
    pub const SHELL_CODES: &'static [&'static str] = &[Self::CANCELLED, Self::CLIPBOARD, Self::IPC];
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
