// Every command the UI can call, named once. The one list behind:
//
// - `build.rs`, which `include!`s this file to give tauri-build the names (`AppManifest::commands`
//   makes one `allow-<kebab-name>` permission per command; nothing else is callable),
// - `lib.rs`'s `generate_handler!`,
// - the UI's contract in `ui/src/lib/api/generated.ts` (`src/contract.rs` writes the
//   `Commands` map of each command's arguments and result, and the `CommandName` union the UI's
//   `call` is typed on), and the tests there: `capabilities/main.json` grants exactly these
//   commands, and each listed result is the one its Rust function returns.
//
// One entry: `[module path] name(argument: Type, ...) -> Result;` — the arguments the UI sends
// (Tauri's injected `AppHandle`, `State`, `Webview` are not listed; the UI sends each name in
// camelCase), and what the command returns on success (`()` for nothing). Adding a command means
// one line here and one grant in `capabilities/main.json`.
//
// Plain `macro_rules!` and no `use`: build.rs compiles this file too, where only the names
// matter (the types are not resolved there).

/// Calls `$callback!` with every IPC command (see the comment at the top of this file).
macro_rules! for_each_command {
    ($callback:ident) => {
        $callback! {
            [commands::vault] vault_status() -> VaultView;
            [commands::vault] vault_init() -> VaultView;
            [commands::vault] vault_unlock(passphrase: String) -> VaultView;
            [commands::vault] app_info() -> AppInfo;
            [events] events_subscribe(on_event: Channel<UiEvent>) -> ();
            [commands::connections] connections_list() -> Vec<ConnectionSummary>;
            [commands::connections] connection_show(id: String) -> ConnectionDetails;
            [commands::connections] connection_reveal(id: String, field: String) -> String;
            [commands::connections] connection_copy(id: String, field: String) -> ();
            [commands::connections] connection_refresh(id: String) -> ConnectionSummary;
            [commands::connections] connection_disconnect(id: String, keep_remote: bool) -> DisconnectReport;
            [commands::connections] audit_list(connection: Option<String>) -> Vec<AuditEvent>;
            [commands::tools] connection_tools(id: String) -> Vec<ToolView>;
            [commands::tools] setup_tool(
                id: String,
                tool: String,
                target: Option<String>,
                options: ToolOptions
            ) -> Vec<SetupReport>;
            [commands::tools] remove_tool(tool: String, target: String) -> SetupReport;
            [commands::mcp] connection_mcp(id: String) -> Option<McpView>;
            [commands::providers] providers_list() -> Vec<ProviderSummary>;
            [commands::providers] catalog_categories() -> Vec<Category>;
            [commands::providers] provider_info(id: String) -> ProviderInfo;
            [commands::providers] provider_configure(id: String, client_id: String, client_secret: Option<String>) -> ();
            [commands::providers] provider_add_custom(
                id: String,
                issuer: String,
                client_id: String,
                client_secret: Option<String>,
                scopes: Vec<String>
            ) -> ProviderSummary;
            [commands::providers] open_url(url: String) -> ();
            [commands::connect] connect_start(
                provider: String,
                redirect: Option<String>,
                scopes: Vec<String>,
                vars: BTreeMap<String, String>
            ) -> StartedFlow;
            [commands::connect] connect_wait(flow_id: String) -> FlowOutcome;
            [commands::connect] connect_open_again(flow_id: String) -> ();
            [commands::connect] connect_cancel(flow_id: String) -> ();
            [commands::connect] connect_paste(url: String) -> ConnectionSummary;
            [commands::connect] connect_url_preview(url: String) -> Preview;
            [commands::connect] connect_url(url: String, scopes: Vec<String>) -> StartedFlow;
            [commands::credentials] credentials_add(
                provider: String,
                values: BTreeMap<String, String>,
                vars: BTreeMap<String, String>,
                account: Option<String>,
                verify: bool
            ) -> AddReport;
            [commands::settings] vault_export(passphrase: String, move_out: bool) -> ExportReport;
            [commands::settings] vault_import(passphrase: String) -> ImportReport;
            [commands::settings] vault_lock() -> ();
            [commands::settings] vault_rekey(current_passphrase: Option<String>, new_passphrase: Option<String>) -> ();
        }
    };
}
