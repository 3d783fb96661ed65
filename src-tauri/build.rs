//! Build script: compiles `tauri.conf.json` and the capability files into the binary, and
//! declares the app's own commands.
//!
//! Declaring the commands here (`AppManifest::commands`) makes tauri-build generate one
//! `allow-<command>` permission per command. Capabilities can then grant the window exactly the
//! commands it needs by name, and any command not listed both here and in a capability is
//! refused at the IPC boundary, so a new command can never become reachable by accident.

// `for_each_command!`: every command, named once (src/commands/list.rs, which lib.rs's
// `generate_handler!` and the UI's generated contract read too).
include!("src/commands/list.rs");

/// The names of the commands `for_each_command!` lists.
macro_rules! names {
    ($([$($module:ident)::+] $name:ident($($arg:ident: $ty:ty),* $(,)?) -> $ret:ty;)*) => {
        &[$(stringify!($name)),*]
    };
}

/// Every `#[tauri::command]` the UI may call (`capabilities/main.json` grants each).
const COMMANDS: &[&str] = for_each_command!(names);

fn main() {
    tauri_build::try_build(
        tauri_build::Attributes::new()
            .app_manifest(tauri_build::AppManifest::new().commands(COMMANDS)),
    )
    .expect("tauri-build failed");
}
