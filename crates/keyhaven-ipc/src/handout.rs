//! The hand-out fast path, shared by the front binary and the full CLI: ask the agent of this
//! vault for a token and print it exactly as `keyhaven token` prints one on the direct path.

use std::io::Write;

use crate::client::{self, Unusable};
use crate::wire::{Failure, Request, TokenReply};

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
