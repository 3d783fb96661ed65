//! `keyhaven vault status|rekey`: look at the vault itself, and change its key.

use std::path::PathBuf;

use keyhaven_core::vault::{KeySourceInfo, RekeyStep, VaultStatus};

use super::{Ctx, print_json};
use crate::error::CliResult;

/// `keyhaven vault ...`
#[derive(Debug, clap::Subcommand)]
pub enum VaultCommand {
    /// Show where the vault is, where its key comes from, its schema, integrity and contents.
    Status {
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Re-encrypt the vault with a new key: a new keychain item, or a new passphrase for a
    /// passphrase vault. Safe to interrupt: the vault always opens afterwards.
    Rekey {
        /// For a passphrase vault: read the new passphrase from FILE (else asked twice on the
        /// terminal).
        #[arg(long, value_name = "FILE")]
        new_passphrase_file: Option<PathBuf>,
    },
}

/// Runs a `keyhaven vault` subcommand.
pub fn run(ctx: &Ctx, cmd: VaultCommand) -> CliResult {
    match cmd {
        VaultCommand::Status { json } => {
            let status = ctx.open_vault()?.status()?;
            if json {
                print_json(&status)
            } else {
                print_status(&status);
                Ok(())
            }
        }
        VaultCommand::Rekey {
            new_passphrase_file,
        } => {
            let mut vault = ctx.open_vault()?;
            let mut passphrases = ctx.passphrases(new_passphrase_file);
            vault.rekey(&mut passphrases, &mut fault_injection)?;
            let status = vault.status()?;
            println!("Re-keyed the vault; {}.", describe_key(&status.key_source));
            Ok(())
        }
    }
}

fn print_status(s: &VaultStatus) {
    let c = &s.counts;
    println!("Vault       {}", s.path.display());
    println!("Key         {}", describe_key(&s.key_source));
    println!(
        "Schema      version {} (this Keyhaven: {})",
        s.schema_version, s.schema_latest
    );
    println!("Integrity   {}", s.integrity);
    println!("Size        {} bytes", s.size_bytes);
    println!("Created     {}", s.created_at);
    println!(
        "Contents    {} connections, {} provider settings, {} pending flows, {} audit events",
        c.connections, c.providers, c.pending_flows, c.audit_events
    );
}

fn describe_key(k: &KeySourceInfo) -> String {
    match k {
        KeySourceInfo::Keychain { service, account } => {
            format!("key in the OS keychain (item {service} / {account})")
        }
        KeySourceInfo::Passphrase {
            kdf,
            m_cost,
            t_cost,
            p_cost,
        } => format!(
            "key derived from your passphrase ({kdf}, {} MiB, {t_cost} passes, {p_cost} lanes)",
            m_cost / 1024
        ),
        _ => "unknown key source".into(),
    }
}

/// Test-only crash hook: with the `fault-injection` feature, `KEYHAVEN_TEST_KILL_AT=rekey:STEP`
/// kills the process with SIGKILL right after STEP, as a power cut would.
#[cfg(feature = "fault-injection")]
fn fault_injection(step: RekeyStep) {
    if std::env::var("KEYHAVEN_TEST_KILL_AT").ok().as_deref()
        == Some(&format!("rekey:{}", step.name()))
    {
        // SAFETY: getpid and kill have no memory-safety preconditions.
        unsafe {
            libc::kill(libc::getpid(), libc::SIGKILL);
        }
    }
}

#[cfg(not(feature = "fault-injection"))]
fn fault_injection(_: RekeyStep) {}
