//! Process hardening applied by both front ends at start-up (SEC-26).
//!
//! A process holding the vault key must not be readable by a debugger attached as the same user,
//! nor leave a core dump with the key in it. On Linux: `PR_SET_DUMPABLE = 0` (also blocks
//! `ptrace` attach by non-root processes of the same user) and `RLIMIT_CORE = 0`. Other platforms
//! get their equivalents when they are built and tested (PT_DENY_ATTACH on macOS, a process DACL
//! on Windows); until then this is a no-op there.

/// Makes the current process non-dumpable and disables core files. Best effort: failures are
/// logged, never fatal.
pub fn harden_process() {
    #[cfg(target_os = "linux")]
    // SAFETY: prctl(PR_SET_DUMPABLE) and setrlimit(RLIMIT_CORE) take plain integers / a valid
    // pointer to a local struct and have no memory-safety preconditions.
    unsafe {
        if libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0) != 0 {
            tracing::warn!("could not mark the process non-dumpable");
        }
        let zero = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        if libc::setrlimit(libc::RLIMIT_CORE, &zero) != 0 {
            tracing::warn!("could not disable core dumps");
        }
    }
}
