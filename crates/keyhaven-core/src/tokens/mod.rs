//! Keeping tokens usable: hand-out, refresh exactly once across processes, and revocation.
//!
//! **Single flight (SEC-27).** A refresh is coordinated through a lease row in the vault
//! (`refresh_leases`), not an in-process mutex, so any number of `keyhaven token` processes, the
//! desktop scheduler and threads agree. Taking the lease, and every decision around it, happens
//! in a `BEGIN IMMEDIATE` transaction that first re-reads the connection: whoever finds a fresh
//! token (one the lease holder just committed) uses it instead of refreshing. The lease lives
//! 30 s, longer than one whole token request (15 s), so it cannot expire under a live holder.
//! No network I/O happens inside a transaction (SEC-38).
//!
//! **Durable rotation (SEC-28).** The new access token, the rotated refresh token (or the old one
//! when the response has none), the expiry and a narrower scope are written in one transaction
//! with `synchronous=FULL`, the moment the response is parsed.
//!
//! **Failures (SEC-29, 30, 34).** `invalid_grant`: re-read the vault first (a peer may have
//! rotated); if the refresh token is unchanged the connection becomes `needs_reauth`, tokens are
//! kept for viewing, and no further request is made until the person reconnects. A transport
//! failure (timeout, dropped connection: outcome unknown) is retried once. Every outcome is in the
//! audit log with its error code, never the token.
//!
//! Where each part lives: [`handout`] (the hot path), [`refresh`] (decide, request, commit),
//! [`lease`] (the one lease loop, shared with revocation), [`binding`] (SEC-39 checks),
//! [`snapshot`] (freshness), [`backoff`], [`due`] (the scheduler's list) and [`revoke`]. The
//! rows themselves are read and written by `connections::rows`.

mod backoff;
mod binding;
mod due;
mod handout;
mod lease;
mod refresh;
mod revoke;
mod snapshot;

/// Decoding JWTs for display lives in [`crate::inspect`]; reachable here as before.
pub use crate::inspect;
pub use due::{Due, DueReason, due, refresh_due};
pub use handout::{HandOut, HandOutCache, TokenOptions, Unrecorded, access_token, hand_out};
pub use refresh::refresh;
pub use revoke::{
    DisconnectReport, PendingRevocation, RetryReport, disconnect, pending_revocations,
    retry_revocations,
};

pub(crate) use crate::oauth::endpoints::Endpoints;

use crate::error::Result;
use crate::secret::SecretBytes;
use crate::vault::Vault;

/// A stored field of a connection (for the credentials module; secrets stay wrapped).
pub(crate) fn read_field_pub(vault: &Vault, id: &str, name: &str) -> Result<Option<SecretBytes>> {
    crate::connections::rows::read_field(vault.conn(), id, name)
}
