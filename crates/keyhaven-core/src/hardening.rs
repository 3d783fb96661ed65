//! Process hardening applied by both front ends at start-up (SEC-26). The code is
//! `keyhaven_ipc::harden` (the front binary needs it too, without core); this logs its outcome.

/// Makes the current process non-dumpable and disables core files. Best effort: failures are
/// logged, never fatal.
pub fn harden_process() {
    if let Some(what) = keyhaven_ipc::harden::harden_process() {
        tracing::warn!("{what}");
    }
}
