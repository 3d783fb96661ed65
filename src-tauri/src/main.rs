//! The `keyhaven-desktop` executable: nothing but a call into the library.
//!
//! All wiring lives in `lib.rs` (`keyhaven_desktop::run`) so that it can be reached from tests
//! and from mobile entry points alike; this file only exists because Cargo needs a `main`.

// Release builds on Windows must not open a console window next to the app.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

fn main() {
    keyhaven_desktop::run();
}
