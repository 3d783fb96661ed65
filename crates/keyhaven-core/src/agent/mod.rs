//! The agent: one process per user and vault holding the unlocked vault, answering hand-outs
//! over a UNIX socket from memory (docs/agent.md has the whole design and the protocol).
//!
//! - [`Agent::start`] binds the socket (`socket`: one agent per path, a private directory,
//!   SEC-50) and serves on two threads: one accepts (each client gets a short-lived thread of
//!   its own), one keeps time (idle lock, hard cap, exit when the vault is gone or when locked
//!   and unasked).
//! - The CLI runs it as `keyhaven agent` (`start` then [`Agent::wait`]); the desktop app hosts
//!   one while it runs and gives it its vault ([`Agent::give`]), so both share one unlocked
//!   session.
//! - [`Settings`]: `[agent]` in the user's config.toml (autostart, idle lock, hard cap).
//! - `start` (module [`start`]) is the client side of starting one: on demand after a direct
//!   hand-out, and for `keyhaven unlock`.
//!
//! Everything a hand-out does still goes through [`crate::tokens::hand_out`] on the agent's one
//! vault connection, so refresh stays exactly-once through the vault lease (SEC-27) whoever
//! asks: the agent, the desktop scheduler, a command on the direct path.

mod server;
mod settings;
mod socket;
pub mod start;

pub use server::{Agent, AgentConfig, Host, LockReason};
pub use settings::Settings;
