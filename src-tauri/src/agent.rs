//! The desktop app hosts the agent while it runs (docs/agent.md, "Who starts it"), so the CLI,
//! the tools' helpers and the app share one unlocked session: unlock a passphrase vault in the
//! window, and `keyhaven token` needs no passphrase until the app locks.
//!
//! At start-up an agent the CLI started for this vault is asked to hand over (it shuts down)
//! and the app binds the socket itself. Whenever the app opens the vault, the agent gets its own
//! handle on it ([`share`], a `reopen`: no second keychain call or Argon2id). Locking in the app
//! locks the agent ([`crate::state::AppState::lock`]); `keyhaven lock` locks the app too (the
//! hook below). The agent's idle lock and hard cap lock only the agent: the app is in use, and
//! gives it the vault again the next time it uses the vault itself.

use std::time::{Duration, Instant};

use keyhaven_core::agent::start::{self, Found};
use keyhaven_core::agent::{Agent, Host, LockReason, Settings};
use keyhaven_core::{Actor, DataDir, Vault};
use keyhaven_ipc::wire::Request;
use tauri::{AppHandle, Manager};

use crate::state::AppState;

/// Starts hosting the agent for the vault in `dir` (when there is one), and remembers it in the
/// app's state. Problems are logged: the app works without an agent.
pub fn host(app: &AppHandle, dir: &DataDir) {
    if !Vault::exists(dir) {
        return;
    }
    let socket = keyhaven_ipc::paths::socket_path();
    if let Found::Ours(cli_agent) = start::probe(&socket, dir) {
        let pid = cli_agent.hello.pid;
        let _ = cli_agent.ask::<serde_json::Value>(&Request::Shutdown, Duration::from_secs(5));
        wait_gone(pid);
    }
    let config = keyhaven_core::agent::AgentConfig {
        exit_when_locked_secs: None,
        ..Settings::load().unwrap_or_default().config()
    };
    let agent = match Agent::start(dir, &socket, config, Host::Desktop) {
        Ok(Some(agent)) => agent,
        Ok(None) => {
            tracing::info!(socket = %socket.display(), "another agent holds the socket; not hosting one");
            return;
        }
        Err(e) => {
            tracing::warn!(error = %e, "could not host the agent");
            return;
        }
    };
    let handle = app.clone();
    agent.on_lock(move |reason| {
        if reason == LockReason::Asked {
            // `keyhaven lock`: the whole session locks, this window included.
            handle.state::<AppState>().forget_vault();
            handle
                .state::<AppState>()
                .publish(&crate::events::UiEvent::ConnectionsChanged);
        }
    });
    app.state::<AppState>().set_agent(agent);
}

/// Gives the agent (when it is locked) a handle on the vault the app just opened or used.
pub fn share(agent: &Agent, vault: &Vault) {
    if !agent.is_locked() {
        return;
    }
    match vault.reopen(Actor::Agent) {
        Ok(handle) => {
            if let Err(e) = agent.give(handle) {
                tracing::warn!(error = %e, "could not give the agent the vault");
            }
        }
        Err(e) => tracing::warn!(error = %e, "could not reopen the vault for the agent"),
    }
}

/// Waits (at most 2 s) until the process `pid` has exited and released the socket.
fn wait_gone(pid: u32) {
    let deadline = Instant::now() + Duration::from_secs(2);
    while std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| !s.contains(") Z"))
        && Instant::now() < deadline
    {
        std::thread::sleep(Duration::from_millis(10));
    }
}
