//! The tools' own credential-helper protocols, spoken exactly as each tool expects
//! (docs/tools.md is the reference, with the specifications each follows):
//! - [`git`]: `git credential` helpers (`get`/`store`/`erase`, `key=value` lines);
//! - [`aws`]: AWS `credential_process` JSON;
//! - [`kube`]: kubectl's `ExecCredential`;
//! - [`docker`]: docker-credential-helpers (`get`/`store`/`erase`/`list`/`version`);
//! - [`terraform`]: Terraform / OpenTofu credentials helpers (`get`/`store`/`forget`);
//! - [`cargo`]: cargo's credential-provider protocol (JSON lines, `--cargo-plugin`).
//!
//! This crate turns a tool's request into a [`ToolQuery`] and a [`TokenReply`] into the tool's
//! answer, and nothing else: no vault, no network. Both programs use it: the front binary
//! (`keyhaven`, which asks the agent) and `keyhaven-main` (which opens the vault), so a helper
//! answers byte for byte the same on either path. [`Helper`] is one helper invocation; its
//! methods are the whole flow: [`Helper::query`], then [`Helper::answer`] or
//! [`Helper::fail`].
//!
//! Rules every helper keeps (docs/tools.md, "Every helper"): stdout carries only the protocol;
//! messages go where the protocol says (stderr, except docker, which reads its errors from
//! stdout); nothing prompts; input is bounded ([`MAX_INPUT`]).

pub mod aws;
pub mod cargo;
pub mod docker;
pub mod git;
pub mod kube;
pub mod terraform;
pub mod time;

use std::ffi::OsString;
use std::io::{Read, Write};

pub use keyhaven_ipc::wire::{TokenReply, ToolQuery};
use zeroize::Zeroizing;

pub use time::unix_of_rfc3339;

/// The most a helper reads from stdin: git allows 64 KiB per line; no tool sends more than a few
/// lines. More is refused as bad input, never buffered without bound.
pub const MAX_INPUT: usize = 1024 * 1024;

/// The `keyhaven` version (docker's `version` verb prints it).
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Reads stdin up to [`MAX_INPUT`] + 1 bytes: the caller sees "too long" by the length.
pub fn read_input() -> std::io::Result<Zeroizing<Vec<u8>>> {
    let mut buf = Zeroizing::new(Vec::with_capacity(4096));
    std::io::stdin()
        .lock()
        .take(MAX_INPUT as u64 + 1)
        .read_to_end(&mut buf)?;
    Ok(buf)
}

/// A request the protocol cannot take: the message for the tool, and the exit code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProtoError {
    /// One line, no secret.
    pub message: String,
    /// 2 for bad input (the CLI contract), unless the protocol wants another.
    pub exit: u8,
}

impl ProtoError {
    /// Bad input (exit 2).
    pub fn bad(message: impl Into<String>) -> ProtoError {
        ProtoError {
            message: message.into(),
            exit: 2,
        }
    }
}

/// One helper invocation: which protocol, which verb, and its argument.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Helper {
    /// `keyhaven git-credential get|store|erase` (other verbs are ignored, as git asks).
    Git(git::Verb),
    /// `keyhaven aws credential-process CONN`.
    Aws {
        /// The connection.
        conn: String,
    },
    /// `keyhaven kube credential CONN`.
    Kube {
        /// The connection.
        conn: String,
    },
    /// `keyhaven docker-credential VERB` (or `docker-credential-keyhaven VERB`).
    Docker(docker::Verb),
    /// `keyhaven terraform-credentials VERB HOST` (or `terraform-credentials-keyhaven`).
    Terraform {
        /// The verb.
        verb: terraform::Verb,
        /// The host Terraform names.
        host: String,
    },
}

/// What a helper needs from the vault, or that it is answered without one.
#[derive(Debug)]
pub enum Need {
    /// A hand-out for this query; then [`Helper::answer`].
    HandOut(ToolQuery),
    /// git's `erase`: the token the tool was refused with, to mark stale.
    Erase(ToolQuery, Zeroizing<String>),
    /// docker's `list`: the registries Keyhaven serves (needs the vault, not a token).
    List,
    /// Nothing: the helper's whole answer is already printed (git `store`, docker `version`).
    Done,
}

impl Helper {
    /// The helper a command line names, for the front binary (`args[0]` is the program):
    /// `keyhaven git-credential get`, ..., or `docker-credential-keyhaven get` by the link's
    /// name. `None` for anything else; `keyhaven-main` parses (and explains) those.
    pub fn from_args(args: &[OsString]) -> Option<Helper> {
        let strs: Option<Vec<&str>> = args.iter().map(|a| a.to_str()).collect();
        let strs = strs?;
        let (program, rest) = strs.split_first()?;
        let name = program.rsplit('/').next().unwrap_or(program);
        match (name, rest) {
            ("docker-credential-keyhaven", [verb]) => docker::Verb::parse(verb).map(Helper::Docker),
            ("terraform-credentials-keyhaven", [verb, host]) => Some(Helper::Terraform {
                verb: terraform::Verb::parse(verb)?,
                host: host.to_string(),
            }),
            (_, ["git-credential", verb]) => git::Verb::parse(verb).map(Helper::Git),
            (_, ["aws", "credential-process", conn]) if !conn.starts_with('-') => {
                Some(Helper::Aws {
                    conn: conn.to_string(),
                })
            }
            (_, ["kube", "credential", conn]) if !conn.starts_with('-') => Some(Helper::Kube {
                conn: conn.to_string(),
            }),
            (_, ["docker-credential", verb]) => docker::Verb::parse(verb).map(Helper::Docker),
            (_, ["terraform-credentials", verb, host]) if !host.starts_with('-') => {
                Some(Helper::Terraform {
                    verb: terraform::Verb::parse(verb)?,
                    host: host.to_string(),
                })
            }
            _ => None,
        }
    }

    /// Whether the helper reads stdin (so a caller that hands over to another program keeps
    /// what it read).
    pub fn reads_stdin(&self) -> bool {
        match self {
            Helper::Git(v) => *v != git::Verb::Other,
            Helper::Docker(v) => matches!(
                v,
                docker::Verb::Get | docker::Verb::Store | docker::Verb::Erase
            ),
            Helper::Terraform { verb, .. } => *verb == terraform::Verb::Store,
            Helper::Aws { .. } | Helper::Kube { .. } => false,
        }
    }

    /// The audit log's tool name.
    pub fn tool(&self) -> &'static str {
        match self {
            Helper::Git(_) => "git",
            Helper::Aws { .. } => "aws",
            Helper::Kube { .. } => "kubectl",
            Helper::Docker(_) => "docker",
            Helper::Terraform { .. } => "terraform",
        }
    }

    /// Reads the request (`input`: stdin as read by [`read_input`], empty for helpers that
    /// read none) and says what the vault must provide. Answers that need no vault are printed
    /// here ([`Need::Done`]).
    pub fn query(&self, input: &[u8]) -> Result<Need, ProtoError> {
        if input.len() > MAX_INPUT {
            return Err(ProtoError::bad(format!(
                "the request on stdin is longer than {} KiB",
                MAX_INPUT / 1024
            )));
        }
        match self {
            Helper::Git(verb) => git::query(*verb, input),
            Helper::Aws { conn } => Ok(Need::HandOut(ToolQuery {
                tool: "aws".into(),
                conn: Some(conn.clone()),
                ..Default::default()
            })),
            Helper::Kube { conn } => {
                kube::api_version(std::env::var("KUBERNETES_EXEC_INFO").ok().as_deref())?;
                Ok(Need::HandOut(ToolQuery {
                    tool: "kubectl".into(),
                    conn: Some(conn.clone()),
                    ..Default::default()
                }))
            }
            Helper::Docker(verb) => docker::query(*verb, input),
            Helper::Terraform { verb, host } => terraform::query(*verb, host, input),
        }
    }

    /// Prints the answer to a hand-out for `query` (what [`Helper::query`] returned), in the
    /// tool's format, on stdout.
    pub fn answer(&self, reply: &TokenReply, query: &ToolQuery) -> Result<(), ProtoError> {
        let text: Zeroizing<String> = match self {
            Helper::Git(_) => git::answer(reply)?,
            Helper::Aws { .. } => aws::answer(reply)?,
            Helper::Kube { .. } => {
                let api = kube::api_version(std::env::var("KUBERNETES_EXEC_INFO").ok().as_deref())?;
                kube::answer(reply, &api)?
            }
            Helper::Docker(_) => docker::answer(reply, query.host.as_deref().unwrap_or(""))?,
            Helper::Terraform { .. } => terraform::answer(reply)?,
        };
        write_stdout(text.as_bytes())
    }

    /// The tool's "I have nothing for that" (a host no connection serves): git and Terraform
    /// get no credentials and exit 0 (git asks its next helper), docker gets its exact
    /// "credentials not found in native keychain" on stdout with exit 1; aws and kubectl,
    /// which named a connection, get an error. Returns the exit code.
    pub fn not_found(&self, message: &str) -> u8 {
        match self {
            Helper::Git(_) => 0,
            Helper::Terraform { .. } => match write_stdout(b"{}\n") {
                Ok(()) => 0,
                Err(_) => 1,
            },
            Helper::Docker(_) => {
                let _ = write_stdout(format!("{}\n", docker::NOT_FOUND).as_bytes());
                1
            }
            Helper::Aws { .. } | Helper::Kube { .. } => self.fail(message, 1),
        }
    }

    /// Reports a failure where the protocol wants it (stderr; docker: stdout) and returns the
    /// exit code (at least 1).
    pub fn fail(&self, message: &str, exit: u8) -> u8 {
        match self {
            Helper::Docker(_) => {
                let _ = write_stdout(format!("{message}\n").as_bytes());
            }
            _ => {
                let _ = writeln!(std::io::stderr(), "keyhaven: error: {message}");
            }
        }
        exit.max(1)
    }

    /// The answer to docker's `list`: registry -> username.
    pub fn list(&self, entries: &[(String, String)]) -> Result<(), ProtoError> {
        let map: serde_json::Map<String, serde_json::Value> = entries
            .iter()
            .map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone())))
            .collect();
        let text = serde_json::to_string(&map).map_err(|e| ProtoError::bad(e.to_string()))?;
        write_stdout(format!("{text}\n").as_bytes())
    }
}

/// Writes to stdout and flushes (the front binary runs without std's runtime flushing at exit);
/// a reader that went away is not an error worth a message.
pub(crate) fn write_stdout(bytes: &[u8]) -> Result<(), ProtoError> {
    let mut out = std::io::stdout().lock();
    match out.write_all(bytes).and_then(|()| out.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(ProtoError {
            message: format!("cannot write the answer: {e}"),
            exit: 1,
        }),
    }
}

/// A value that goes into a line-based answer: refused if it could break the line.
pub(crate) fn one_line<'a>(what: &str, v: &'a str) -> Result<&'a str, ProtoError> {
    if v.contains(['\n', '\r', '\0']) {
        return Err(ProtoError {
            message: format!("the {what} holds a line break: it cannot be given to this tool"),
            exit: 1,
        });
    }
    Ok(v)
}

/// A JSON answer, one line, held in zeroized memory (it carries the token). The value borrows
/// the secret (`&str` fields): the output buffer is its only copy.
pub(crate) fn json_secret(v: &impl serde::Serialize) -> Result<Zeroizing<String>, ProtoError> {
    let mut s =
        Zeroizing::new(serde_json::to_string(v).map_err(|e| ProtoError::bad(e.to_string()))?);
    s.push('\n');
    Ok(s)
}

#[cfg(test)]
mod tests;
