//! The contract between the Rust side and the UI, generated from Rust and checked by tests.
//!
//! `ui/src/lib/api/generated.ts` holds the TypeScript declaration of everything that crosses
//! IPC: each command's arguments and result ([`for_each_command!`], `commands/list.rs`), the
//! types those name, transitively (core's `ConnectionSummary`, this crate's `VaultView`...), the
//! UI's events ([`UiEvent`]) and the `{code, message}` error with every code it can carry
//! (`keyhaven_core::Error::all_codes()` and [`CommandError::SHELL_CODES`]). The file is checked
//! in; the test `generated_ts_is_up_to_date` fails when it differs from what this module
//! generates, and regenerating is
//!
//! ```text
//! KEYHAVEN_UPDATE_GENERATED=1 cargo test -p keyhaven-desktop --lib generated_ts   (or: make generated)
//! ```
//!
//! Why ts-rs: it is a stable release (12) that derives the declarations from the serde
//! attributes the types already have (`rename_all`, `tag`/`content`, `flatten`, `skip`), so the
//! JSON and its type come from the same lines. specta's Tauri integration (tauri-specta 2) exists
//! only as release candidates, on a specta 2 release candidate, and would replace how commands
//! are registered; ts-rs needs nothing from Tauri. The derives are test-only here
//! (`cfg_attr(test, ...)`, ts-rs and core's `ts` feature are dev-dependencies), so neither the
//! app nor the CLI links ts-rs.
//!
//! Tests here also hold the command list to the capability (exactly one `allow-<kebab-name>`
//! grant per listed command) and to the Rust functions (each listed command exists with the
//! listed arguments, after Tauri's injected ones, and returns the listed result). The UI side of
//! the list is TypeScript's: `call` in `ui/src/lib/api/commands.ts` takes a `CommandName` and
//! that command's `Commands` entry, so a renamed or removed command fails `npm run check`.

use std::any::TypeId;
use std::collections::{BTreeMap, HashSet};

use ts_rs::{Config, TS, TypeVisitor};

use crate::error::CommandError;

/// Where the generated file lives, from this crate's directory.
const GENERATED_PATH: &str = "../ui/src/lib/api/generated.ts";

/// The command that rewrites it.
const REGENERATE: &str = "KEYHAVEN_UPDATE_GENERATED=1 cargo test -p keyhaven-desktop --lib generated_ts (or: make generated)";

/// The TypeScript side of what [`for_each_command!`] lists: names and argument/result types.
mod ts_types {
    pub use std::collections::BTreeMap;

    pub use keyhaven_core::audit::AuditEvent;
    pub use keyhaven_core::by_url::Preview;
    pub use keyhaven_core::catalog::Category;
    pub use keyhaven_core::connections::{ConnectionDetails, ConnectionSummary};
    pub use keyhaven_core::credentials::AddReport;
    pub use keyhaven_core::providers::{ProviderInfo, ProviderSummary};
    pub use keyhaven_core::tokens::DisconnectReport;
    pub use keyhaven_core::tools::setup::SetupReport;
    pub use keyhaven_core::vault::backup::{ExportReport, ImportReport};

    pub use crate::commands::connect::{FlowOutcome, StartedFlow};
    pub use crate::commands::mcp::McpView;
    pub use crate::commands::tools::{ToolOptions, ToolView};
    pub use crate::commands::vault::AppInfo;
    pub use crate::events::UiEvent;
    pub use crate::state::VaultView;

    /// Stands for `tauri::ipc::Channel<T>` in the declarations: `Channel` from
    /// `@tauri-apps/api/core` on the UI side, which generated.ts imports.
    pub struct Channel<T>(std::marker::PhantomData<T>);

    impl<T: ts_rs::TS + 'static> ts_rs::TS for Channel<T> {
        type WithoutGenerics = Channel<ts_rs::Dummy>;
        type OptionInnerType = Self;
        fn name(cfg: &ts_rs::Config) -> String {
            format!("Channel<{}>", T::name(cfg))
        }
        fn inline(cfg: &ts_rs::Config) -> String {
            Self::name(cfg)
        }
        fn visit_dependencies(v: &mut impl ts_rs::TypeVisitor)
        where
            Self: 'static,
        {
            v.visit::<T>();
        }
    }
}

/// One command as the UI sees it.
struct CommandTs {
    name: &'static str,
    /// `(camelCase name, TypeScript type)`, as the UI sends them.
    args: Vec<(String, String)>,
    result: String,
}

/// Collects the declaration of every named type reachable from the roots, once each.
struct Declarations<'a> {
    cfg: &'a Config,
    seen: HashSet<TypeId>,
    /// By TypeScript name, so the file's order does not depend on visiting order.
    decls: BTreeMap<String, String>,
}

impl TypeVisitor for Declarations<'_> {
    fn visit<T: TS + 'static + ?Sized>(&mut self) {
        if !self.seen.insert(TypeId::of::<T>()) {
            return;
        }
        // Types with a declaration of their own (derived ones); wrappers (`Vec`, `Option`,
        // maps) and primitives are written inline where they are used.
        if T::output_path().is_some() {
            let name = T::ident(self.cfg);
            let mut decl = T::docs().unwrap_or_default();
            decl.push_str("export ");
            decl.push_str(&T::decl(self.cfg));
            let previous = self.decls.insert(name.clone(), decl);
            assert!(
                previous.is_none(),
                "two Rust types are both `{name}` in TypeScript"
            );
        }
        T::visit_dependencies(self);
        T::visit_generics(self);
    }
}

/// Tauri's default for command arguments: `keep_remote` is sent as `keepRemote`.
fn camel_case(snake: &str) -> String {
    let mut out = String::new();
    let mut upper = false;
    for c in snake.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.extend(c.to_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

/// Every listed command, its argument and result types rendered, and the types they name
/// visited into `decls`.
macro_rules! commands_ts {
    ($([$($module:ident)::+] $name:ident($($arg:ident: $ty:ty),* $(,)?) -> $ret:ty;)*) => {
        fn commands_ts(cfg: &Config, decls: &mut Declarations<'_>) -> Vec<CommandTs> {
            #[allow(unused_imports)]
            use ts_types::*;
            vec![$({
                $(decls.visit::<$ty>();)*
                decls.visit::<$ret>();
                CommandTs {
                    name: stringify!($name),
                    args: vec![$((camel_case(stringify!($arg)), <$ty as TS>::name(cfg))),*],
                    result: <$ret as TS>::name(cfg),
                }
            }),*]
        }
    };
}
for_each_command!(commands_ts);

/// A TypeScript string literal (the codes are `snake_case` words; nothing to escape).
fn quoted(s: &str) -> String {
    assert!(
        s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-'),
        "{s:?}"
    );
    format!("'{s}'")
}

/// The whole of `ui/src/lib/api/generated.ts`.
pub fn generated_ts() -> String {
    let cfg = Config::new().with_large_int("number");
    let mut decls = Declarations {
        cfg: &cfg,
        seen: HashSet::new(),
        decls: BTreeMap::new(),
    };
    let commands = commands_ts(&cfg, &mut decls);
    decls.visit::<CommandError>();
    decls.visit::<crate::events::UiEvent>();

    let mut out = String::new();
    out.push_str(&format!(
        "// GENERATED from the Rust types by src-tauri/src/contract.rs: do not edit by hand.\n\
         // Regenerate: {REGENERATE}\n\
         // A test (`generated_ts_is_up_to_date`, part of `cargo test --workspace`) fails when this\n\
         // file differs from what Rust generates.\n\
         \n\
         import type {{ Channel }} from '@tauri-apps/api/core';\n\n"
    ));
    out.push_str("// --- the types that cross IPC ------------------------------------------------------------\n\n");
    for decl in decls.decls.values() {
        out.push_str(decl);
        out.push_str("\n\n");
    }

    out.push_str("// --- error codes ---------------------------------------------------------------------------\n\n");
    let core_codes = keyhaven_core::Error::all_codes();
    let list = |codes: &[&str]| {
        codes
            .iter()
            .map(|c| format!("  {},\n", quoted(c)))
            .collect::<String>()
    };
    out.push_str(&format!(
        "/** Every code `keyhaven_core::Error::code()` can produce (from `Error::all_codes()`). */\n\
         export const ERROR_CODES = [\n{}] as const;\n\n\
         /** Codes the desktop shell itself produces (`CommandError::SHELL_CODES`, src-tauri/src/error.rs). */\n\
         export const SHELL_ERROR_CODES = [\n{}] as const;\n\n\
         /** Every code a command's `CommandError` can carry. */\n\
         export type CommandErrorCode = (typeof ERROR_CODES)[number] | (typeof SHELL_ERROR_CODES)[number];\n\n",
        list(&core_codes),
        list(CommandError::SHELL_CODES),
    ));

    out.push_str("// --- commands ------------------------------------------------------------------------------\n\n");
    out.push_str(
        "/** Every command (src-tauri/src/commands/list.rs): the arguments the UI sends, what it resolves to. */\n\
         export type Commands = {\n",
    );
    for c in &commands {
        let args = if c.args.is_empty() {
            "Record<string, never>".to_string()
        } else {
            let fields: Vec<String> = c.args.iter().map(|(n, t)| format!("{n}: {t}")).collect();
            format!("{{ {} }}", fields.join("; "))
        };
        out.push_str(&format!(
            "  {}: {{ args: {args}; result: {} }};\n",
            c.name, c.result
        ));
    }
    out.push_str("};\n\n/** A command's name. */\nexport type CommandName = keyof Commands;\n\n");
    out.push_str(&format!(
        "/** Every command's name, in the order of the list. */\nexport const COMMAND_NAMES = [\n{}] as const satisfies readonly CommandName[];\n",
        commands
            .iter()
            .map(|c| format!("  {},\n", quoted(c.name)))
            .collect::<String>()
    ));
    out
}

/// The command names, in the order of the list.
pub fn command_names() -> Vec<&'static str> {
    macro_rules! names {
        ($([$($module:ident)::+] $name:ident($($arg:ident: $ty:ty),* $(,)?) -> $ret:ty;)*) => {
            vec![$(stringify!($name)),*]
        };
    }
    for_each_command!(names)
}

// --- the list against the Rust functions -------------------------------------------------------

/// Marks a sync command function (`Fn(..) -> Result<T, CommandError>`).
pub struct Blocking;
/// Marks an async one (`Fn(..) -> impl Future<Output = Result<T, CommandError>>`).
pub struct Awaited;

/// A command function: its parameters as a tuple, and what it returns on success. `M` tells the
/// sync and async implementations apart.
pub trait CommandFn<M> {
    /// All parameters, Tauri's injected ones first.
    type Params;
    /// The `T` of `Result<T, CommandError>`.
    type Ok;
}

/// A parameter Tauri fills in itself, which the UI does not send.
pub trait Injected {}
impl Injected for tauri::AppHandle {}
impl Injected for tauri::Webview {}
impl Injected for tauri::State<'_, crate::AppState> {}

/// `Self` is the parameter tuple of a command whose UI-sent arguments are `A` (a tuple), after
/// injected ones.
pub trait EndsWith<A> {}

macro_rules! impl_command_fn {
    ($($p:ident),*) => {
        impl<F, T, $($p),*> CommandFn<(Blocking, ($($p,)*))> for F
        where
            F: Fn($($p),*) -> Result<T, CommandError>,
        {
            type Params = ($($p,)*);
            type Ok = T;
        }
        impl<F, Fut, T, $($p),*> CommandFn<(Awaited, ($($p,)*))> for F
        where
            F: Fn($($p),*) -> Fut,
            Fut: std::future::Future<Output = Result<T, CommandError>>,
        {
            type Params = ($($p,)*);
            type Ok = T;
        }
    };
}
impl_command_fn!();
impl_command_fn!(P1);
impl_command_fn!(P1, P2);
impl_command_fn!(P1, P2, P3);
impl_command_fn!(P1, P2, P3, P4);
impl_command_fn!(P1, P2, P3, P4, P5);
impl_command_fn!(P1, P2, P3, P4, P5, P6);

/// `EndsWith<(A..)>` for `(I.., A..)`, each `I` injected: up to 3 injected, 5 sent.
macro_rules! impl_ends_with {
    ([$($i:ident),*] [$($a:ident),*]) => {
        impl<$($i: Injected,)* $($a),*> EndsWith<($($a,)*)> for ($($i,)* $($a,)*) {}
    };
    ($sent:tt) => {
        impl_ends_with!([] $sent);
        impl_ends_with!([I1] $sent);
        impl_ends_with!([I1, I2] $sent);
        impl_ends_with!([I1, I2, I3] $sent);
    };
}
impl_ends_with!([]);
impl_ends_with!([A1]);
impl_ends_with!([A1, A2]);
impl_ends_with!([A1, A2, A3]);
impl_ends_with!([A1, A2, A3, A4]);
impl_ends_with!([A1, A2, A3, A4, A5]);

/// Compiles only when `f`'s parameters end with the UI-sent `A` and its success type is `T`.
pub fn check_signature<M, F, A, T>(_: &F)
where
    F: CommandFn<M, Ok = T>,
    F::Params: EndsWith<A>,
{
}

/// Every listed command against its function: a mismatch is a compile error here.
macro_rules! check_signatures {
    ($([$($module:ident)::+] $name:ident($($arg:ident: $ty:ty),* $(,)?) -> $ret:ty;)*) => {
        #[allow(dead_code)]
        fn check_signatures() {
            use std::collections::BTreeMap;
            use tauri::ipc::Channel;
            use ts_types::*;
            $(check_signature::<_, _, ($($ty,)*), $ret>(&crate::$($module)::+::$name);)*
        }
    };
}
for_each_command!(check_signatures);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_ts_is_up_to_date() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(GENERATED_PATH);
        let fresh = generated_ts();
        if std::env::var_os("KEYHAVEN_UPDATE_GENERATED").is_some() {
            std::fs::write(&path, &fresh).expect("writing generated.ts");
            return;
        }
        let checked_in = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            checked_in == fresh,
            "ui/src/lib/api/generated.ts is not what the Rust types generate (a type, a command \
             or an error code changed). Regenerate it with\n\n    {REGENERATE}\n\nand commit it."
        );
    }

    #[test]
    fn the_capability_grants_exactly_the_listed_commands() {
        let capability: serde_json::Value =
            serde_json::from_str(include_str!("../capabilities/main.json")).unwrap();
        let mut granted: Vec<String> = capability["permissions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p.as_str().expect("permissions are names").to_string())
            .collect();
        let mut wanted: Vec<String> = command_names()
            .iter()
            .map(|n| format!("allow-{}", n.replace('_', "-")))
            .collect();
        granted.sort();
        wanted.sort();
        let extra: Vec<_> = granted.iter().filter(|g| !wanted.contains(g)).collect();
        let missing: Vec<_> = wanted.iter().filter(|w| !granted.contains(w)).collect();
        assert!(
            extra.is_empty() && missing.is_empty(),
            "capabilities/main.json must grant exactly one allow-<name> per command of \
             src/commands/list.rs: not listed {extra:?}, not granted {missing:?}"
        );
        assert_eq!(granted, wanted, "a permission is granted twice");
    }

    #[test]
    fn command_names_are_unique_and_snake_case() {
        let names = command_names();
        let unique: HashSet<_> = names.iter().collect();
        assert_eq!(unique.len(), names.len(), "a command is listed twice");
        for n in names {
            assert!(n.chars().all(|c| c.is_ascii_lowercase() || c == '_'), "{n}");
        }
    }

    #[test]
    fn the_generated_file_names_every_command_and_code() {
        let ts = generated_ts();
        for n in command_names() {
            assert!(ts.contains(&format!("  {n}: {{ args: ")), "{n}");
        }
        for code in keyhaven_core::Error::all_codes() {
            assert!(ts.contains(&format!("  '{code}',\n")), "{code}");
        }
    }
}
