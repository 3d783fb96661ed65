//! The refresh lease (SEC-27): one row per connection in `refresh_leases`, taken in a
//! `BEGIN IMMEDIATE` transaction, so any number of processes and threads agree on who talks to
//! the token endpoint. Refresh and disconnect both take it through [`acquire`], the one loop.
//!
//! A lease lives longer than the request it covers; a holder whose process is gone frees it at
//! once (its pid no longer exists), so a killed `keyhaven refresh` does not block others for the
//! lease's lifetime.

use std::time::{Duration, Instant};

use rusqlite::{OptionalExtension, Transaction, TransactionBehavior, params};

use crate::clock::now;
use crate::error::Result;
use crate::vault::Vault;

/// What the decision step of [`acquire`] says.
pub(super) enum Step<T> {
    /// Finished without the lease (the transaction is committed, then `T` returned).
    Done(T),
    /// Take the lease.
    TakeLease,
}

/// What to do when another holder keeps the lease past the wait.
#[derive(Debug, Clone, Copy)]
pub(super) enum OnWaitLimit {
    /// Give up: `acquire` returns `None`.
    GiveUp,
    /// Take it anyway (disconnect: the holder outlived any request it could be making).
    TakeOver,
}

/// The outcome of [`acquire`].
pub(super) enum Acquired<T> {
    /// The decision step finished.
    Done(T),
    /// The lease is ours for `secs` seconds.
    Taken,
    /// Another live holder kept it past the wait (with [`OnWaitLimit::GiveUp`]).
    Busy,
}

/// Repeats, each time in one immediate transaction: `decide` looks at the row first and may
/// finish; otherwise, unless another live process holds the lease, the lease is taken for
/// `secs` seconds. While another holds it, waits 50 ms and starts over (another holder may
/// commit a result `decide` then finds), up to `wait`.
pub(super) fn acquire<T>(
    vault: &mut Vault,
    conn_id: &str,
    me: &str,
    secs: i64,
    wait: Duration,
    on_limit: OnWaitLimit,
    mut decide: impl FnMut(&Transaction<'_>) -> Result<Step<T>>,
) -> Result<Acquired<T>> {
    let started = Instant::now();
    loop {
        let tx = vault
            .conn_mut()
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        if let Step::Done(t) = decide(&tx)? {
            tx.commit()?;
            return Ok(Acquired::Done(t));
        }
        let held: Option<(String, i64)> = tx
            .query_row(
                "SELECT holder, expires_at FROM refresh_leases WHERE connection_id = ?1",
                [conn_id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        let busy = held.is_some_and(|(h, until)| h != me && until > now() && holder_alive(&h));
        if busy && started.elapsed() < wait {
            tx.commit()?;
            std::thread::sleep(Duration::from_millis(50));
            continue;
        }
        if busy && matches!(on_limit, OnWaitLimit::GiveUp) {
            tx.commit()?;
            return Ok(Acquired::Busy);
        }
        tx.execute(
            "INSERT INTO refresh_leases (connection_id, holder, expires_at) VALUES (?1, ?2, ?3)
             ON CONFLICT (connection_id) DO UPDATE SET holder = ?2, expires_at = ?3",
            params![conn_id, me, now() + secs],
        )?;
        tx.commit()?;
        return Ok(Acquired::Taken);
    }
}

/// Gives the lease back (inside the caller's transaction).
pub(super) fn release(tx: &Transaction<'_>, conn_id: &str, me: &str) -> Result<()> {
    tx.execute(
        "DELETE FROM refresh_leases WHERE connection_id = ?1 AND holder = ?2",
        params![conn_id, me],
    )?;
    Ok(())
}

/// Whether the process that holds a lease still runs. A holder killed mid-refresh would
/// otherwise block every other caller until its lease expires (30 s). Holder ids start with the
/// pid; a pid that no longer exists frees the lease at once. Where that cannot be checked, the
/// holder is presumed alive and the lease expiry decides.
fn holder_alive(holder: &str) -> bool {
    #[cfg(unix)]
    if let Some(pid) = holder.split('-').next().and_then(|p| p.parse::<i32>().ok())
        && pid > 0
    {
        // SAFETY: kill with signal 0 only checks that the process exists; nothing is sent.
        let r = unsafe { libc::kill(pid, 0) };
        return r == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM);
    }
    let _ = holder;
    true
}

/// A random lease holder id for this call.
pub(super) fn holder_id() -> String {
    let mut b = [0u8; 12];
    let _ = getrandom::fill(&mut b);
    format!("{}-{}", std::process::id(), hex::encode(b))
}
