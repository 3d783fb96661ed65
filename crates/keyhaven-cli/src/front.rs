//! `keyhaven`: the front door. Answers a hand-out from the agent when one serves this vault,
//! and hands every other command line to the full CLI (`keyhaven-main`), unchanged.
//!
//! Why two programs (docs/agent.md, "Why a front binary"): starting the 12 MB program that can
//! open SQLCipher costs ~2 ms before `main` runs (page faults, relocations, libcrypto), more than
//! the agent takes to answer. This one links only keyhaven-ipc, so `keyhaven token CONN` with
//! an agent costs about what `oidc-token` does. It understands exactly the command lines it can
//! answer (`token CONN [--json] [--margin SECS] [--field NAME]`); anything else, any doubt, and
//! every agent problem, goes to `keyhaven-main`, which parses, reports errors and takes the
//! direct path as always. The tools' helpers (`git-credential get`, `kube credential CONN`,
//! `docker-credential-keyhaven get`..., keyhaven-helpers' `Helper::from_args`) are answered
//! here the same way: they run on every git, kubectl and docker call.

// The test harness brings its own `main`.
#![cfg_attr(not(test), no_main)]

use std::ffi::OsString;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;

use keyhaven_helpers::{Helper, Need};
use keyhaven_ipc::handout;

/// Tells `keyhaven-main` the agent was already asked for this hand-out (so it goes straight to
/// the direct path). Removed from the environment by `keyhaven-main` first thing.
const TRIED_ENV: &str = "KEYHAVEN_AGENT_TRIED";

/// The C entry point, not Rust's `fn main`: std's runtime set-up before `main` reads
/// `/proc/self/maps` to place a stack guard (glibc's `pthread_getattr_np` formats and parses the
/// whole map), about 0.1 ms of a ~1.5 ms program. Without it, a stack overflow is a plain
/// SIGSEGV, which this program (no recursion, small frames) never risks. `std::env::args_os`
/// still works: std reads argv from glibc's `.init_array` call.
#[cfg(not(test))]
#[unsafe(no_mangle)]
extern "C" fn main(
    _argc: std::ffi::c_int,
    _argv: *const *const std::ffi::c_char,
) -> std::ffi::c_int {
    // Output is flushed by `print_token` itself: without std's runtime nothing flushes at exit.
    std::ffi::c_int::from(run())
}

/// The exit code: 0, or 1 / 2 as every Keyhaven error (docs/design.md, CLI contract).
#[cfg_attr(test, allow(dead_code))]
fn run() -> u8 {
    let _ = keyhaven_ipc::harden::harden_process();
    let args: Vec<OsString> = std::env::args_os().collect();
    let mut tried = false;
    if let Some(helper) = Helper::from_args(&args) {
        return run_helper(&helper, &args);
    }
    if let Some(token) = TokenLine::parse(&args) {
        tried = true;
        match handout::ask_token(&token.conn, token.margin, token.field.as_deref(), "token") {
            Ok(Ok(reply)) => {
                return match handout::print_token(&reply, token.json) {
                    Ok(()) => 0,
                    Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => 0,
                    Err(e) => {
                        eprintln!("keyhaven: error: cannot write output: {e}");
                        1
                    }
                };
            }
            Ok(Err(failure)) => {
                eprintln!("keyhaven: error: {}", failure.message);
                return failure.exit.max(1);
            }
            Err(_) => {} // The direct path, below.
        }
    }
    exec_main(&args, tried)
}

/// A tool's helper (`keyhaven git-credential get`, `docker-credential-keyhaven get`...): the
/// request parsed and answered here when the agent can; anything the agent cannot answer goes to
/// `keyhaven-main` with the same stdin (what was read is handed over in a memfd), which answers
/// from the vault in the same protocol.
fn run_helper(helper: &Helper, args: &[OsString]) -> u8 {
    let input = if helper.reads_stdin() {
        match keyhaven_helpers::read_input() {
            Ok(i) => i,
            Err(e) => return helper.fail(&format!("cannot read stdin: {e}"), 1),
        }
    } else {
        Default::default()
    };
    let need = match helper.query(&input) {
        Ok(n) => n,
        Err(e) => return helper.fail(&e.message, e.exit),
    };
    match need {
        Need::Done => return 0,
        Need::HandOut(q) => match handout::ask_credential(q.clone()) {
            Ok(Ok(reply)) => {
                return match helper.answer(&reply, &q) {
                    Ok(()) => 0,
                    Err(e) => helper.fail(&e.message, e.exit),
                };
            }
            Ok(Err(f)) if f.code == keyhaven_ipc::wire::codes::NOT_FOUND => {
                return helper.not_found(&f.message);
            }
            Ok(Err(f)) => return helper.fail(&f.message, f.exit),
            Err(_) => {}
        },
        Need::Erase(q, token) => match handout::ask_erase(q, token) {
            Ok(Ok(_)) => return 0,
            Ok(Err(f)) if f.code == keyhaven_ipc::wire::codes::NOT_FOUND => return 0,
            Ok(Err(f)) => return helper.fail(&f.message, f.exit),
            Err(_) => {}
        },
        Need::List => {}
    }
    if helper.reads_stdin()
        && let Err(e) = replace_stdin(&input)
    {
        return helper.fail(&format!("cannot hand the request over: {e}"), 1);
    }
    drop(input);
    exec_main(args, true)
}

/// Makes fd 0 a memfd holding `bytes` (what this process already read from stdin), so
/// `keyhaven-main` reads the same request. Memory only, never a file.
fn replace_stdin(bytes: &[u8]) -> std::io::Result<()> {
    use std::io::{Seek, Write};
    use std::os::fd::{AsRawFd, FromRawFd};
    // SAFETY: a plain syscall; the name is a NUL-terminated literal.
    let fd = unsafe { libc::memfd_create(c"keyhaven-request".as_ptr(), libc::MFD_CLOEXEC) };
    if fd < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: `fd` was just created and is owned by nothing else.
    let mut file = unsafe { std::fs::File::from_raw_fd(fd) };
    file.write_all(bytes)?;
    file.rewind()?;
    // dup2 clears close-on-exec on the new descriptor: fd 0 survives the exec.
    // SAFETY: both descriptors are valid; fd 0 is replaced atomically.
    if unsafe { libc::dup2(file.as_raw_fd(), 0) } < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

/// A `token` command line this program can answer by itself.
struct TokenLine {
    conn: String,
    margin: Option<u64>,
    field: Option<String>,
    json: bool,
}

impl TokenLine {
    /// `keyhaven token CONN [--json] [--margin SECS] [--field NAME]`, in any order, `=` forms
    /// included. `None` for anything else, which the full CLI parses (and explains).
    fn parse(args: &[OsString]) -> Option<TokenLine> {
        let mut it = args.iter().skip(1).map(|a| a.to_str());
        if it.next()?? != "token" {
            return None;
        }
        let (mut conn, mut margin, mut field, mut json) = (None, None, None, false);
        while let Some(arg) = it.next() {
            let arg = arg?;
            let (name, inline) = match arg.split_once('=') {
                Some((n, v)) if n.starts_with("--") => (n, Some(v)),
                _ => (arg, None),
            };
            match name {
                "--json" if inline.is_none() && !json => json = true,
                "--margin" if margin.is_none() => {
                    let v = match inline {
                        Some(v) => v,
                        None => it.next()??,
                    };
                    margin = Some(v.parse().ok()?);
                }
                "--field" if field.is_none() => {
                    let v = match inline {
                        Some(v) => v,
                        None => it.next()??,
                    };
                    if v.is_empty() || v.starts_with('-') {
                        return None;
                    }
                    field = Some(v.to_string());
                }
                _ if !arg.starts_with('-') && conn.is_none() && !arg.is_empty() => {
                    conn = Some(arg.to_string())
                }
                _ => return None,
            }
        }
        Some(TokenLine {
            conn: conn?,
            margin,
            field,
            json,
        })
    }
}

/// Replaces this process with `keyhaven-main` and the same arguments: the one beside this
/// program (a build directory), else the one in `../lib/keyhaven/` (the .deb keeps it out of
/// PATH). Tried by exec, not by stat: a directory may be searchable for exec only.
fn exec_main(args: &[OsString], tried: bool) -> u8 {
    let Some(dir) = std::env::current_exe()
        .ok()
        .and_then(|me| me.parent().map(PathBuf::from))
    else {
        eprintln!("keyhaven: error: cannot locate this program to find keyhaven-main");
        return 1;
    };
    let mut last = None;
    for main in [
        dir.join("keyhaven-main"),
        dir.join("../lib/keyhaven/keyhaven-main"),
    ] {
        let mut cmd = std::process::Command::new(&main);
        cmd.args(args.iter().skip(1));
        if let Some(zero) = args.first() {
            cmd.arg0(zero);
        }
        if tried {
            cmd.env(TRIED_ENV, "1");
        }
        let e = cmd.exec();
        if e.kind() != std::io::ErrorKind::NotFound {
            eprintln!("keyhaven: error: cannot run {}: {e}", main.display());
            return 1;
        }
        last = Some(main);
    }
    eprintln!(
        "keyhaven: error: keyhaven-main is missing (looked beside this program and in \
         ../lib/keyhaven/, last {}); reinstall Keyhaven",
        last.map(|p| p.display().to_string()).unwrap_or_default()
    );
    1
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(line: &[&str]) -> Option<(String, Option<u64>, Option<String>, bool)> {
        let args: Vec<OsString> = std::iter::once("keyhaven")
            .chain(line.iter().copied())
            .map(OsString::from)
            .collect();
        TokenLine::parse(&args).map(|t| (t.conn, t.margin, t.field, t.json))
    }

    #[test]
    fn only_the_token_lines_it_can_answer_are_taken() {
        assert_eq!(
            parse(&["token", "github"]),
            Some(("github".into(), None, None, false))
        );
        assert_eq!(
            parse(&[
                "token",
                "--json",
                "--margin=30",
                "gh:me",
                "--field",
                "token"
            ]),
            Some(("gh:me".into(), Some(30), Some("token".into()), true))
        );
        for other in [
            &["token"][..],
            &["token", "a", "b"],
            &["token", "--help"],
            &["token", "a", "--margin", "soon"],
            &["token", "a", "--margin"],
            &["token", "a", "--json", "--json"],
            &["token", "a", "--passphrase-file", "f"],
            &["list"],
            &[],
        ] {
            assert_eq!(parse(other), None, "{other:?}");
        }
    }
}
