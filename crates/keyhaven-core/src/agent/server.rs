//! The agent's serving side: the state (the vault, or no key at all), the accept loop, one
//! request per connection, and the clock that locks it.
//!
//! Four worker threads accept and serve, one request per connection; a fifth keeps time.
//!
//! Locking drops the [`Vault`]: the SQLCipher connection closes (its key material is freed and
//! wiped, SEC-25) and the key copy the handle kept is zeroized. A locked agent holds no key.

use std::io::{BufRead, BufReader, Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::fs::MetadataExt;
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use keyhaven_ipc::peer::{self, PeerCred, Requester};
use keyhaven_ipc::wire::{
    self, DoneReply, FailedReply, Failure, Hello, PROTOCOL, Request, Status, codes,
};
use zeroize::Zeroizing;

use super::socket::{self, BindError, Bound};
use crate::audit::format_time;
use crate::clock::now;
use crate::error::{Error, Result};
use crate::paths::DataDir;
use crate::secret::Passphrase;
use crate::tokens::{self, TokenOptions};
use crate::vault::{Actor, HandOutContext, Vault};

/// How long the agent waits for a client's request line after its hello.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
/// At most this many clients are being served; more are turned away (they use the direct
/// path).
const MAX_CLIENTS: usize = 64;
/// Threads accepting and serving clients, started once (a thread per client cost ~0.1 ms of a
/// ~1 ms hand-out). Hand-outs are served one at a time on the vault anyway; more threads let
/// hellos, status and lock answer while one waits on a refresh. More clients wait in the
/// listen backlog; one not greeted within a second uses the direct path.
const WORKERS: usize = 4;
/// How often the clock thread looks at idle time, the hard cap and the vault file.
const TICK: Duration = Duration::from_millis(250);

/// When the agent locks and exits.
#[derive(Debug, Clone)]
pub struct AgentConfig {
    /// Lock after this many seconds without a hand-out (re-armed by each one). Default 900.
    pub idle_lock_secs: u64,
    /// Lock this many seconds after an unlock, however busy. Default 43200 (12 h).
    pub hard_cap_secs: u64,
    /// Exit after being locked and unasked this long (`None`: never; the desktop app's agent
    /// lives as long as the app). Default 600 for `keyhaven agent`.
    pub exit_when_locked_secs: Option<u64>,
}

impl Default for AgentConfig {
    fn default() -> Self {
        AgentConfig {
            idle_lock_secs: 15 * 60,
            hard_cap_secs: 12 * 3600,
            exit_when_locked_secs: Some(10 * 60),
        }
    }
}

/// Who runs the agent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Host {
    /// `keyhaven agent` (started by `unlock`, on demand, or by systemd).
    Cli,
    /// The desktop app, while it runs.
    Desktop,
}

/// Why the agent holds no key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockReason {
    /// Never unlocked since it started.
    NotUnlocked,
    /// Idle longer than [`AgentConfig::idle_lock_secs`].
    Idle,
    /// Unlocked longer than [`AgentConfig::hard_cap_secs`].
    HardCap,
    /// `keyhaven lock`, or the desktop app's Lock.
    Asked,
    /// The vault's key changed under it (a rekey by another process).
    KeyChanged,
}

impl LockReason {
    fn as_str(self) -> &'static str {
        match self {
            LockReason::NotUnlocked => "not_unlocked",
            LockReason::Idle => "idle",
            LockReason::HardCap => "hard_cap",
            LockReason::Asked => "asked",
            LockReason::KeyChanged => "key_changed",
        }
    }
}

struct State {
    vault: Option<Vault>,
    /// Recent answers, for a hand-out asked again while nothing changed (tokens::HandOutCache).
    cache: tokens::HandOutCache,
    idle_lock_secs: u64,
    unlocked_at: i64,
    last_used: i64,
    lock_reason: LockReason,
    locked_since: i64,
    last_asked: i64,
}

/// Called when the agent locks by itself or because a client asked (not when the host asked):
/// the desktop app locks its own window then.
type OnLock = Box<dyn Fn(LockReason) + Send + Sync>;

struct Inner {
    dir: DataDir,
    vault_id: String,
    vault_path: String,
    /// The database file's inode when the agent started: another inode is another vault.
    vault_inode: u64,
    config: AgentConfig,
    host: Host,
    started_at: i64,
    state: Mutex<State>,
    /// Mirrors `state.vault.is_none()`, so a hello never waits for a hand-out in progress.
    locked: AtomicBool,
    stop: AtomicBool,
    served: AtomicU64,
    clients: AtomicUsize,
    on_lock: Mutex<Option<OnLock>>,
    bound: Bound,
}

/// A running agent. Dropping it does not stop it; [`Agent::stop`] does.
#[derive(Clone)]
pub struct Agent {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Agent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Agent")
            .field("socket", &self.inner.bound.path)
            .field("vault", &self.inner.vault_path)
            .finish_non_exhaustive()
    }
}

impl Agent {
    /// Binds `socket` for the vault in `dir` and starts serving, locked. `Ok(None)`: another
    /// agent already holds the socket (nothing to do).
    pub fn start(
        dir: &DataDir,
        socket_path: &Path,
        config: AgentConfig,
        host: Host,
    ) -> Result<Option<Agent>> {
        if !Vault::exists(dir) {
            return Err(Error::NotInitialized {
                path: dir.vault_file(),
            });
        }
        let vault_id = keyhaven_ipc::paths::vault_id(dir.path()).ok_or_else(|| Error::Agent {
            reason: format!(
                "cannot read the vault id from {}",
                dir.meta_file().display()
            ),
        })?;
        let canonical = std::fs::canonicalize(dir.vault_file())
            .map_err(|e| Error::io(format!("cannot resolve {}", dir.vault_file().display()), e))?;
        let vault_inode = std::fs::metadata(&canonical).map(|m| m.ino()).unwrap_or(0);
        let bound = match socket::bind(socket_path) {
            Ok(b) => b,
            Err(BindError::Taken) => return Ok(None),
            Err(BindError::Failed(e)) => return Err(e),
        };
        let t = now();
        let inner = Arc::new(Inner {
            dir: dir.clone(),
            vault_id,
            vault_path: canonical.to_string_lossy().into_owned(),
            vault_inode,
            host,
            started_at: t,
            state: Mutex::new(State {
                vault: None,
                cache: tokens::HandOutCache::default(),
                idle_lock_secs: config.idle_lock_secs,
                unlocked_at: 0,
                last_used: t,
                lock_reason: LockReason::NotUnlocked,
                locked_since: t,
                last_asked: t,
            }),
            config,
            locked: AtomicBool::new(true),
            stop: AtomicBool::new(false),
            served: AtomicU64::new(0),
            clients: AtomicUsize::new(0),
            on_lock: Mutex::new(None),
            bound,
        });
        let agent = Agent { inner };
        agent.start_workers()?;
        let clock = agent.clone();
        std::thread::Builder::new()
            .name("agent-clock".into())
            .spawn(move || clock.clock_loop())
            .map_err(|e| Error::io("cannot start the agent", e))?;
        tracing::info!(socket = %socket_path.display(), "agent listening");
        Ok(Some(agent))
    }

    /// Unlocks with the key from the keychain, or a passphrase for a passphrase vault.
    pub fn unlock(&self, passphrase: Option<Passphrase>) -> Result<()> {
        let mut st = self.state();
        if st.vault.is_some() {
            return Ok(());
        }
        let vault = Vault::open(
            &self.inner.dir,
            &mut crate::vault::GivenPassphrase(passphrase),
            Actor::Agent,
        )?;
        self.install(&mut st, vault)
    }

    /// Takes an open vault (the desktop app's, reopened for the agent) as its unlocked state.
    pub fn give(&self, vault: Vault) -> Result<()> {
        let mut st = self.state();
        if st.vault.is_some() {
            return Ok(());
        }
        self.install(&mut st, vault)
    }

    fn install(&self, st: &mut State, vault: Vault) -> Result<()> {
        if vault.vault_id() != self.inner.vault_id {
            self.stop();
            return Err(Error::Agent {
                reason: "the vault was replaced by another one; the agent has stopped".into(),
            });
        }
        vault.lock_key_in_memory();
        let t = now();
        st.vault = Some(vault);
        st.unlocked_at = t;
        st.last_used = t;
        self.inner.locked.store(false, Ordering::SeqCst);
        tracing::info!("agent unlocked");
        Ok(())
    }

    /// Forgets the key now, at the host's request (its hook is not called).
    pub fn lock(&self, reason: LockReason) {
        lock_state(&self.inner, &mut self.state(), reason);
    }

    /// Locks for a reason of the agent's own or a client's, then tells the host (the desktop
    /// app locks its window too). The hook runs after the state is released: it may call back.
    fn lock_and_notify(&self, reason: LockReason) {
        let locked = lock_state(&self.inner, &mut self.state(), reason);
        if locked {
            self.notify(reason);
        }
    }

    fn notify(&self, reason: LockReason) {
        if let Ok(slot) = self.inner.on_lock.lock()
            && let Some(hook) = slot.as_ref()
        {
            hook(reason);
        }
    }

    /// The hook the host runs when the agent locks for any reason but the host's own call.
    pub fn on_lock(&self, hook: impl Fn(LockReason) + Send + Sync + 'static) {
        if let Ok(mut slot) = self.inner.on_lock.lock() {
            *slot = Some(Box::new(hook));
        }
    }

    /// Locks, stops serving and removes the socket.
    pub fn stop(&self) {
        self.inner.stop.store(true, Ordering::SeqCst);
        self.inner.bound.remove();
        if let Ok(mut st) = self.inner.state.try_lock() {
            st.cache.clear();
            st.vault = None;
        }
    }

    /// Whether it holds no key.
    pub fn is_locked(&self) -> bool {
        self.inner.locked.load(Ordering::SeqCst)
    }

    /// Whether it was stopped (or stopped itself).
    pub fn is_stopped(&self) -> bool {
        self.inner.stop.load(Ordering::SeqCst)
    }

    /// Blocks until the agent stops, then closes the vault and removes the socket.
    pub fn wait(self) {
        while !self.is_stopped() {
            std::thread::sleep(TICK);
        }
        // Let a request in progress finish with the vault before it is closed.
        let mut st = self.state();
        st.cache.clear();
        st.vault = None;
    }

    /// The status reply (and `keyhaven agent status`).
    pub fn status(&self) -> Status {
        let st = self.state();
        let unlocked = st.vault.is_some();
        let locks_at = unlocked.then(|| {
            let idle = st.last_used + st.idle_lock_secs as i64;
            let cap = st.unlocked_at + self.inner.config.hard_cap_secs as i64;
            format_time(idle.min(cap))
        });
        Status {
            running: true,
            pid: Some(std::process::id()),
            socket: self.inner.bound.path.display().to_string(),
            vault_id: Some(self.inner.vault_id.clone()),
            vault_path: Some(self.inner.vault_path.clone()),
            this_vault: true,
            locked: !unlocked,
            lock_reason: (!unlocked).then(|| st.lock_reason.as_str().to_string()),
            since: Some(format_time(self.inner.started_at)),
            unlocked_at: unlocked.then(|| format_time(st.unlocked_at)),
            locks_at,
            idle_lock_secs: Some(st.idle_lock_secs),
            hard_cap_secs: Some(self.inner.config.hard_cap_secs),
            host: Some(
                match self.inner.host {
                    Host::Cli => "cli",
                    Host::Desktop => "desktop",
                }
                .into(),
            ),
            protocol: Some(PROTOCOL),
            served: Some(self.inner.served.load(Ordering::Relaxed)),
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // A panic in a request cannot leave the vault half-changed (core writes are
        // transactions): a poisoned lock is taken over.
        self.inner.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Starts the worker threads, each accepting and serving clients itself: the kernel wakes
    /// one waiting `accept` per connection, so no hand-over between threads sits on the path.
    /// The listener's receive timeout makes each `accept` return every [`TICK`], to notice a
    /// stop.
    fn start_workers(&self) -> Result<()> {
        let fd = self.inner.bound.listener.as_raw_fd();
        let tick = libc::timeval {
            tv_sec: 0,
            tv_usec: TICK.as_micros() as libc::suseconds_t,
        };
        // SAFETY: a valid timeval for SO_RCVTIMEO on the listener we own; the kernel copies it.
        unsafe {
            libc::setsockopt(
                fd,
                libc::SOL_SOCKET,
                libc::SO_RCVTIMEO,
                (&tick as *const libc::timeval).cast(),
                std::mem::size_of::<libc::timeval>() as libc::socklen_t,
            );
        }
        for _ in 0..WORKERS {
            let agent = self.clone();
            std::thread::Builder::new()
                .name("agent-worker".into())
                .stack_size(512 * 1024)
                .spawn(move || agent.worker())
                .map_err(|e| Error::io("cannot start the agent", e))?;
        }
        Ok(())
    }

    fn worker(&self) {
        while !self.is_stopped() {
            let stream = match self.inner.bound.listener.accept() {
                Ok((stream, _)) => stream,
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock
                            | std::io::ErrorKind::TimedOut
                            | std::io::ErrorKind::Interrupted
                    ) =>
                {
                    continue;
                }
                Err(e) => {
                    tracing::debug!(error = %e, "accept failed");
                    std::thread::sleep(TICK);
                    continue;
                }
            };
            if self.inner.clients.fetch_add(1, Ordering::SeqCst) < MAX_CLIENTS {
                self.serve(stream);
            }
            self.inner.clients.fetch_sub(1, Ordering::SeqCst);
        }
    }

    fn clock_loop(&self) {
        while !self.is_stopped() {
            std::thread::sleep(TICK);
            if let Some(why) = self.reason_to_exit() {
                tracing::info!(why, "agent exiting");
                self.stop();
                break;
            }
            let st = self.state();
            let t = now();
            if st.vault.is_some() {
                let due = if t - st.last_used >= st.idle_lock_secs as i64 {
                    Some(LockReason::Idle)
                } else if t - st.unlocked_at >= self.inner.config.hard_cap_secs as i64 {
                    Some(LockReason::HardCap)
                } else {
                    None
                };
                drop(st);
                if let Some(reason) = due {
                    self.lock_and_notify(reason);
                }
            } else if let Some(secs) = self.inner.config.exit_when_locked_secs
                && t - st.locked_since.max(st.last_asked) >= secs as i64
            {
                drop(st);
                tracing::info!("agent locked and unasked; exiting");
                self.stop();
            }
        }
    }

    /// The vault file is gone or is another file, or the socket path names another socket:
    /// nobody can be served any more.
    fn reason_to_exit(&self) -> Option<&'static str> {
        match std::fs::metadata(&self.inner.vault_path) {
            Err(_) => return Some("the vault file is gone"),
            Ok(m) if m.ino() != self.inner.vault_inode => {
                return Some("the vault file was replaced");
            }
            Ok(_) => {}
        }
        if !self.inner.bound.still_ours() {
            return Some("the socket was removed or replaced");
        }
        None
    }

    /// One client: check its uid, say hello, answer one request.
    fn serve(&self, stream: UnixStream) {
        let _ = stream.set_write_timeout(Some(REQUEST_TIMEOUT));
        let Some(cred) = peer::peer_cred(&stream) else {
            return;
        };
        if cred.uid != peer::my_uid() {
            self.refuse(&stream, cred);
            return;
        }
        let hello = Hello {
            agent: "keyhaven".into(),
            protocol: PROTOCOL,
            vault_id: self.inner.vault_id.clone(),
            vault_path: self.inner.vault_path.clone(),
            locked: self.inner.locked.load(Ordering::SeqCst),
            pid: std::process::id(),
        };
        if write_line(&stream, &hello).is_err() {
            return;
        }
        let _ = stream.set_read_timeout(Some(REQUEST_TIMEOUT));
        let mut reader = BufReader::new(&stream);
        let mut line = Zeroizing::new(Vec::new());
        let n = reader
            .by_ref()
            .take(wire::MAX_LINE as u64 + 1)
            .read_until(b'\n', &mut line);
        if !matches!(n, Ok(n) if n > 0) || line.last() != Some(&b'\n') {
            return;
        }
        let Ok(request) = serde_json::from_slice::<Request>(&line) else {
            let _ = write_failure(
                &stream,
                codes::BAD_REQUEST,
                "the agent did not understand the request".into(),
                2,
            );
            return;
        };
        drop(line);
        tracing::debug!(?request, pid = cred.pid, "agent request");
        let _ = self.answer(&stream, cred, request);
    }

    fn answer(&self, stream: &UnixStream, cred: PeerCred, request: Request) -> std::io::Result<()> {
        match request {
            Request::Token {
                conn,
                margin,
                field,
                tool,
                claimed,
            } => {
                let tool = tool.unwrap_or_else(|| "token".into());
                self.hand_out(stream, cred, claimed, tool, |vault, cache| {
                    let opts = TokenOptions {
                        margin_secs: margin,
                        field,
                    };
                    let (out, unrecorded) = cache.hand_out(vault, &conn, opts)?;
                    Ok((out.into_reply(), unrecorded))
                })
            }
            Request::Credential { query, claimed } => {
                let tool = query.tool.clone();
                self.hand_out(stream, cred, claimed, tool, |vault, cache| {
                    crate::tools::answer(vault, cache, &query)
                })
            }
            Request::Erase {
                query,
                token,
                claimed,
            } => {
                let ppid = peer::tool_parent_of(cred.pid);
                let mut st = self.state();
                st.last_asked = now();
                let State { vault, cache, .. } = &mut *st;
                let Some(vault) = vault.as_mut() else {
                    return write_failure(stream, codes::LOCKED, "the agent is locked".into(), 1);
                };
                vault.set_hand_out_context(HandOutContext {
                    requester: Requester::of_peer(cred.pid, ppid, claimed.as_ref()),
                    tool: Some(query.tool.clone()),
                });
                let result = crate::tools::erase(vault, &query, &token);
                // Its own commit does not move `data_version`: forget the answers by hand.
                cache.clear();
                drop(st);
                match result {
                    Ok(_) => write_line(stream, &DoneReply { done: true }),
                    Err(e) => write_error(stream, &e),
                }
            }
            Request::Status => write_line(stream, &self.status()),
            Request::Lock => {
                self.lock_and_notify(LockReason::Asked);
                write_line(stream, &DoneReply { done: true })
            }
            Request::Unlock {
                passphrase,
                idle_secs,
            } => {
                let passphrase = match passphrase.map(|p| Passphrase::new(p.to_string())) {
                    None => None,
                    Some(Ok(p)) => Some(p),
                    Some(Err(e)) => return write_error(stream, &e),
                };
                match self.unlock(passphrase) {
                    Ok(()) => {
                        if let Some(secs) = idle_secs {
                            let mut st = self.state();
                            st.idle_lock_secs = secs.max(1);
                            st.last_used = now();
                        }
                        write_line(stream, &DoneReply { done: true })
                    }
                    Err(e) => write_error(stream, &e),
                }
            }
            Request::Shutdown => {
                self.lock_and_notify(LockReason::Asked);
                self.stop();
                write_line(stream, &DoneReply { done: true })
            }
            Request::TestAdvanceClock { secs } => {
                #[cfg(debug_assertions)]
                {
                    crate::clock::advance_process_clock(secs);
                    write_line(stream, &DoneReply { done: true })
                }
                #[cfg(not(debug_assertions))]
                {
                    let _ = secs;
                    write_failure(
                        stream,
                        codes::BAD_REQUEST,
                        "test requests are not served by release builds".into(),
                        2,
                    )
                }
            }
        }
    }

    /// A hand-out (`token`, or a tool's credential): `ask` finds the answer (from the cache
    /// when it can); the reply goes first, the audit row right after, still holding the vault
    /// so no other request is served before it is written (docs/agent.md).
    fn hand_out(
        &self,
        stream: &UnixStream,
        cred: PeerCred,
        claimed: Option<Requester>,
        tool: String,
        ask: impl FnOnce(
            &mut crate::vault::Vault,
            &mut tokens::HandOutCache,
        )
            -> crate::error::Result<(keyhaven_ipc::wire::TokenReply, tokens::Unrecorded)>,
    ) -> std::io::Result<()> {
        // The asking process's parent, read while the client is surely still there; the
        // program names are read after the reply (the audit row is written then).
        let ppid = peer::tool_parent_of(cred.pid);
        let mut st = self.state();
        st.last_asked = now();
        let State { vault, cache, .. } = &mut *st;
        let Some(vault) = vault.as_mut() else {
            return write_failure(stream, codes::LOCKED, "the agent is locked".into(), 1);
        };
        match ask(vault, cache) {
            Ok((reply, unrecorded)) => {
                let sent = write_line(stream, &reply);
                drop(reply);
                vault.set_hand_out_context(HandOutContext {
                    requester: Requester::of_peer(cred.pid, ppid, claimed.as_ref()),
                    tool: Some(tool),
                });
                if let Err(e) = unrecorded.record(vault) {
                    tracing::warn!(error = %e, "could not record a hand-out");
                }
                st.last_used = now();
                drop(st);
                self.inner.served.fetch_add(1, Ordering::Relaxed);
                sent
            }
            // The key no longer opens the file (a rekey elsewhere): lock, and let the client
            // open the vault itself.
            Err(e) if matches!(e, Error::Corrupt { .. } | Error::Database(_)) => {
                tracing::warn!(error = %e, "agent's vault handle failed; locking");
                let locked = lock_state(&self.inner, &mut st, LockReason::KeyChanged);
                drop(st);
                if locked {
                    self.notify(LockReason::KeyChanged);
                }
                write_failure(stream, codes::LOCKED, "the agent is locked".into(), 1)
            }
            Err(e) => {
                drop(st);
                write_error(stream, &e)
            }
        }
    }

    /// A peer of another uid: refused before it learns anything, and audited when the vault
    /// is open (SEC-50).
    fn refuse(&self, stream: &UnixStream, cred: PeerCred) {
        let program = peer::program_of(cred.pid).unwrap_or_else(|| "unknown program".into());
        tracing::warn!(
            uid = cred.uid,
            pid = cred.pid,
            program,
            "refused an agent client of another user"
        );
        let _ = write_failure(
            stream,
            codes::FORBIDDEN,
            "this agent serves only its own user".into(),
            1,
        );
        let st = self.state();
        if let Some(vault) = st.vault.as_ref() {
            let detail = format!("uid {} pid {} {}", cred.uid, cred.pid, program);
            if let Err(e) = crate::audit::record(vault, None, "agent.refused", Some(&detail)) {
                tracing::warn!(error = %e, "could not audit a refused agent client");
            }
        }
    }
}

/// Drops the vault (closing SQLCipher, zeroizing the key); true when it was unlocked.
fn lock_state(inner: &Inner, st: &mut State, reason: LockReason) -> bool {
    st.cache.clear();
    if st.vault.take().is_none() {
        return false;
    }
    let t = now();
    st.lock_reason = reason;
    st.locked_since = t;
    st.last_asked = t;
    inner.locked.store(true, Ordering::SeqCst);
    tracing::info!(reason = reason.as_str(), "agent locked");
    true
}

/// Writes one JSON line from zeroized memory (replies carry tokens).
fn write_line<T: serde::Serialize>(stream: &UnixStream, value: &T) -> std::io::Result<()> {
    let mut buf = Zeroizing::new(serde_json::to_vec(value).map_err(std::io::Error::other)?);
    buf.push(b'\n');
    (&*stream).write_all(&buf)
}

fn write_failure(
    stream: &UnixStream,
    code: &str,
    message: String,
    exit: u8,
) -> std::io::Result<()> {
    write_line(
        stream,
        &FailedReply {
            error: Failure {
                code: code.into(),
                message,
                exit,
            },
        },
    )
}

/// A core error, with the code and exit class the direct path would have used.
fn write_error(stream: &UnixStream, e: &Error) -> std::io::Result<()> {
    write_failure(
        stream,
        e.code(),
        e.to_string(),
        if e.is_bad_input() { 2 } else { 1 },
    )
}
