//! The one clock of keyhaven-core: Unix seconds, for every expiry, lease, backoff, audit row and
//! flow deadline. One place, so that time can be moved in tests instead of slept through.
//!
//! Tests move it three ways, none reachable in a release build:
//! - unit tests call [`advance`] (per thread, so parallel tests do not see each other's time);
//! - the CLI's integration tests set `KEYHAVEN_TEST_TIME_OFFSET=SECS` for a process, read once,
//!   debug builds only (like `KEYHAVEN_TEST_API_BASE`): a test "waits" for a 3-second token to
//!   expire by running the next command 4 seconds in the future;
//! - a running agent moves its own clock when a test sends it `TestAdvanceClock`
//!   ([`advance_process_clock`]).
//!
//! Not covered, on purpose: request signatures sent to providers (OVHcloud, Exoscale, AWS
//! SigV4 in `credentials::verify`) use the real system time, because the server checks it;
//! `std::time::Instant` deadlines (a wait for the browser) measure real elapsed time.

use time::OffsetDateTime;

/// The environment variable debug builds read to shift the clock (seconds, may be negative).
pub const TEST_OFFSET_ENV: &str = "KEYHAVEN_TEST_TIME_OFFSET";

/// Now, in Unix seconds (UTC).
pub fn now() -> i64 {
    OffsetDateTime::now_utc().unix_timestamp() + offset()
}

/// Now, as a date-time.
pub fn now_datetime() -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(now()).unwrap_or_else(|_| OffsetDateTime::now_utc())
}

fn offset() -> i64 {
    #[cfg(debug_assertions)]
    {
        static ENV: std::sync::OnceLock<i64> = std::sync::OnceLock::new();
        let from_env = *ENV.get_or_init(|| {
            std::env::var(TEST_OFFSET_ENV)
                .ok()
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(0)
        });
        let from_env = from_env + PROCESS_OFFSET.load(std::sync::atomic::Ordering::Relaxed);
        #[cfg(test)]
        return from_env + THREAD_OFFSET.with(|c| c.get());
        #[cfg(not(test))]
        return from_env;
    }
    #[allow(unreachable_code)]
    0
}

/// Debug builds: a process-wide shift on top of the environment's, moved by a running agent
/// when a test asks it to (`TestAdvanceClock` in docs/agent.md): idle lock and hard cap are
/// tested without sleeping.
#[cfg(debug_assertions)]
static PROCESS_OFFSET: std::sync::atomic::AtomicI64 = std::sync::atomic::AtomicI64::new(0);

/// Debug builds only: moves this process's clock forward by `secs`.
#[cfg(debug_assertions)]
pub fn advance_process_clock(secs: i64) {
    PROCESS_OFFSET.fetch_add(secs, std::sync::atomic::Ordering::Relaxed);
}

#[cfg(test)]
thread_local! {
    static THREAD_OFFSET: std::cell::Cell<i64> = const { std::cell::Cell::new(0) };
}

/// Unit tests: moves this thread's clock forward by `secs`.
#[cfg(test)]
pub(crate) fn advance(secs: i64) {
    THREAD_OFFSET.with(|c| c.set(c.get() + secs));
}

#[cfg(test)]
mod tests {
    #[test]
    fn advancing_moves_only_this_threads_clock() {
        let before = super::now();
        super::advance(3600);
        assert!(super::now() >= before + 3600);
        let other = std::thread::spawn(super::now).join().unwrap();
        assert!(other < before + 3600);
    }
}
