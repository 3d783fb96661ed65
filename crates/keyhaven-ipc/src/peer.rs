//! Who is at the other end of a UNIX socket, as the kernel says (not as the peer claims).
//!
//! `SO_PEERCRED` gives the pid, uid and gid the peer had when it connected; the agent refuses
//! any uid but its own (SEC-50) and the client refuses an agent of another uid (a socket path
//! someone else made). The program names come from `/proc/PID/exe` and `/proc/PID/stat`: a
//! signal for the audit log ("which program took my token"), not an authentication, since a
//! same-uid process can exec whatever it likes.

use std::os::fd::AsRawFd;

/// The credentials of a socket's peer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PeerCred {
    /// Process id at connect time.
    pub pid: u32,
    /// Real user id.
    pub uid: u32,
    /// Real group id.
    pub gid: u32,
}

/// This process's real uid.
pub fn my_uid() -> u32 {
    // SAFETY: getuid has no preconditions and cannot fail.
    unsafe { libc::getuid() }
}

/// The peer's credentials (`SO_PEERCRED`), or `None` when the socket has none (not connected).
pub fn peer_cred(sock: &impl AsRawFd) -> Option<PeerCred> {
    let mut cred = libc::ucred {
        pid: 0,
        uid: 0,
        gid: 0,
    };
    let mut len = std::mem::size_of::<libc::ucred>() as libc::socklen_t;
    // SAFETY: `cred` and `len` are valid for writes of the sizes passed; the fd is borrowed
    // from a live socket for the duration of the call.
    let rc = unsafe {
        libc::getsockopt(
            sock.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_PEERCRED,
            (&mut cred as *mut libc::ucred).cast(),
            &mut len,
        )
    };
    (rc == 0 && cred.pid > 0).then_some(PeerCred {
        pid: cred.pid as u32,
        uid: cred.uid,
        gid: cred.gid,
    })
}

/// The executable of process `pid` (`/proc/PID/exe`), when readable.
pub fn program_of(pid: u32) -> Option<String> {
    std::fs::read_link(format!("/proc/{pid}/exe"))
        .ok()
        .map(|p| p.to_string_lossy().into_owned())
}

/// The parent process id of `pid` (field 4 of `/proc/PID/stat`).
pub fn parent_of(pid: u32) -> Option<u32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) is in parentheses and may contain spaces or ')'.
    let after = &stat[stat.rfind(')')? + 1..];
    after.split_whitespace().nth(1)?.parse().ok()
}

/// The process that stands for the tool behind `pid`: its parent, or, when the parent is a
/// shell running one `-c` command line (git runs its credential helpers through `sh -c`), the
/// shell's parent (at most two such shells are skipped). What the audit log names as the
/// requesting program's parent: `git-remote-https`, not `/usr/bin/dash`.
pub fn tool_parent_of(pid: u32) -> Option<u32> {
    let mut p = parent_of(pid)?;
    for _ in 0..2 {
        if !is_shell_wrapper(p) {
            break;
        }
        match parent_of(p) {
            Some(pp) if pp > 1 => p = pp,
            _ => break,
        }
    }
    Some(p)
}

/// Whether `pid` is `sh -c '...'` (or bash, dash, zsh...).
fn is_shell_wrapper(pid: u32) -> bool {
    let Some(exe) = program_of(pid) else {
        return false;
    };
    let name = exe.rsplit('/').next().unwrap_or("");
    if !matches!(
        name,
        "sh" | "dash" | "bash" | "zsh" | "ksh" | "mksh" | "ash" | "busybox"
    ) {
        return false;
    }
    std::fs::read(format!("/proc/{pid}/cmdline"))
        .is_ok_and(|c| c.split(|b| *b == 0).nth(1) == Some(b"-c".as_slice()))
}

/// Who asked for a hand-out: the asking process and its parent (the tool behind a helper:
/// `git` behind `keyhaven git-credential`, a script behind `keyhaven token`).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Requester {
    /// Process id of the asking process.
    pub pid: Option<u32>,
    /// Its executable.
    pub program: Option<String>,
    /// Its parent's executable.
    pub parent_program: Option<String>,
}

impl Requester {
    /// The process `pid` and its parent, as `/proc` shows them now.
    pub fn of_pid(pid: u32) -> Requester {
        Requester {
            pid: Some(pid),
            program: program_of(pid),
            parent_program: tool_parent_of(pid).and_then(program_of),
        }
    }

    /// What `/proc` says about `pid` (whose parent is `ppid`, read earlier), completed by what
    /// the client said about itself where `/proc` is closed (a non-dumpable client's own exe,
    /// or a client that has exited already).
    pub fn of_peer(pid: u32, ppid: Option<u32>, claimed: Option<&Requester>) -> Requester {
        let mut seen = Requester {
            pid: Some(pid),
            program: program_of(pid),
            parent_program: ppid.and_then(program_of),
        };
        if let Some(claimed) = claimed {
            if seen.program.is_none() {
                seen.program = claimed.program.clone();
            }
            if seen.parent_program.is_none() {
                seen.parent_program = claimed.parent_program.clone();
            }
        }
        seen
    }

    /// This process and its parent (the direct path: keyhaven itself asked).
    pub fn this_process() -> Requester {
        Self::of_pid(std::process::id())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_socket_pair_reports_this_process_and_parent() {
        let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
        let cred = peer_cred(&a).unwrap();
        assert_eq!(cred.pid, std::process::id());
        assert_eq!(cred.uid, my_uid());
        let me = Requester::this_process();
        assert_eq!(me.pid, Some(std::process::id()));
        assert_eq!(
            me.program.as_deref(),
            std::env::current_exe()
                .ok()
                .as_deref()
                .and_then(|p| p.to_str())
        );
        // SAFETY: getppid has no preconditions.
        let ppid = unsafe { libc::getppid() } as u32;
        assert_eq!(parent_of(std::process::id()), Some(ppid));
    }
}
