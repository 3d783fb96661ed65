//! The lifecycle view of a connection ([`Snapshot`], read by `connections::rows`) and what
//! "fresh enough" means: the margin a caller asked for, exactly, or the provider's default,
//! capped at half the token's lifetime.

use crate::clock::now;
pub(super) use crate::connections::rows::{Lifecycle as Snapshot, lifecycle as snapshot};

/// How close to expiry a token may be: as the caller asked, or the provider's default (capped at
/// half the token's lifetime, see [`effective_margin`]).
#[derive(Debug, Clone, Copy)]
pub(super) enum Margin {
    Asked(i64),
    Default(i64),
}

impl Snapshot {
    /// Whether the stored access token is usable for at least `margin` more seconds. No expiry
    /// means it lives until revoked.
    pub(super) fn is_fresh(&self, margin: Margin) -> bool {
        self.has_access_token
            && self.expires_at.is_none_or(|e| {
                let m = match margin {
                    Margin::Asked(m) => m,
                    Margin::Default(m) => effective_margin(m, e, self.updated_at),
                };
                now().saturating_add(m) < e
            })
    }

    /// Until when (Unix seconds) the stored token stays fresh by `margin`: `i64::MAX` without
    /// expiry, `i64::MIN` without a token. The same rule as [`Snapshot::is_fresh`].
    pub(super) fn fresh_until(&self, margin: Margin) -> i64 {
        if !self.has_access_token {
            return i64::MIN;
        }
        match self.expires_at {
            None => i64::MAX,
            Some(e) => {
                let m = match margin {
                    Margin::Asked(m) => m,
                    Margin::Default(m) => effective_margin(m, e, self.updated_at),
                };
                e.saturating_sub(m)
            }
        }
    }

    /// A machine grant (client credentials, password): renewed by running the grant again.
    pub(super) fn is_machine(&self) -> bool {
        self.auth_mode.is_machine()
    }
}

/// The refresh margin for one token: the configured margin, but at most half the token's
/// lifetime. Without the cap, a token that lives less than the margin (seconds-long test tokens,
/// some providers' 5-minute tokens with a 10-minute margin) would be "expiring" the moment it is
/// minted, and every caller would refresh again: more than one refresh per expiry.
pub(super) fn effective_margin(margin: i64, expires_at: i64, issued_at: i64) -> i64 {
    margin.min(((expires_at - issued_at) / 2).max(0))
}
