//! Copy to the clipboard from Rust, marked "do not record", cleared again after 30 s.
//!
//! The secret goes from core straight to the system clipboard: it never crosses IPC. To clear
//! only what we put there, the worker keeps a SHA-256 of the value (not the value) and empties
//! the clipboard 30 s later only if it still holds that text.
//!
//! Clipboard managers (KDE's Klipper, GNOME's and others') keep a history of everything copied,
//! long after our clear. The copy therefore carries the platform's "password, do not record" hint
//! (SEC-47), as KeePassXC does: on Linux the `x-kde-passwordManagerHint` target with the value
//! `secret`, on Windows the "exclude from history / cloud clipboard / monitoring" formats, on
//! macOS the concealed type. arboard 3.7 sets them (`exclude_from_history`, and
//! `exclude_from_monitoring` on Windows); tauri-plugin-clipboard-manager cannot, so the app uses
//! arboard directly. On X11 the copied data is served by a thread that lives as long as an
//! arboard `Clipboard` does, so the clear worker owns that object for the whole 30 s.

use std::time::Duration;

use keyhaven_core::secret::SecretBytes;
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::error::CommandError;

/// How long a copied secret stays on the clipboard.
pub const CLEAR_AFTER: Duration = Duration::from_secs(30);

/// What the copy needs from a clipboard; arboard's in the app, a fake in the tests.
pub trait Board: Send + 'static {
    /// Puts `text` on the clipboard with the "do not record" hint.
    fn set_secret_text(&mut self, text: &str) -> Result<(), String>;
    /// The clipboard's text now, if any.
    fn text(&mut self) -> Option<Zeroizing<String>>;
    /// Empties the clipboard.
    fn clear(&mut self);
}

/// The system clipboard, through arboard.
pub struct SystemBoard(arboard::Clipboard);

impl SystemBoard {
    /// Connects to the system clipboard (the X server or Wayland compositor).
    pub fn new() -> Result<Self, String> {
        arboard::Clipboard::new()
            .map(SystemBoard)
            .map_err(|e| e.to_string())
    }
}

impl Board for SystemBoard {
    fn set_secret_text(&mut self, text: &str) -> Result<(), String> {
        let set = self.0.set();
        #[cfg(any(
            target_os = "linux",
            target_os = "freebsd",
            target_os = "dragonfly",
            target_os = "openbsd",
            target_os = "netbsd"
        ))]
        let set = {
            use arboard::SetExtLinux;
            set.exclude_from_history()
        };
        #[cfg(windows)]
        let set = {
            use arboard::SetExtWindows;
            set.exclude_from_history().exclude_from_monitoring()
        };
        #[cfg(target_os = "macos")]
        let set = {
            use arboard::SetExtApple;
            set.exclude_from_history()
        };
        set.text(text).map_err(|e| e.to_string())
    }

    fn text(&mut self) -> Option<Zeroizing<String>> {
        self.0.get_text().ok().map(Zeroizing::new)
    }

    fn clear(&mut self) {
        let _ = self.0.clear();
    }
}

/// Copies `secret` to the system clipboard and schedules the clear.
pub fn copy_and_clear_later(secret: SecretBytes) -> Result<(), CommandError> {
    let board = SystemBoard::new().map_err(clipboard_error)?;
    copy_with(board, secret, CLEAR_AFTER)
}

/// Copies `secret` to `board`; a worker that owns `board` clears it after `after` if it still
/// holds that text.
pub fn copy_with(
    mut board: impl Board,
    secret: SecretBytes,
    after: Duration,
) -> Result<(), CommandError> {
    let text = Zeroizing::new(String::from_utf8_lossy(secret.expose_secret()).into_owned());
    drop(secret);
    let digest = Sha256::digest(text.as_bytes());
    board.set_secret_text(&text).map_err(clipboard_error)?;
    drop(text);
    std::thread::spawn(move || {
        std::thread::sleep(after);
        let still_ours = board
            .text()
            .is_some_and(|now| Sha256::digest(now.as_bytes()) == digest);
        if still_ours {
            board.clear();
        }
        // `board` is dropped here: on X11 that ends arboard's serving thread (when no other copy
        // still needs it).
    });
    Ok(())
}

fn clipboard_error(e: String) -> CommandError {
    CommandError {
        code: CommandError::CLIPBOARD,
        message: format!("could not copy to the clipboard: {e}"),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;

    /// A clipboard in memory: its text and whether the last set carried the hint.
    #[derive(Clone, Default)]
    struct Fake(Arc<Mutex<(Option<String>, bool)>>);

    impl Board for Fake {
        fn set_secret_text(&mut self, text: &str) -> Result<(), String> {
            *self.0.lock().unwrap() = (Some(text.to_string()), true);
            Ok(())
        }
        fn text(&mut self) -> Option<Zeroizing<String>> {
            self.0.lock().unwrap().0.clone().map(Zeroizing::new)
        }
        fn clear(&mut self) {
            *self.0.lock().unwrap() = (None, false);
        }
    }

    const SHORT: Duration = Duration::from_millis(50);

    fn wait() {
        std::thread::sleep(SHORT * 6);
    }

    #[test]
    fn a_copy_is_marked_do_not_record_and_cleared_later() {
        let fake = Fake::default();
        copy_with(fake.clone(), SecretBytes::from("tok".to_string()), SHORT).unwrap();
        assert_eq!(*fake.0.lock().unwrap(), (Some("tok".into()), true));
        wait();
        assert_eq!(fake.0.lock().unwrap().0, None);
    }

    #[test]
    fn what_the_person_copied_since_is_left_alone() {
        let fake = Fake::default();
        copy_with(fake.clone(), SecretBytes::from("tok".to_string()), SHORT).unwrap();
        fake.0.lock().unwrap().0 = Some("my own note".into());
        wait();
        assert_eq!(fake.0.lock().unwrap().0.as_deref(), Some("my own note"));
    }
}
