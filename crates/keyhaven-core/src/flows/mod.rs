//! Connecting an account: Authorization Code + PKCE in the system browser.
//!
//! One flow, three functions, used identically by the CLI and the desktop app:
//! 1. [`start`]: resolve the provider (catalog or custom, template variables, discovery), pick
//!    the redirect (deep link or a fresh loopback port), make PKCE S256, `state` and `nonce`,
//!    store the pending flow in the vault, return the authorization URL to open.
//! 2. [`complete`]: given a redirect URL from anywhere (deep link, `keyhaven handle-url`, the
//!    loopback listener), validate it strictly ([`callback`]), consume the pending flow
//!    atomically ([`pending`]), check `error`/`iss`, redeem the code ([`token`]), verify the id
//!    token, name the account, save the connection (same account again: updated in place).
//! 3. [`wait`]: the starting process waits for whichever process completes the flow, serving the
//!    loopback port itself when the flow uses one.
//!
//! No network I/O happens inside a database transaction (SEC-38); the code is redeemed once, by
//! whoever consumed the flow (SEC-2, SEC-11).

pub mod browser;
pub mod callback;
pub mod device;
pub mod loopback;
pub mod pending;

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use oauth2::{CsrfToken, PkceCodeChallenge};
use serde_json::Value;
use url::Url;

use crate::catalog::{AuthMode, ProviderDef, RedirectKind, discovery};
use crate::connections::{ConnectionSummary, NewConnection};
use crate::error::{Error, Result};
use crate::oauth::client::{self as token, ClientAuth};
use crate::oauth::{id_token, identity};
use crate::secret::{FlowState, PkceVerifier};
use crate::vault::Vault;
use loopback::{Loopback, Reply};
use pending::{FLOW_TTL_SECS, FlowFailure, FlowRequest, PendingFlow};

/// What the person asked for.
#[derive(Debug, Clone, Default)]
pub struct ConnectOptions {
    /// Redirect kind; the provider's default when `None`.
    pub redirect: Option<RedirectKind>,
    /// Scopes; the provider's defaults when empty.
    pub scopes: Vec<String>,
    /// Template variables (`--var NAME=VALUE`).
    pub vars: BTreeMap<String, String>,
}

/// A flow that has started and waits for its redirect.
pub struct StartedFlow {
    /// Open this in the browser.
    pub authorization_url: String,
    /// The redirect URI registered in the request.
    pub redirect_uri: String,
    /// Which kind it is.
    pub redirect_kind: RedirectKind,
    /// Provider id.
    pub provider_id: String,
    /// Unix time after which the flow is void.
    pub expires_at: i64,
    /// SHA-256 of the state: the state itself stays with the pending flow.
    digest: String,
    loopback: Option<Loopback>,
}

impl std::fmt::Debug for StartedFlow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StartedFlow")
            .field("provider_id", &self.provider_id)
            .field("redirect_uri", &self.redirect_uri)
            .finish_non_exhaustive()
    }
}

impl StartedFlow {
    /// SHA-256 of the state: what the result is filed under.
    pub fn state_digest(&self) -> String {
        self.digest.clone()
    }
}

/// Starts a flow for `provider_id`.
pub fn start(vault: &mut Vault, provider_id: &str, opts: &ConnectOptions) -> Result<StartedFlow> {
    let def = vault.provider_def(provider_id)?;
    if def.auth_mode != AuthMode::Oauth2 {
        return Err(Error::BadInput(format!(
            "{} does not sign in through the browser (it uses {}); use `keyhaven credentials add {}`",
            def.name,
            def.auth_mode.describe(),
            def.id
        )));
    }
    let kind = opts.redirect.unwrap_or(def.redirects[0]);
    if !def.redirects.contains(&kind) {
        return Err(Error::BadInput(format!(
            "{} does not accept {} redirects; use --redirect {}",
            def.name,
            kind.as_str(),
            def.redirects[0].as_str()
        )));
    }
    let p = prepare(vault, def, Some(kind), opts)?;
    let authorization_url = p.authorization_url.clone().ok_or_else(|| Error::Catalog {
        reason: format!("{}: no authorization endpoint", p.def.id),
    })?;
    let (def, client, scopes) = (&p.def, &p.client, &p.scopes);

    let loopback = match kind {
        RedirectKind::Loopback => Some(Loopback::bind_at(def.loopback_port)?),
        RedirectKind::DeepLink => None,
    };
    // SEC-42: the deep-link URI names this authorization server (provider and instance).
    let redirect_uri = loopback
        .as_ref()
        .map(Loopback::redirect_uri)
        .unwrap_or_else(|| callback::deep_link_redirect(&def.id, &p.resolved.vars));

    // SEC-1: S256 over a 256-bit verifier; SEC-2: 256-bit state; OIDC nonce.
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let state = FlowState::random();
    let nonce = p
        .openid
        .then(|| CsrfToken::new_random_len(32).secret().clone());
    let url = build_authorization_url(
        def,
        &authorization_url,
        &client.client_id,
        &redirect_uri,
        scopes,
        state.expose(),
        challenge.as_str(),
        nonce.as_deref(),
    )?;

    let expires_at = crate::clock::now() + FLOW_TTL_SECS;
    let digest = state.digest();
    let flow = PendingFlow {
        state,
        provider_id: def.id.clone(),
        redirect_uri: redirect_uri.clone(),
        verifier: PkceVerifier::new(verifier.secret().clone()),
        nonce,
        issuer: p.resolved.issuer.clone(),
        request: p.request(),
        expires_at,
    };
    pending::insert(vault, &flow)?;
    Ok(StartedFlow {
        authorization_url: url.to_string(),
        redirect_uri,
        redirect_kind: kind,
        provider_id: def.id.clone(),
        expires_at,
        digest,
        loopback,
    })
}

/// A provider ready for a grant: definition, the person's app, variables, discovered metadata.
pub(crate) struct Prepared {
    pub def: ProviderDef,
    pub client: crate::providers::ClientConfig,
    pub resolved: crate::catalog::Resolved,
    pub meta: Option<discovery::Metadata>,
    pub authorization_url: Option<String>,
    pub device_authorization_url: Option<String>,
    pub token_url: String,
    pub userinfo_url: Option<String>,
    pub scopes: Vec<String>,
    pub openid: bool,
}

impl Prepared {
    /// What finishing the grant needs, snapshotted.
    pub(crate) fn request(&self) -> FlowRequest {
        FlowRequest {
            client_id: self.client.client_id.clone(),
            scopes: self.scopes.clone(),
            vars: self.resolved.vars.clone(),
            token_url: self.token_url.clone(),
            userinfo_url: self.userinfo_url.clone(),
            jwks_uri: self.meta.as_ref().and_then(|m| m.jwks_uri.clone()),
            iss_required: self
                .meta
                .as_ref()
                .is_some_and(|m| m.authorization_response_iss_parameter_supported),
            token_auth_method: self.def.token_auth_method,
            token_response: self.def.token_response,
            token_params: self.def.token_params.clone(),
            identity: self.def.identity.clone(),
            openid: self.openid,
            issued_with: self.issued_with(),
            defaulted: self.resolved.defaulted.clone(),
        }
    }

    /// What the tokens of this grant are issued with (SEC-39): the issuer, the token and
    /// revocation endpoints' origins, and the client.
    pub(crate) fn issued_with(&self) -> crate::issued::IssuedWith {
        let revocation = self.resolved.revocation_url.clone().or_else(|| {
            self.meta
                .as_ref()
                .and_then(|m| m.revocation_endpoint.clone())
        });
        crate::issued::IssuedWith::from_urls(
            self.resolved.issuer.as_deref(),
            Some(&self.token_url),
            revocation.as_deref(),
            Some(&self.client.client_id),
        )
    }
}

/// Resolves everything a grant needs before any request to the provider's endpoints.
/// `kind`: the redirect kind, for the "register your app" hint.
pub(crate) fn prepare(
    vault: &Vault,
    def: ProviderDef,
    kind: Option<RedirectKind>,
    opts: &ConnectOptions,
) -> Result<Prepared> {
    let client = vault.provider_client(&def.id)?;
    let example_redirect = match kind {
        Some(RedirectKind::DeepLink) => match def.resolve(&opts.vars) {
            Ok(r) => callback::deep_link_redirect(&def.id, &r.vars),
            Err(_) => callback::deep_link_redirect_template(
                &def.id,
                &def.variables.keys().map(String::as_str).collect::<Vec<_>>(),
            ),
        },
        Some(RedirectKind::Loopback) => match def.loopback_port {
            Some(port) => format!("http://127.0.0.1:{port}/callback"),
            None => "http://127.0.0.1/callback (any port)".to_string(),
        },
        None => "(none needed for the device flow)".to_string(),
    };
    let not_configured = |secret: bool| Error::NotConfigured {
        provider: def.id.clone(),
        register_url: def
            .register_url
            .clone()
            .unwrap_or_else(|| def.docs_url.clone()),
        redirect_uri: example_redirect.clone(),
        secret_hint: if secret || def.client_secret_required {
            " --client-secret-file FILE".into()
        } else {
            String::new()
        },
    };
    let client = client.ok_or_else(|| not_configured(false))?;
    if def.client_secret_required && client.client_secret.is_none() {
        return Err(not_configured(true));
    }
    let resolved = def.resolve(&opts.vars)?;

    // Discovery fills what the catalog leaves out, and gives the JWKS and the iss capability.
    let meta = match &resolved.issuer {
        Some(issuer) => Some(discovery::discover(issuer)?),
        None => None,
    };
    let pick = |own: &Option<String>, found: Option<&Option<String>>| {
        own.clone().or_else(|| found.and_then(|f| f.clone()))
    };
    let authorization_url = pick(
        &resolved.authorization_url,
        meta.as_ref().map(|m| &m.authorization_endpoint),
    );
    let device_authorization_url = pick(
        &resolved.device_authorization_url,
        meta.as_ref().map(|m| &m.device_authorization_endpoint),
    );
    let token_url = pick(
        &resolved.token_url,
        meta.as_ref().map(|m| &m.token_endpoint),
    )
    .ok_or_else(|| Error::Catalog {
        reason: format!("{}: no token endpoint", def.id),
    })?;
    let userinfo_url = pick(
        &resolved.userinfo_url,
        meta.as_ref().map(|m| &m.userinfo_endpoint),
    );
    let scopes = if opts.scopes.is_empty() {
        def.scopes.clone()
    } else {
        opts.scopes.clone()
    };
    let openid = scopes.iter().any(|s| s == "openid");
    Ok(Prepared {
        def,
        client,
        resolved,
        meta,
        authorization_url,
        device_authorization_url,
        token_url,
        userinfo_url,
        scopes,
        openid,
    })
}

/// The authorization request URL (RFC 6749 §4.1.1 + RFC 7636 + OIDC), with the provider's extra
/// parameters. Public so the catalog tests can check every entry.
#[allow(clippy::too_many_arguments)]
pub fn build_authorization_url(
    def: &ProviderDef,
    authorization_url: &str,
    client_id: &str,
    redirect_uri: &str,
    scopes: &[String],
    state: &str,
    code_challenge: &str,
    nonce: Option<&str>,
) -> Result<Url> {
    let mut url =
        crate::catalog::check_endpoint_url(authorization_url).map_err(|e| Error::Catalog {
            reason: format!("{}: {e}", def.id),
        })?;
    {
        let mut q = url.query_pairs_mut();
        q.append_pair("response_type", "code")
            .append_pair("client_id", client_id)
            .append_pair("redirect_uri", redirect_uri);
        if !scopes.is_empty() {
            q.append_pair("scope", &scopes.join(&def.scope_separator));
        }
        q.append_pair("state", state)
            .append_pair("code_challenge", code_challenge)
            .append_pair("code_challenge_method", "S256");
        if let Some(n) = nonce {
            q.append_pair("nonce", n);
        }
        for (k, v) in &def.authorization_params {
            q.append_pair(k, v);
        }
    }
    Ok(url)
}

/// Completes a flow from a redirect URL, whoever received it. Records the outcome for the
/// process that waits, and returns the connection.
pub fn complete(vault: &mut Vault, redirect_url: &str) -> Result<ConnectionSummary> {
    let params = callback::parse(redirect_url)?;
    let flow = pending::consume(vault, &params.state)?;
    let digest = flow.state.digest();
    let outcome = finish(vault, flow, params);
    let record = match &outcome {
        Ok(c) => Ok(c.id.to_string()),
        Err(e) => Err(FlowFailure::from(e)),
    };
    pending::record_result(vault, &digest, &record)?;
    outcome
}

fn finish(
    vault: &mut Vault,
    flow: PendingFlow,
    params: callback::CallbackParams,
) -> Result<ConnectionSummary> {
    let provider = flow.provider_id.clone();
    if params.redirect_uri != flow.redirect_uri {
        return Err(Error::BadRedirect {
            reason: "it arrived on another redirect URI than the sign-in started with".into(),
        });
    }
    // RFC 9207 / SEC-4: compare iss exactly; a missing iss is refused when advertised.
    if let Some(expected) = &flow.issuer {
        match &params.iss {
            Some(iss) if iss == expected => {}
            Some(iss) => {
                return Err(Error::IssuerMismatch {
                    reason: format!(
                        "the response came from {:?}, expected {expected:?}",
                        token::sanitize(iss)
                    ),
                });
            }
            None if flow.request.iss_required => {
                return Err(Error::IssuerMismatch {
                    reason: "the response has no iss although the server advertises it".into(),
                });
            }
            None => {}
        }
    }
    if let Some(error) = &params.error {
        return Err(Error::AuthorizationDenied {
            provider,
            error: token::sanitize(error),
            description: params
                .error_description
                .as_deref()
                .map(|d| format!(": {}", token::sanitize(d)))
                .unwrap_or_default(),
        });
    }
    let code = params
        .code
        .as_ref()
        .expect("parse guarantees code or error");
    let client = vault
        .provider_client(&provider)?
        .filter(|c| c.client_id == flow.request.client_id)
        .ok_or_else(|| {
            Error::BadInput(format!(
                "the OAuth app of {provider} changed during the sign-in; start again"
            ))
        })?;
    let auth = ClientAuth {
        client_id: &client.client_id,
        client_secret: client.client_secret.as_ref(),
    };
    let tokens = token::exchange_code(
        &provider,
        &flow.request,
        &auth,
        code,
        flow.verifier,
        &flow.redirect_uri,
    )?;
    save_tokens(
        vault,
        provider,
        &flow.request,
        flow.issuer.as_deref(),
        flow.nonce.as_deref(),
        tokens,
    )
}

/// The common end of every interactive grant: verify the id token, name the account, save the
/// connection (same account again: updated in place).
pub(crate) fn save_tokens(
    vault: &mut Vault,
    provider: String,
    request: &FlowRequest,
    issuer: Option<&str>,
    nonce: Option<&str>,
    mut tokens: token::Tokens,
) -> Result<ConnectionSummary> {
    let id_claims = match (&tokens.id_token, issuer, &request.jwks_uri) {
        (Some(id), Some(issuer), Some(jwks)) => Some(id_token::verify_id_token(
            id,
            issuer,
            &request.client_id,
            jwks,
            nonce,
        )?),
        (None, Some(_), Some(_)) if request.openid => {
            return Err(Error::IdTokenInvalid {
                reason: "openid was requested but the response has no id_token".into(),
            });
        }
        _ => None,
    };
    let account = identity::account_name(&provider, request, &tokens, id_claims.as_ref())?;
    let granted = tokens.granted_scopes(&request.scopes);
    let expires_at = tokens.expires_in.map(|s| crate::clock::now() + s);
    let token_type = tokens.token_type.clone();
    let extra = std::mem::take(&mut tokens.extra);
    let fields = token_fields(tokens);
    let id = vault.save_connection(NewConnection {
        provider_id: provider,
        account,
        auth_mode: crate::catalog::AuthMode::Oauth2,
        scopes_requested: request.scopes.clone(),
        scopes_granted: granted,
        token_type,
        expires_at,
        extra: Value::Object(extra),
        fields,
        vars: request.vars.clone(),
        issued_with: request.issued_with.clone(),
        defaulted: request.defaulted.clone(),
    })?;
    vault
        .connection_summary(&id)?
        .ok_or_else(|| Error::BadInput("the new connection vanished".into()))
}

pub(crate) use crate::oauth::client::token_fields;

/// Waits until the flow completes (here, through the loopback port, or in another process),
/// `timeout` passes, or the flow expires.
pub fn wait(
    vault: &mut Vault,
    mut flow: StartedFlow,
    timeout: Duration,
) -> Result<ConnectionSummary> {
    let ttl = Duration::from_secs((flow.expires_at - crate::clock::now()).max(0) as u64);
    let deadline = Instant::now() + timeout.min(ttl);
    let digest = flow.state_digest();
    let finished = |vault: &Vault| -> Result<Option<ConnectionSummary>> {
        match pending::poll_result(vault, &digest)? {
            Some(Ok(id)) => Ok(vault.connection_summary(&id)?),
            Some(Err(f)) => Err(Error::FlowFailed { message: f.message }),
            None => Ok(None),
        }
    };
    if let Some(lb) = flow.loopback.take() {
        let cell = RefCell::new(&mut *vault);
        let mut handled: Option<Result<ConnectionSummary>> = None;
        let mut handle = |url: &str| -> Reply {
            let mut v = cell.borrow_mut();
            match complete(&mut v, url) {
                Ok(c) => {
                    let msg = format!("Keyhaven connected {} as {}.", c.provider, c.account);
                    handled = Some(Ok(c));
                    Reply::Done {
                        ok: true,
                        message: msg,
                    }
                }
                // A decoy or stale request: reject it, keep waiting for the real callback.
                Err(e @ (Error::BadRedirect { .. } | Error::UnknownState)) => {
                    Reply::Reject(e.to_string())
                }
                Err(e) => {
                    let msg = e.to_string();
                    handled = Some(Err(e));
                    Reply::Done {
                        ok: false,
                        message: msg,
                    }
                }
            }
        };
        let mut stop = || {
            let v = cell.borrow();
            !matches!(pending::poll_result(&v, &digest), Ok(None))
        };
        lb.serve(deadline, &mut handle, &mut stop)?;
        if let Some(outcome) = handled {
            return outcome;
        }
        // Completed elsewhere (a pasted URL), or timed out.
        return match finished(vault)? {
            Some(c) => Ok(c),
            None => {
                let _ = pending::cancel(vault, &digest);
                Err(Error::FlowTimeout)
            }
        };
    }
    loop {
        if let Some(c) = finished(vault)? {
            return Ok(c);
        }
        if Instant::now() >= deadline {
            let _ = pending::cancel(vault, &digest);
            return Err(Error::FlowTimeout);
        }
        std::thread::sleep(Duration::from_millis(150));
    }
}

/// How a flow started elsewhere in this process ended, by its digest
/// ([`StartedFlow::state_digest`]): `None` while it is pending. For front ends that poll (the
/// desktop app) instead of blocking in [`wait`].
pub fn outcome(
    vault: &Vault,
    digest: &str,
) -> Result<Option<std::result::Result<ConnectionSummary, FlowFailure>>> {
    Ok(match pending::poll_result(vault, digest)? {
        None => None,
        Some(Ok(id)) => Some(vault.connection_summary(&id)?.ok_or_else(|| FlowFailure {
            code: "not_found".into(),
            message: "the new connection was deleted meanwhile".into(),
        })),
        Some(Err(f)) => Some(Err(f)),
    })
}

/// Abandons a pending flow by its digest (the desktop's Cancel): its state can no longer be
/// redeemed, and whoever waits for it (a loopback listener) sees it end.
pub fn cancel(vault: &mut Vault, digest: &str) -> Result<()> {
    if pending::cancel(vault, digest)? > 0 {
        pending::record_result(
            vault,
            digest,
            &Err(FlowFailure {
                code: "cancelled".into(),
                message: "the sign-in was cancelled".into(),
            }),
        )?;
    }
    Ok(())
}

impl StartedFlow {
    /// Whether the flow waits on a loopback port, which someone must serve ([`wait`] does; the
    /// desktop app runs it on a worker thread with its own vault handle).
    pub fn is_loopback(&self) -> bool {
        self.loopback.is_some()
    }
}
