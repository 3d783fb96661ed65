//! Where a provider's token, revocation and userinfo endpoints are for one connection: from the
//! catalog entry or custom definition (templates filled with the connection's variables), the
//! rest from the issuer's discovery document. Refresh, revocation, machine grants and the live
//! check of machine credentials all start here; [`crate::tokens`] then compares the result with
//! what the connection was issued with (SEC-39) before sending anything.

use super::discovery;
use super::request::FlowRequest;
use crate::catalog::ProviderDef;
use crate::error::{Error, Result};

/// Token and revocation endpoints of a provider, from the catalog or its discovery document.
pub(crate) struct Endpoints {
    pub token_url: String,
    pub revocation_url: Option<String>,
    /// Whether `revocation_url` is the provider's answer (the catalog's, or discovery's), not
    /// merely "not looked up": only then is its absence compared (SEC-39).
    pub revocation_known: bool,
    pub userinfo_url: Option<String>,
}

impl Endpoints {
    /// `want_revocation`: also discover the revocation endpoint when the catalog has none.
    pub(crate) fn of(
        def: &ProviderDef,
        vars: &std::collections::BTreeMap<String, String>,
        want_revocation: bool,
    ) -> Result<Endpoints> {
        let resolved = def.resolve(vars)?;
        let needs_discovery =
            resolved.token_url.is_none() || (want_revocation && resolved.revocation_url.is_none());
        let meta = match (&resolved.issuer, needs_discovery) {
            (Some(issuer), true) => Some(discovery::discover(issuer)?),
            _ => None,
        };
        let token_url = resolved
            .token_url
            .clone()
            .or_else(|| meta.as_ref().and_then(|m| m.token_endpoint.clone()))
            .ok_or_else(|| Error::Catalog {
                reason: format!("{}: no token endpoint", def.id),
            })?;
        let revocation_url = resolved
            .revocation_url
            .clone()
            .or_else(|| meta.as_ref().and_then(|m| m.revocation_endpoint.clone()));
        let userinfo_url = resolved
            .userinfo_url
            .clone()
            .or_else(|| meta.as_ref().and_then(|m| m.userinfo_endpoint.clone()));
        Ok(Endpoints {
            revocation_known: revocation_url.is_some()
                || meta.is_some()
                || resolved.issuer.is_none(),
            token_url,
            revocation_url,
            userinfo_url,
        })
    }

    pub(crate) fn request(&self, def: &ProviderDef, client_id: &str) -> FlowRequest {
        FlowRequest {
            client_id: client_id.to_string(),
            scopes: vec![],
            vars: Default::default(),
            token_url: self.token_url.clone(),
            userinfo_url: None,
            jwks_uri: None,
            iss_required: false,
            token_auth_method: def.token_auth_method,
            token_response: def.token_response,
            token_params: def.token_params.clone(),
            identity: None,
            openid: false,
            issued_with: Default::default(),
            defaulted: Default::default(),
        }
    }
}
