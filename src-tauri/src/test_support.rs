//! Fixtures the shell's unit tests share.

use keyhaven_core::connections::{ConnectionStatus, ConnectionSummary};

/// A connected summary of `provider:account`, id `c_0123456789abcdef`, nothing else set.
pub fn summary(provider: &str, account: &str) -> ConnectionSummary {
    ConnectionSummary {
        id: "c_0123456789abcdef".to_string().try_into().unwrap(),
        provider: provider.into(),
        account: account.into(),
        instance: String::new(),
        label: None,
        default: false,
        status: ConnectionStatus::Connected,
        renewable: false,
        expires_at: None,
        scopes: vec![],
    }
}
