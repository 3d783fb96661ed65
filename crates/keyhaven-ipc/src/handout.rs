//! The hand-out fast path, shared by the front binary and the full CLI: ask the agent of this
//! vault for a token and print it exactly as `keyhaven token` prints one on the direct path.

use std::io::Write;

use crate::client::{self, Unusable};
use zeroize::Zeroizing;

use crate::wire::{DoneReply, Failure, Request, TokenReply, ToolQuery};

/// Asks the agent (at [`crate::paths::socket_path`]) of the vault in the data directory
/// (`KEYHAVEN_HOME` or the platform's) for `conn`'s token. `Err`: use the direct path.
pub fn ask_token(
    conn: &str,
    margin: Option<u64>,
    field: Option<&str>,
    tool: &str,
) -> Result<Result<TokenReply, Failure>, Unusable> {
    if crate::paths::agent_disabled() {
        return Err(Unusable::NoAgent);
    }
    let dir = crate::paths::data_dir().map_err(|_| Unusable::NoAgent)?;
    let request = Request::Token {
        conn: conn.to_string(),
        margin,
        field: field.map(str::to_string),
        tool: Some(tool.to_string()),
        claimed: Some(crate::peer::Requester::this_process()),
    };
    client::token(&crate::paths::socket_path(), &dir, &request)
}

/// Asks the agent for a tool helper's hand-out (`query.tool` names the tool for the audit
/// log). `Err`: use the direct path. Pipelined like [`ask_token`]: the query holds no secret.
pub fn ask_credential(query: ToolQuery) -> Result<Result<TokenReply, Failure>, Unusable> {
    if crate::paths::agent_disabled() {
        return Err(Unusable::NoAgent);
    }
    let dir = crate::paths::data_dir().map_err(|_| Unusable::NoAgent)?;
    let request = Request::Credential {
        query,
        claimed: Some(crate::peer::Requester::this_process()),
    };
    client::token(&crate::paths::socket_path(), &dir, &request)
}

/// Tells the agent a tool was refused with `token` (git's `erase`). Not pipelined: the request
/// carries the token, so it is sent only once the hello proved the agent ours and serving this
/// vault. `Err`: use the direct path.
pub fn ask_erase(
    query: ToolQuery,
    token: Zeroizing<String>,
) -> Result<Result<DoneReply, Failure>, Unusable> {
    if crate::paths::agent_disabled() {
        return Err(Unusable::NoAgent);
    }
    let dir = crate::paths::data_dir().map_err(|_| Unusable::NoAgent)?;
    let agent = client::connect(&crate::paths::socket_path())?;
    if !agent.serves(&dir) {
        return Err(Unusable::OtherVault);
    }
    if agent.hello.locked {
        return Err(Unusable::Locked);
    }
    let request = Request::Erase {
        query,
        token,
        claimed: Some(crate::peer::Requester::this_process()),
    };
    match agent.ask::<DoneReply>(&request, client::REPLY_TIMEOUT)? {
        Err(f) if f.code == crate::wire::codes::LOCKED => Err(Unusable::Locked),
        other => Ok(other),
    }
}

/// Prints a hand-out: the token alone and a newline, or with `json` the object
/// `{token, token_type, expires_at, scopes, id, provider, account}` (pretty, like every
/// `--json` of the CLI).
pub fn print_token(reply: &TokenReply, json: bool) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    if json {
        let value = zeroize::Zeroizing::new(
            serde_json::to_vec_pretty(&serde_json::json!({
                "token": reply.token.as_str(),
                "token_type": reply.token_type,
                "expires_at": reply.expires_at,
                "scopes": reply.scopes,
                "id": reply.id,
                "provider": reply.provider,
                "account": reply.account,
            }))
            .map_err(std::io::Error::other)?,
        );
        out.write_all(&value)?;
    } else {
        out.write_all(reply.token.as_bytes())?;
    }
    out.write_all(b"\n")?;
    out.flush()
}
