//! Connecting in the browser: start (opens the system browser), wait (poll), open again,
//! cancel, and the paste box. The flow itself is core's (`flows::start`/`complete`), the same the
//! CLI runs; the redirect comes back through the deep link (`deeplink.rs`, Rust only), a
//! loopback port served here on a worker thread, or a pasted URL.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use keyhaven_core::Error;
use keyhaven_core::catalog::RedirectKind;
use keyhaven_core::connections::ConnectionSummary;
use keyhaven_core::flows::{self, ConnectOptions};
use serde::Serialize;
use tauri::{AppHandle, State};

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
