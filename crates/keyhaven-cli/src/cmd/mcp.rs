//! `keyhaven mcp-proxy CONN`: the stdio MCP server an MCP client runs for a remote MCP server
//! Keyhaven holds the tokens of (keyhaven-core's `mcp::proxy` does the relaying). Tokens come
//! from the agent when one is unlocked, else from the vault, opened once without prompting:
//! an MCP client has no terminal to type a passphrase in.

use keyhaven_core::mcp::proxy::{self, Token, TokenSource};
use keyhaven_core::tokens::HandOutCache;
use keyhaven_core::tools::{self, TokenReply, ToolQuery};
use keyhaven_core::vault::{HandOutContext, Vault};
use keyhaven_ipc::handout;

use super::Ctx;
use crate::error::CliResult;

/// Arguments of `keyhaven mcp-proxy`.
#[derive(Debug, clap::Args)]
pub struct ProxyArgs {
    /// The MCP server's connection (an id, PROVIDER or PROVIDER:ACCOUNT), made by
    /// `keyhaven connect URL` or a catalog MCP entry (`keyhaven connect notion-mcp`).
    conn: String,
}

/// Runs `keyhaven mcp-proxy`.
pub fn proxy(ctx: &Ctx, args: ProxyArgs) -> CliResult {
    let mut source = Source {
        ctx: Ctx {
            passphrase_file: ctx.passphrase_file.clone(),
        },
        query: ToolQuery {
            tool: "mcp".into(),
            conn: Some(args.conn.clone()),
            ..Default::default()
        },
        direct: None,
    };
    // The first hand-out says where the server is: a connection that is not an MCP server's,
    // or a locked vault, fails here, before the client is told anything.
    let first = source.reply()?;
    let endpoint = first
        .fields
        .get("endpoint")
        .map(|e| e.as_str().to_string())
        .ok_or_else(|| keyhaven_core::Error::BadInput("the hand-out named no endpoint".into()))?;
    let endpoint = keyhaven_core::by_url::check_url(&endpoint)?;
    let opts = proxy::Options {
        endpoint,
        connection_id: first.id.clone(),
        reconnect: first.provider.clone(),
    };
    let primed = Primed {
        first: Some(token_of(&first)),
        inner: source,
    };
    drop(first);
    eprintln!(
        "keyhaven mcp-proxy: {} -> {}",
        opts.connection_id, opts.endpoint
    );
    let stdin = std::io::stdin().lock();
    proxy::run(opts, Box::new(primed), stdin, Box::new(std::io::stdout()))?;
    Ok(())
}

fn token_of(reply: &TokenReply) -> Token {
    Token {
        secret: reply.token.clone(),
        expires_at: reply
            .expires_at
            .as_deref()
            .and_then(keyhaven_helpers::time::unix_of_rfc3339),
    }
}

/// Tokens from the agent, else from the vault (opened on first need and kept).
struct Source {
    ctx: Ctx,
    query: ToolQuery,
    direct: Option<(Vault, HandOutCache)>,
}

impl Source {
    fn open(&mut self) -> CliResult<&mut (Vault, HandOutCache)> {
        if self.direct.is_none() {
            let mut vault = self.ctx.open_vault_no_prompt()?;
            vault.set_hand_out_context(HandOutContext {
                requester: keyhaven_ipc::peer::Requester::this_process(),
                tool: Some("mcp".into()),
            });
            self.direct = Some((vault, HandOutCache::default()));
        }
        Ok(self.direct.as_mut().expect("just opened"))
    }

    fn reply(&mut self) -> CliResult<TokenReply> {
        if self.direct.is_none() {
            match handout::ask_credential(self.query.clone()) {
                Ok(Ok(reply)) => return Ok(reply),
                Ok(Err(f)) => return Err(keyhaven_core::Error::BadInput(f.message).into()),
                Err(unusable) => tracing::debug!(%unusable, "direct path"),
            }
        }
        let q = self.query.clone();
        let (vault, cache) = self.open()?;
        let (reply, unrecorded) = tools::answer(vault, cache, &q)?;
        unrecorded.record(vault)?;
        Ok(reply)
    }

    fn erase(&mut self, token: &str) -> CliResult {
        if self.direct.is_none() {
            match handout::ask_erase(self.query.clone(), zeroize::Zeroizing::new(token.into())) {
                Ok(Ok(_)) => return Ok(()),
                Ok(Err(f)) => return Err(keyhaven_core::Error::BadInput(f.message).into()),
                Err(unusable) => tracing::debug!(%unusable, "direct path"),
            }
        }
        let q = self.query.clone();
        let (vault, cache) = self.open()?;
        let erased = tools::erase(vault, &q, token)?;
        cache.clear();
        if erased == tools::Erased::NotRenewable {
            return Err(keyhaven_core::Error::BadInput(
                "the server refused the token and the connection has no refresh token".into(),
            )
            .into());
        }
        Ok(())
    }
}

/// The proxy's [`TokenSource`]: the first answer (already fetched) first.
struct Primed {
    first: Option<Token>,
    inner: Source,
}

impl TokenSource for Primed {
    fn token(&mut self) -> Result<Token, String> {
        if let Some(t) = self.first.take() {
            return Ok(t);
        }
        self.inner
            .reply()
            .map(|r| token_of(&r))
            .map_err(|e| e.to_string())
    }

    fn refused(&mut self, token: &str) -> Result<Token, String> {
        self.first = None;
        self.inner.erase(token).map_err(|e| e.to_string())?;
        self.inner
            .reply()
            .map(|r| token_of(&r))
            .map_err(|e| e.to_string())
    }
}
