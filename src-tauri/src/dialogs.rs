//! Native dialogs, opened from Rust: the person's own say on privileged actions (SEC-43).
//!
//! A script running in the webview can call any command the capability grants, but it cannot
//! click a GTK (or Cocoa, Win32) dialog. So every action that shows or moves a secret, changes
//! the vault key, deletes, or changes where sign-ins go is confirmed here, in a dialog that names
//! exactly what will happen, and files are chosen in the platform's file dialog rather than typed
//! into the page. The page asks nothing itself (asking twice teaches clicking through).
//!
//! Each dialog blocks until answered: call these on the blocking pool (`commands::blocking`),
//! never on an async worker or the main thread. Declining (Cancel, Escape, closing the dialog)
//! returns the `cancelled` error, which the UI shows as a quiet notice, and the caller changes
//! nothing.

use std::path::PathBuf;

use tauri::AppHandle;
use tauri_plugin_dialog::{DialogExt, FileDialogBuilder, MessageDialogButtons, MessageDialogKind};

use crate::error::CommandError;

/// The title of every Keyhaven dialog; file dialogs add what they are for after it.
pub const TITLE: &str = "Keyhaven";

/// The error a declined dialog returns: nothing happened.
pub fn cancelled(what: &str) -> CommandError {
    CommandError {
        code: CommandError::CANCELLED,
        message: format!("cancelled: {what}"),
    }
}

/// A value the page or a provider supplied, as a dialog shows it: in quotes, control characters
/// (a line break could fake a second paragraph) replaced, at most 120 characters.
pub fn quoted(value: &str) -> String {
    format!("“{}”", bounded(value, 120))
}

/// A sentence from core or from a file, as a dialog shows it: control characters replaced, at
/// most 400 characters.
pub fn plain(text: &str) -> String {
    bounded(text, 400)
}

/// `text` with control characters replaced and cut to `max` characters (with `…` when cut).
fn bounded(text: &str, max: usize) -> String {
    let mut shown: String = text
        .chars()
        .map(|c| if c.is_control() { '\u{fffd}' } else { c })
        .take(max)
        .collect();
    if text.chars().count() > max {
        shown.push('…');
    }
    shown
}

/// A native yes/no question, answered by the person (not by the page). `Ok` when they chose
/// `yes_label`; the `cancelled` error (with `nothing_done`) otherwise.
pub fn confirm(
    app: &AppHandle,
    question: &str,
    yes_label: &str,
    nothing_done: &str,
) -> Result<(), CommandError> {
    let yes = app
        .dialog()
        .message(question)
        .title(TITLE)
        .kind(MessageDialogKind::Warning)
        .buttons(MessageDialogButtons::OkCancelCustom(
            yes_label.into(),
            "Cancel".into(),
        ))
        .blocking_show();
    if yes {
        Ok(())
    } else {
        Err(cancelled(nothing_done))
    }
}

/// The platform's save dialog, proposing `file_name`; the chosen path, or `cancelled`.
pub fn save_file(
    app: &AppHandle,
    purpose: &str,
    file_name: &str,
    nothing_done: &str,
) -> Result<PathBuf, CommandError> {
    let chosen = backup_dialog(app, purpose)
        .set_file_name(file_name)
        .set_can_create_directories(true)
        .blocking_save_file();
    local_path(chosen, nothing_done)
}

/// The platform's open dialog; the chosen file, or `cancelled`.
pub fn open_file(
    app: &AppHandle,
    purpose: &str,
    nothing_done: &str,
) -> Result<PathBuf, CommandError> {
    let chosen = backup_dialog(app, purpose)
        .add_filter("All files", &["*"])
        .blocking_pick_file();
    local_path(chosen, nothing_done)
}

/// A file dialog titled for `purpose` that offers Keyhaven backups first.
fn backup_dialog(app: &AppHandle, purpose: &str) -> FileDialogBuilder<tauri::Wry> {
    app.dialog()
        .file()
        .set_title(format!("{TITLE}: {purpose}"))
        .add_filter("Keyhaven backup (age)", &["age"])
}

fn local_path(
    chosen: Option<tauri_plugin_dialog::FilePath>,
    nothing_done: &str,
) -> Result<PathBuf, CommandError> {
    let chosen = chosen.ok_or_else(|| cancelled(nothing_done))?;
    chosen.into_path().map_err(|_| {
        keyhaven_core::Error::BadInput("that location is not a file on this computer".into()).into()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_values_cannot_add_lines_to_a_dialog() {
        assert_eq!(quoted("abc"), "“abc”");
        assert_eq!(quoted("a\n\nClick Save"), "“a\u{fffd}\u{fffd}Click Save”");
        let long = quoted(&"x".repeat(500));
        assert_eq!(long.chars().count(), 120 + 3);
    }

    #[test]
    fn declining_is_the_cancelled_code() {
        let e = cancelled("nothing was imported");
        assert_eq!(e.code, "cancelled");
        assert_eq!(e.message, "cancelled: nothing was imported");
    }
}
