//! keyhaven-ipc: what the Keyhaven agent and its clients share, and nothing else.
//!
//! The agent (`keyhaven agent`, or the desktop app while it runs) holds one unlocked vault and
//! answers hand-outs over a UNIX socket. Every hand-out asks it first and falls back to opening
//! the vault itself. This crate is that conversation, kept apart from keyhaven-core for one
//! reason: speed. The `keyhaven` front binary links only this crate, so a hand-out the agent
//! answers costs the start of a ~0.5 MB program, not of the 12 MB one that can open SQLCipher
//! (docs/agent.md, "Why a front binary").
//!
//! - [`paths`]: where the vault and the socket live (the one rule, shared with core).
//! - [`wire`]: the versioned protocol, message by message (docs/agent.md).
//! - [`client`]: one request to the agent, every failure bounded in time and mapped to
//!   "use the direct path" or an answer.
//! - [`handout`]: the fast path of `keyhaven token` (ask, print), shared by both binaries.
//! - [`harden`]: non-dumpable, no core files (SEC-26), first thing in every program.
//! - [`peer`]: who is at the other end of a socket (`SO_PEERCRED`, `/proc/PID/exe`).

#![deny(missing_docs)]

pub mod client;
pub mod handout;
pub mod harden;
pub mod paths;
pub mod peer;
pub mod wire;
