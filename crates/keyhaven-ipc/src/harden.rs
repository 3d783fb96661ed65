//! Process hardening, applied first thing by every Keyhaven program (SEC-26): the front binary,
//! the full CLI, the agent, the desktop app.
//!
//! A process holding the vault key or a token must not be readable by a debugger attached as
//! the same user, nor leave a core dump with them in it. On Linux: `PR_SET_DUMPABLE = 0` (which
//! also makes `/proc/PID/environ`, `mem` and `maps` unreadable to other processes of the user
//! and blocks `ptrace` attach by them) and `RLIMIT_CORE = 0`. Other platforms get their
//! equivalents when they are built and tested; until then this is a no-op there.

/// Makes the current process non-dumpable and disables core files. Returns what failed, if
/// anything, for the caller to log; never fatal.
pub fn harden_process() -> Option<&'static str> {
    #[cfg(target_os = "linux")]
    // SAFETY: prctl(PR_SET_DUMPABLE) and setrlimit(RLIMIT_CORE) take plain integers / a valid
    // pointer to a local struct and have no memory-safety preconditions.
    unsafe {
        if libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0) != 0 {
            return Some("could not mark the process non-dumpable");
        }
        let zero = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        if libc::setrlimit(libc::RLIMIT_CORE, &zero) != 0 {
            return Some("could not disable core dumps");
        }
    }
    None
}
