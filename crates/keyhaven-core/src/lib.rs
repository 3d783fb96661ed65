//! keyhaven-core: everything Keyhaven does that is not a user interface.
//!
//! The CLI (`crates/keyhaven-cli`) and the desktop app (`src-tauri`) are two thin front doors
//! over this crate; if both need a behaviour, it lives here, once.
//!
//! Where to find things:
//! - [`agent`]: the session agent: one unlocked vault answering hand-outs over a UNIX socket
//!   (docs/agent.md).
//! - [`vault`]: the encrypted SQLCipher store, its key sources (OS keychain, passphrase),
//!   schema migrations and rekey. Start at [`Vault::open`].
//! - [`catalog`]: the embedded provider catalog, templates, discovery.
//! - [`clock`]: the one clock (movable in tests).
//! - [`flows`]: connecting an account (Authorization Code + PKCE, deep link and loopback).
//! - [`oauth`]: the OAuth layer under flows and tokens (token endpoint client, id tokens,
//!   discovery, endpoints, redirect URIs).
//! - [`providers`]: the person's own OAuth apps and custom providers.
//! - [`tokens`]: token hand-out, refresh exactly once across processes, revocation.
//! - [`connections`]: connections and their secret fields.
//! - [`credentials`]: API keys and machine-grant credentials typed in, verified, stored.
//! - [`inspect`]: JWTs decoded for display (never verified, and named so).
//! - [`ids`]: connection and provider ids, each validated in one place.
//! - [`http`]: the one HTTP client configuration (no redirects, timeouts, size cap).
//! - [`issued`]: what a connection was issued with (issuer, endpoints, client), checked before
//!   any of its secrets is sent anywhere.
//! - [`audit`]: the audit log.
//! - [`overview`]: what `keyhaven status` shows: each connection's health, what needs you.
//! - [`secret`]: the redacted, zeroized types every secret travels in.
//! - [`suggest`]: "did you mean" for typed names.
//! - [`paths`]: where the vault lives (`KEYHAVEN_HOME` or the platform data dir).
//! - [`error`]: the one error type, with exit-code class and machine code.

#![deny(missing_docs)]

pub mod agent;
pub mod audit;
pub mod by_url;
pub mod catalog;
pub mod clock;
pub mod connections;
pub mod credentials;
pub mod error;
pub mod flows;
mod hardening;
pub mod http;
pub mod ids;
pub mod inspect;
pub mod issued;
pub mod mcp;
pub mod oauth;
pub mod overview;
pub mod paths;
pub mod providers;
pub mod secret;
pub mod suggest;
pub mod tokens;
pub mod tools;
pub mod vault;

pub use error::{Error, HttpFailure, Result, VerifyClass};
pub use hardening::harden_process;
pub use paths::DataDir;
pub use vault::{
    Actor, GivenPassphrase, KeyChoice, NoPassphrase, PassphrasePurpose, PassphraseSource, Vault,
};
