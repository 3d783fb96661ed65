//! The UI's updates, delivered through a channel the app controls (SEC-44).
//!
//! Why not Tauri events: `app.emit` broadcasts to every webview that listens, and the webview can
//! only listen with `core:event:allow-listen`, a permission that cannot be narrowed to our own
//! event names. With it, a script in the page could also listen to `deep-link://new-url`, which
//! tauri-plugin-deep-link 2.6.3 emits with the full callback URL (authorization code and state):
//! `DeepLink::handle_cli_arguments` in its src/lib.rs calls
//! `self.app.emit("deep-link://new-url", vec![url])` for every link a second launch hands over
//! (single-instance's `deep-link` feature calls it), `init`'s `on_event` does the same on macOS
//! (`RunEvent::Opened`), and `on_open_url` is itself a listener of that event. The app keeps using
//! `on_open_url` (a Rust listener), but the capability no longer grants any event permission, so
//! no script can listen to anything.
//!
//! Instead the UI hands one `tauri::ipc::Channel` to [`events_subscribe`] at start-up; the app
//! keeps it in [`AppState`](crate::AppState) (one per webview, a reload replaces it) and
//! [`publish`] sends the typed [`UiEvent`]s below to it. Nothing else reaches the page this way:
//! no URL, no code, no state (a flow is named by its state's SHA-256, the id `connect_start`
//! already returned).

use keyhaven_core::connections::ConnectionSummary;
use serde::Serialize;
use tauri::ipc::Channel;
use tauri::{AppHandle, Manager, State, Webview};

use crate::commands::connect::FlowOutcome;
use crate::error::CommandError;
use crate::state::AppState;

/// What the UI is told (its TypeScript type is generated: `contract.rs`).
#[cfg_attr(test, derive(ts_rs::TS))]
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "event", content = "payload", rename_all = "kebab-case")]
pub enum UiEvent {
    /// Connections were added, refreshed, changed status or removed: reload the list.
    ConnectionsChanged,
    /// A deep link (or a loopback redirect) finished a sign-in (boxed: a connection is large).
    FlowFinished(Box<FlowFinished>),
}

/// The outcome of a sign-in finished outside the page, and which flow it was.
#[cfg_attr(test, derive(ts_rs::TS))]
#[derive(Debug, Clone, Serialize)]
pub struct FlowFinished {
    /// The flow's id (its state's SHA-256), when the redirect could be read.
    pub flow_id: Option<String>,
    /// Done (with the connection) or failed (with a readable message).
    #[serde(flatten)]
    pub outcome: FlowOutcome,
}

impl UiEvent {
    /// A flow that ended with a connection.
    pub fn flow_done(flow_id: Option<String>, connection: ConnectionSummary) -> Self {
        UiEvent::FlowFinished(Box::new(FlowFinished {
            flow_id,
            outcome: FlowOutcome::Done { connection },
        }))
    }

    /// A flow that ended without one.
    pub fn flow_failed(flow_id: Option<String>, message: String) -> Self {
        UiEvent::FlowFinished(Box::new(FlowFinished {
            flow_id,
            outcome: FlowOutcome::Failed { message },
        }))
    }
}

/// Sends `event` to every subscribed webview.
pub fn publish(app: &AppHandle, event: UiEvent) {
    app.state::<AppState>().publish(&event);
}

/// The UI's one subscription, made once at start-up (again after a reload, which replaces it).
#[tauri::command(async)]
pub fn events_subscribe(
    webview: Webview,
    state: State<'_, AppState>,
    on_event: Channel<UiEvent>,
) -> Result<(), CommandError> {
    state.subscribe(webview.label(), on_event);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary() -> ConnectionSummary {
        crate::test_support::summary("testas", "bob")
    }

    #[test]
    fn events_serialize_as_the_ui_reads_them() {
        let changed = serde_json::to_value(UiEvent::ConnectionsChanged).unwrap();
        assert_eq!(changed, serde_json::json!({"event": "connections-changed"}));

        let done =
            serde_json::to_value(UiEvent::flow_done(Some("ab12".into()), summary())).unwrap();
        assert_eq!(done["event"], "flow-finished");
        assert_eq!(done["payload"]["state"], "done");
        assert_eq!(done["payload"]["flow_id"], "ab12");
        assert_eq!(done["payload"]["connection"]["account"], "bob");

        let failed = serde_json::to_value(UiEvent::flow_failed(None, "denied".into())).unwrap();
        assert_eq!(failed["payload"]["state"], "failed");
        assert_eq!(failed["payload"]["message"], "denied");
        assert!(failed["payload"]["flow_id"].is_null());
    }

    /// The capability grants no event permission (SEC-44): with `core:event:allow-listen` a page
    /// script could listen to the deep-link plugin's `deep-link://new-url`, which carries the
    /// callback URL.
    #[test]
    fn the_window_may_not_listen_to_events() {
        let capability: serde_json::Value =
            serde_json::from_str(include_str!("../capabilities/main.json")).unwrap();
        let permissions = capability["permissions"].as_array().unwrap();
        for p in permissions {
            let p = p.as_str().unwrap_or_default();
            assert!(
                !p.starts_with("core:event") && !p.starts_with("core:default"),
                "capabilities/main.json grants {p}"
            );
        }
        assert!(
            permissions
                .iter()
                .any(|p| p.as_str() == Some("allow-events-subscribe"))
        );
    }
}
