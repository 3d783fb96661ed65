//! Copy to the clipboard from Rust, cleared again after 30 s.
//!
//! The secret goes from core straight to the system clipboard: it never crosses IPC. To clear
//! only what we put there, the worker keeps a SHA-256 of the value (not the value) and empties
//! the clipboard 30 s later only if it still holds that text.

use std::time::Duration;

use keyhaven_core::secret::SecretBytes;
use sha2::{Digest, Sha256};
use tauri::AppHandle;
use tauri_plugin_clipboard_manager::ClipboardExt;

use crate::error::CommandError;

/// How long a copied secret stays on the clipboard.
pub const CLEAR_AFTER: Duration = Duration::from_secs(30);

/// Copies `secret` and schedules the clear.
pub fn copy_and_clear_later(app: &AppHandle, secret: SecretBytes) -> Result<(), CommandError> {
    let text =
        zeroize::Zeroizing::new(String::from_utf8_lossy(secret.expose_secret()).into_owned());
    let digest = Sha256::digest(text.as_bytes());
    app.clipboard()
        .write_text(text.as_str())
        .map_err(|e| CommandError {
            code: "clipboard",
            message: format!("could not copy to the clipboard: {e}"),
        })?;
    let app = app.clone();
    std::thread::spawn(move || {
        std::thread::sleep(CLEAR_AFTER);
        let still_ours = app
            .clipboard()
            .read_text()
            .map(|now| Sha256::digest(now.as_bytes()) == digest)
            .unwrap_or(false);
        if still_ours {
            let _ = app.clipboard().clear();
        }
    });
    Ok(())
}
