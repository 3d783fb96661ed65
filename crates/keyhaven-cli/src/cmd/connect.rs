//! `keyhaven connect PROVIDER`: sign in through the system browser and wait until the redirect
//! comes back (to this process's loopback port, or via the deep link to another process), then
//! print the new connection's id (or, with --json, the connection).

use std::time::Duration;

use keyhaven_core::catalog::RedirectKind;
use keyhaven_core::flows::{self, ConnectOptions};

use super::{Ctx, RedirectArg, parse_vars, print_json};
use crate::error::CliResult;

/// Arguments of `keyhaven connect`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Provider id (see `keyhaven providers list`), or the https URL of an OAuth-protected API
    /// (an MCP server's endpoint): its authorization server is discovered and Keyhaven
    /// registers itself there when it can (RFC 9728, 8414, 7591, 8707). A catalog MCP entry
    /// (`notion-mcp`) is connected the same way, with no URL.
    provider: String,
    /// Where the browser returns: the dev.keyhaven: deep link, or a loopback port.
    #[arg(long, value_enum)]
    redirect: Option<RedirectArg>,
    /// Scope to request instead of the provider's defaults (repeat for several).
    #[arg(long = "scope", value_name = "S")]
    scopes: Vec<String>,
    /// Template variable, e.g. --var shop=my-store or --var tenant=contoso.onmicrosoft.com.
    #[arg(long = "var", value_name = "NAME=VALUE")]
    vars: Vec<String>,
    /// Seconds to wait for the browser (at most the flow's 10-minute lifetime).
    #[arg(long, default_value_t = 600, value_parser = clap::value_parser!(u64).range(1..=600))]
    timeout: u64,
    /// Use the device flow (RFC 8628): sign in on any device with a short code; nothing needs
    /// to come back to this machine.
    #[arg(long, conflicts_with = "redirect")]
    device: bool,
    /// Print the connection as JSON.
    #[arg(long)]
    json: bool,
}

/// Runs `keyhaven connect`.
pub fn run(ctx: &Ctx, mut args: Args) -> CliResult {
    let vars = parse_vars(&args.vars)?;
    let mut vault = ctx.open_vault()?;
    if let Some(target) = keyhaven_core::by_url::connect_target(&vault, &args.provider)? {
        if args.device {
            return Err(keyhaven_core::Error::BadInput(
                "--device is not available with a URL: the sign-in uses the browser".into(),
            )
            .into());
        }
        let p = keyhaven_core::by_url::prepare(&mut vault, &target, &args.scopes)?;
        eprintln!(
            "{} is guarded by {}; {} client {} (provider {}).",
            p.resource,
            p.issuer,
            if p.registered {
                "Keyhaven registered itself there as"
            } else {
                "reusing Keyhaven's registration,"
            },
            p.client_id,
            p.provider_id
        );
        args.provider = p.provider_id;
    }
    let opts = ConnectOptions {
        redirect: args.redirect.map(RedirectKind::from),
        scopes: args.scopes,
        vars,
    };
    if args.device {
        let auth = flows::device::start_device(&vault, &args.provider, &opts)?;
        // The instructions are for the person: on stdout only when stdout is for people too.
        // With --json, stdout carries the one JSON object and nothing else.
        let say = |line: String| -> CliResult {
            if args.json {
                eprintln!("{line}");
            } else {
                outln!("{line}")?;
            }
            Ok(())
        };
        say(format!("To sign in, open {}", auth.verification_uri))?;
        say(format!("and enter the code: {}", auth.user_code))?;
        if let Some(complete) = &auth.verification_uri_complete {
            say(format!("(or open {complete} directly)"))?;
        }
        let _ = std::io::Write::flush(&mut std::io::stdout());
        let wait = args.timeout.min(auth.expires_in);
        eprintln!(
            "Waiting up to {wait} s for approval (the code expires in {} s)...",
            auth.expires_in
        );
        let conn = flows::device::poll_device(
            &mut vault,
            auth,
            Some(Duration::from_secs(args.timeout)),
            &mut std::thread::sleep,
        )?;
        return finish(conn, args.json);
    }
    let flow = flows::start(&mut vault, &args.provider, &opts)?;
    if flow.redirect_kind == RedirectKind::DeepLink
        && flows::browser::deep_link_handler_registered() == Some(false)
    {
        // SEC-49: the browser will have nowhere to send the result.
        eprintln!(
            "Note: no application is registered for dev.keyhaven: links on this system (install \
             or start the Keyhaven desktop app once), so the browser cannot hand the sign-in \
             back by itself: copy the address it ends on into `keyhaven handle-url -`, or use \
             --redirect loopback where {} allows it.",
            flow.provider_id
        );
    }
    eprintln!("Opening your browser to sign in to {}.", flow.provider_id);
    eprintln!(
        "If it does not open, visit:\n\n  {}\n",
        flow.authorization_url
    );
    if let Err(e) = flows::browser::open(&flow.authorization_url) {
        eprintln!("(Could not open a browser: {e})");
    }
    eprintln!(
        "Waiting for the sign-in to finish (Ctrl-C to cancel). If the browser cannot hand the \
         result back to Keyhaven, copy the address it ends on and run `keyhaven handle-url -` \
         (then paste it)"
    );
    let conn = flows::wait(&mut vault, flow, Duration::from_secs(args.timeout))?;
    finish(conn, args.json)
}

fn finish(conn: keyhaven_core::connections::ConnectionSummary, json: bool) -> CliResult {
    if json {
        print_json(&conn)
    } else {
        outln!("{}", conn.id)?;
        eprintln!("Connected {} as {}.", conn.provider, conn.account);
        Ok(())
    }
}
