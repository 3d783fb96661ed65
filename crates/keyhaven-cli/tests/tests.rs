//! Integration tests of the `keyhaven` binary against a real Secret Service (gnome-keyring in a
//! private D-Bus session per test). Each module is named after what it proves.

mod support;

mod agent;
mod backup;
mod by_url;
mod cli_conventions;
mod cli_usage;
mod cloud_credentials;
mod connect_flow;
mod keychain_vault;
mod machine_grants;
mod mcp_proxy;
mod passphrase_vault;
mod provider_trust;
mod token_lifecycle;
mod tool_helpers;
mod vault_errors;
