//! What a grant needs at the token endpoint, snapshotted when it starts: the client, scopes,
//! template variables, the token endpoint and how to authenticate there, how to read the
//! response and the account, and what the tokens will be issued with (SEC-39). A pending
//! authorization flow stores it, so finishing the flow needs no rediscovery; refreshes and
//! machine grants build one from the connection's resolved endpoints.

use serde::{Deserialize, Serialize};

use crate::catalog::{Identity, TokenAuthMethod, TokenResponseShape};

/// Everything needed to finish a flow, snapshotted when it starts (no rediscovery at the end).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub(crate) struct FlowRequest {
    pub client_id: String,
    pub scopes: Vec<String>,
    pub vars: std::collections::BTreeMap<String, String>,
    pub token_url: String,
    pub userinfo_url: Option<String>,
    pub jwks_uri: Option<String>,
    /// RFC 9207: the server advertised `iss` in authorization responses.
    pub iss_required: bool,
    pub token_auth_method: TokenAuthMethod,
    pub token_response: TokenResponseShape,
    pub token_params: std::collections::BTreeMap<String, String>,
    pub identity: Option<Identity>,
    pub openid: bool,
    /// What the tokens will be issued with (SEC-39), recorded on the new connection. Default for
    /// flows stored by an older build (they expire within 10 minutes anyway).
    #[serde(default)]
    pub issued_with: crate::issued::IssuedWith,
    /// Which of `vars` took their default (not handed to tools as if chosen).
    #[serde(default)]
    pub defaulted: std::collections::BTreeSet<String>,
}

#[cfg(test)]
impl FlowRequest {
    /// A minimal request for unit tests: a public client `c` and a token endpoint.
    pub(crate) fn for_test(token_url: &str) -> FlowRequest {
        FlowRequest {
            client_id: "c".into(),
            scopes: vec![],
            vars: Default::default(),
            token_url: token_url.into(),
            userinfo_url: None,
            jwks_uri: None,
            iss_required: false,
            token_auth_method: Default::default(),
            token_response: Default::default(),
            token_params: Default::default(),
            identity: None,
            openid: false,
            issued_with: Default::default(),
            defaulted: Default::default(),
        }
    }
}
