//! The agent's listening socket: a directory of the user's own, one agent per socket path, a
//! stale socket file replaced, the socket readable and writable by its owner only (SEC-50).
//!
//! Exactly one agent per path: a lock file beside the socket (`agent.sock.lock`) is held with
//! `flock` for the agent's whole life, so two agents started at once (two `keyhaven token` in
//! parallel, each starting one on demand) cannot both bind; the loser exits quietly. With the
//! lock held, a socket file that is there belongs to a dead agent and is removed. Under systemd
//! socket activation (the .deb's `keyhaven-agent.socket`) the listening socket is systemd's.

use std::fs;
use std::os::fd::AsRawFd;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// A bound socket and the lock that makes it ours.
#[derive(Debug)]
pub(crate) struct Bound {
    pub listener: UnixListener,
    pub path: PathBuf,
    /// The socket file's inode: when the path stops naming it (deleted, replaced), the agent
    /// exits rather than serve nobody.
    pub inode: u64,
    /// Handed over by systemd (socket activation): the socket file is systemd's to remove.
    activated: bool,
    _lock: fs::File,
}

/// Why no socket was bound.
#[derive(Debug)]
pub(crate) enum BindError {
    /// Another agent holds this path.
    Taken,
    /// Anything else (unsafe directory, permissions).
    Failed(Error),
}

/// Prepares the directory and binds `path`.
pub(crate) fn bind(path: &Path) -> std::result::Result<Bound, BindError> {
    let fail = |reason: String| BindError::Failed(Error::Agent { reason });
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .ok_or_else(|| fail(format!("{} has no directory", path.display())))?;
    if !dir.exists() {
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(|e| fail(format!("cannot create {}: {e}", dir.display())))?;
    }
    check_private_dir(dir).map_err(BindError::Failed)?;
    let lock_path = PathBuf::from(format!("{}.lock", path.display()));
    let lock = fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .mode(0o600)
        .open(&lock_path)
        .map_err(|e| fail(format!("cannot open {}: {e}", lock_path.display())))?;
    // SAFETY: flock on a file descriptor we own; no memory is involved.
    if unsafe { libc::flock(lock.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } != 0 {
        return Err(BindError::Taken);
    }
    if let Some(listener) = from_systemd() {
        let inode = fs::metadata(path).map(|m| m.ino()).unwrap_or(0);
        return Ok(Bound {
            listener,
            path: path.to_path_buf(),
            inode,
            activated: true,
            _lock: lock,
        });
    }
    // We hold the lock: any socket file here is a dead agent's.
    let _ = fs::remove_file(path);
    let listener = UnixListener::bind(path)
        .map_err(|e| fail(format!("cannot listen on {}: {e}", path.display())))?;
    fs::set_permissions(path, fs::Permissions::from_mode(0o600))
        .map_err(|e| fail(format!("cannot restrict {}: {e}", path.display())))?;
    let inode = fs::metadata(path).map(|m| m.ino()).unwrap_or(0);
    Ok(Bound {
        listener,
        path: path.to_path_buf(),
        inode,
        activated: false,
        _lock: lock,
    })
}

/// The listening socket systemd passed (`keyhaven-agent.socket`, sd_listen_fds(3)): fd 3 when
/// `LISTEN_PID` is this process and `LISTEN_FDS` is at least 1.
fn from_systemd() -> Option<UnixListener> {
    use std::os::fd::FromRawFd;
    let pid: u32 = std::env::var("LISTEN_PID").ok()?.parse().ok()?;
    let fds: u32 = std::env::var("LISTEN_FDS").ok()?.parse().ok()?;
    if pid != std::process::id() || fds < 1 {
        return None;
    }
    // SAFETY: systemd passed fd 3 to this process (LISTEN_PID) as a listening socket; nothing
    // else in the process owns it. It is marked close-on-exec so no child inherits it.
    unsafe {
        libc::fcntl(3, libc::F_SETFD, libc::FD_CLOEXEC);
        Some(UnixListener::from_raw_fd(3))
    }
}

impl Bound {
    /// Whether the path still names this socket.
    pub fn still_ours(&self) -> bool {
        fs::symlink_metadata(&self.path).is_ok_and(|m| m.ino() == self.inode)
    }
}

impl Bound {
    /// Removes the socket file (not systemd's), so clients find no agent rather than one that
    /// is going away.
    pub fn remove(&self) {
        if !self.activated && self.still_ours() {
            let _ = fs::remove_file(&self.path);
        }
    }
}

impl Drop for Bound {
    fn drop(&mut self) {
        self.remove();
    }
}

/// The socket's directory must be the user's own and closed to everyone else: otherwise
/// another user could replace the socket between our checks and a client's connect.
fn check_private_dir(dir: &Path) -> Result<()> {
    let meta = fs::symlink_metadata(dir).map_err(|e| Error::Agent {
        reason: format!("cannot inspect {}: {e}", dir.display()),
    })?;
    let me = keyhaven_ipc::peer::my_uid();
    if !meta.is_dir() || meta.uid() != me {
        return Err(Error::Agent {
            reason: format!(
                "{} is not a directory of this user's own; the agent will not listen there",
                dir.display()
            ),
        });
    }
    if meta.mode() & 0o077 != 0 {
        return Err(Error::Agent {
            reason: format!(
                "{} is open to other users (mode {:o}); make it 0700 (chmod 700) or choose \
                 another KEYHAVEN_AGENT_SOCK",
                dir.display(),
                meta.mode() & 0o777
            ),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_agent_per_path_and_a_stale_socket_is_replaced() {
        let tmp = tempfile::tempdir().unwrap();
        let sock = tmp.path().join("run/agent.sock");
        let first = bind(&sock).unwrap();
        assert_eq!(
            fs::metadata(sock.parent().unwrap()).unwrap().mode() & 0o777,
            0o700
        );
        assert_eq!(fs::metadata(&sock).unwrap().mode() & 0o777, 0o600);
        assert!(matches!(bind(&sock), Err(BindError::Taken)));
        // A dead agent's socket file (its lock released) is replaced.
        let listener = first.listener.try_clone().unwrap();
        std::mem::forget(listener);
        drop(first);
        drop(UnixListener::bind(&sock).unwrap());
        let again = bind(&sock).unwrap();
        assert!(again.still_ours());
    }

    #[test]
    fn a_directory_open_to_others_is_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("open");
        fs::create_dir(&dir).unwrap();
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o755)).unwrap();
        let Err(BindError::Failed(e)) = bind(&dir.join("agent.sock")) else {
            panic!("bound in an open directory");
        };
        assert!(e.to_string().contains("open to other users"), "{e}");
    }
}
