//! Connecting in the browser: start (opens the system browser), wait (poll), open again,
//! cancel, and the paste box. The flow itself is core's (`flows::start`/`complete`), the same the
//! CLI runs; the redirect comes back through the deep link (`deeplink.rs`, Rust only), a
//! loopback port served here on a worker thread, or a pasted URL.
//!
//! Connecting by URL (docs/by-url.md) is core's `by_url` in front of the same start: a preview
//! that stores nothing (which server guards the URL, what it asks for), then, once the person
//! confirmed in a native dialog (it defines a provider and may register Keyhaven at a server:
//! SEC-43), `by_url::prepare` and the start above for the provider it made. Both talk to the
//! network, so they run on the blocking pool with a worker handle on the vault.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use keyhaven_core::by_url::{self, Preview};
use keyhaven_core::catalog::RedirectKind;
use keyhaven_core::connections::ConnectionSummary;
use keyhaven_core::flows::{self, ConnectOptions};
use keyhaven_core::{Error, Vault};
use serde::Serialize;
use tauri::{AppHandle, State};

use crate::dialogs::{confirm, quoted};
use crate::error::CommandError;
use crate::state::AppState;

/// A started browser sign-in, as the UI sees it (`connect_start`).
#[cfg_attr(test, derive(ts_rs::TS))]
#[derive(Debug, Serialize)]
pub struct StartedFlow {
    /// Opaque id of this flow (the SHA-256 of its state); what `connect_wait` and
    /// `connect_cancel` take.
    flow_id: String,
    /// What the browser was sent to; shown for "copy link" and "open again".
    authorization_url: String,
    /// Where the provider sends the browser back.
    redirect_uri: String,
    /// Which kind of redirect that is.
    redirect_kind: RedirectKind,
    /// The provider's id.
    provider: String,
    /// RFC 3339: the flow is void after this.
    expires_at: String,
}

/// Where a flow is (`connect_wait`; also the `flow-finished` event's payload).
#[cfg_attr(test, derive(ts_rs::TS))]
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum FlowOutcome {
    /// Still waiting for the redirect.
    Pending,
    /// Connected.
    Done {
        /// The connection.
        connection: ConnectionSummary,
    },
    /// Ended without a connection.
    Failed {
        /// Why, readably.
        message: String,
    },
}

/// Starts a sign-in and opens the system browser (`$BROWSER` when set).
#[tauri::command]
pub async fn connect_start(
    app: AppHandle,
    provider: String,
    redirect: Option<String>,
    scopes: Vec<String>,
    vars: BTreeMap<String, String>,
) -> Result<StartedFlow, CommandError> {
    super::blocking(&app, move |app, state| {
        start(app, state, provider, redirect, scopes, vars)
    })
    .await
}

/// The browser sign-in of `connect_start`, also what `connect_url` runs once its provider is
/// defined: the flow stored, the loopback port served, the browser opened.
fn start(
    app: &AppHandle,
    state: &AppState,
    provider: String,
    redirect: Option<String>,
    scopes: Vec<String>,
    vars: BTreeMap<String, String>,
) -> Result<StartedFlow, CommandError> {
    let redirect = match redirect.as_deref() {
        None => None,
        Some("deep-link") => Some(RedirectKind::DeepLink),
        Some("loopback") => Some(RedirectKind::Loopback),
        Some(other) => return Err(Error::BadInput(format!("unknown redirect kind {other}")).into()),
    };
    let opts = ConnectOptions {
        redirect,
        scopes,
        vars,
    };
    tracing::debug!(%provider, "connect_start: starting the flow");
    let flow = state.with_vault(|v| flows::start(v, &provider, &opts))?;
    tracing::debug!("connect_start: flow stored; opening the browser");
    let view = StartedFlow {
        flow_id: flow.state_digest(),
        authorization_url: flow.authorization_url.clone(),
        redirect_uri: flow.redirect_uri.clone(),
        redirect_kind: flow.redirect_kind,
        provider: flow.provider_id.clone(),
        expires_at: keyhaven_core::audit::format_time(flow.expires_at),
    };
    state.remember_flow(&view.flow_id, &view.authorization_url);
    if flow.is_loopback() {
        // The loopback port is served by core's own `wait`, on a worker handle.
        let mut worker = state.worker_vault().ok_or(Error::VaultLocked)?;
        let app = app.clone();
        std::thread::spawn(move || {
            let _ = flows::wait(&mut worker, flow, Duration::from_secs(600));
            crate::events::publish(&app, crate::events::UiEvent::ConnectionsChanged);
        });
    }
    super::open_in_browser(app, &view.authorization_url)?;
    tracing::debug!("connect_start: browser opened");
    Ok(view)
}

/// Waits up to 3 s for the flow to finish; the UI calls again while `pending`.
#[tauri::command(async)]
pub fn connect_wait(
    state: State<'_, AppState>,
    flow_id: String,
) -> Result<FlowOutcome, CommandError> {
    let deadline = Instant::now() + Duration::from_secs(3);
    loop {
        let outcome = state.with_vault(|v| flows::outcome(v, &flow_id))?;
        match outcome {
            Some(Ok(connection)) => {
                state.forget_flow(&flow_id);
                return Ok(FlowOutcome::Done { connection });
            }
            Some(Err(failure)) => {
                state.forget_flow(&flow_id);
                return Ok(FlowOutcome::Failed {
                    message: failure.message,
                });
            }
            None if Instant::now() >= deadline => return Ok(FlowOutcome::Pending),
            None => std::thread::sleep(Duration::from_millis(150)),
        }
    }
}

/// Opens the browser at the flow's authorization URL again.
#[tauri::command(async)]
pub fn connect_open_again(
    app: AppHandle,
    state: State<'_, AppState>,
    flow_id: String,
) -> Result<(), CommandError> {
    let url = state
        .flow_url(&flow_id)
        .ok_or(Error::BadInput("that sign-in is no longer waiting".into()))?;
    super::open_in_browser(&app, &url)
}

/// Abandons the flow: its state can no longer be redeemed.
#[tauri::command(async)]
pub fn connect_cancel(state: State<'_, AppState>, flow_id: String) -> Result<(), CommandError> {
    state.with_vault(|v| flows::cancel(v, &flow_id))?;
    state.forget_flow(&flow_id);
    Ok(())
}

/// Finishes a sign-in from the address the browser ended on, pasted by hand.
#[tauri::command]
pub async fn connect_paste(app: AppHandle, url: String) -> Result<ConnectionSummary, CommandError> {
    super::blocking(&app, move |app, state| {
        let summary = state.with_vault(|v| flows::complete(v, url.trim()))?;
        crate::events::publish(app, crate::events::UiEvent::ConnectionsChanged);
        Ok(summary)
    })
    .await
}

/// What connecting `url` would do, found out without storing anything: the resource, the
/// authorization server that guards it, the scopes it asks for, the provider id it would get,
/// and whether Keyhaven holds or can get a registration there (`by_url::preview`).
#[tauri::command]
pub async fn connect_url_preview(app: AppHandle, url: String) -> Result<Preview, CommandError> {
    super::blocking(&app, move |_, state| preview_url(state, &url)).await
}

/// [`connect_url_preview`] without Tauri, on a worker handle (the window's is not held across
/// the network).
pub fn preview_url(state: &AppState, url: &str) -> Result<Preview, CommandError> {
    let url = checked(url)?;
    let worker = state.worker_vault().ok_or(Error::VaultLocked)?;
    Ok(by_url::preview(&worker, url)?)
}

/// Connects by URL: once the person confirmed it in a native dialog naming the resource, its
/// authorization server and the provider, registers Keyhaven there when needed and defines the
/// provider (`by_url::prepare`), then starts the browser sign-in exactly as `connect_start`
/// does. `scopes` empty: what the resource asks for.
#[tauri::command]
pub async fn connect_url(
    app: AppHandle,
    url: String,
    scopes: Vec<String>,
) -> Result<StartedFlow, CommandError> {
    super::blocking(&app, move |app, state| {
        let provider = prepare_url(state, &url, &scopes, |q| {
            confirm(app, q, "Sign in", "nothing was connected")
        })?;
        start(app, state, provider, None, scopes, BTreeMap::new())
    })
    .await
}

/// The URL as core takes it, refused before any request when it is not one Keyhaven may fetch
/// (https, or http on this machine).
fn checked(url: &str) -> Result<&str, CommandError> {
    let url = url.trim();
    by_url::check_url(url)?;
    Ok(url)
}

/// [`connect_url`] without Tauri, up to the sign-in: the preview, the question asked through
/// `ask`, then `by_url::prepare` on a worker handle (the window's is not held across the
/// network). Returns the provider to sign in with. A server where Keyhaven holds no
/// registration and cannot register gets core's refusal (with the `keyhaven providers add`
/// way out) and no question; nothing is stored then.
pub fn prepare_url(
    state: &AppState,
    url: &str,
    scopes: &[String],
    ask: impl FnOnce(&str) -> Result<(), CommandError>,
) -> Result<String, CommandError> {
    let url = checked(url)?;
    let mut worker = state.worker_vault().ok_or(Error::VaultLocked)?;
    let preview = by_url::preview(&worker, url)?;
    if preview.registered || preview.can_register {
        ask(&connect_url_question(
            &preview,
            replacement(&worker, &preview)?.as_deref(),
        ))?;
    }
    let prepared = by_url::prepare(&mut worker, url, scopes)?;
    if prepared.issuer != preview.issuer || prepared.provider_id != preview.provider_id {
        // The resource changed its answer between the question and now: no sign-in at a server
        // the person did not confirm.
        return Err(Error::BadInput(format!(
            "{} now names another authorization server ({}) than the one you confirmed ({}): \
             nothing was signed in; look it up again",
            preview.resource, prepared.issuer, preview.issuer
        ))
        .into());
    }
    Ok(prepared.provider_id)
}

/// What redefining the provider would change, when one with this id exists for another server
/// (core's description); `None` for a new provider or the same server again.
fn replacement(vault: &Vault, p: &Preview) -> keyhaven_core::Result<Option<String>> {
    let same_server = vault
        .provider_def(&p.provider_id)
        .is_ok_and(|d| d.issuer.as_deref() == Some(p.issuer.as_str()));
    if same_server {
        return Ok(None);
    }
    vault.describe_provider_replacement(&p.provider_id, Some(&p.issuer))
}

/// The confirmation of `connect_url`: the resource, who guards it, the registration, the
/// provider, the scopes, and what a redefinition changes.
pub fn connect_url_question(p: &Preview, replacing: Option<&str>) -> String {
    let registration = if p.registered {
        "Keyhaven reuses the registration it holds there."
    } else {
        "Keyhaven registers itself there as an app (RFC 7591) and keeps the registration for \
         every resource that server guards."
    };
    let scopes = if p.scopes.is_empty() {
        String::new()
    } else {
        let shown: Vec<String> = p.scopes.iter().map(|s| quoted(s)).collect();
        format!(" The sign-in asks for {}.", shown.join(", "))
    };
    let replacing = match replacing {
        Some(what) => {
            let what = crate::dialogs::plain(what);
            let mut chars = what.chars();
            let what: String = match chars.next() {
                Some(first) => first.to_uppercase().chain(chars).collect(),
                None => what,
            };
            let end = if what.ends_with('.') { "" } else { "." };
            format!("\n\n{what}{end}")
        }
        None => String::new(),
    };
    format!(
        "Connect {} and sign in at {}?\n\n{registration} The provider {} is defined for it, \
         and its tokens are for that resource only.{scopes}{replacing}",
        quoted(&p.resource),
        quoted(&p.issuer),
        quoted(&p.provider_id),
    )
}

#[cfg(test)]
mod tests;
