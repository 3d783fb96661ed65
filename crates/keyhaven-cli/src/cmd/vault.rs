//! `keyhaven vault status|rekey|export|import`: look at the vault itself, change its key, and
//! move everything in and out as an encrypted (age) backup.

use std::path::PathBuf;

use keyhaven_core::vault::{KeySourceInfo, RekeyStep, VaultStatus};

use super::{Ctx, print_json};
use crate::error::CliResult;
use crate::passphrase::backup_passphrase;

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
    /// Write every provider setting and connection to FILE, encrypted with a passphrase in the
    /// age format (`age -d FILE` opens it too). Never overwrites an existing file.
    Export {
        /// The backup file to create.
        file: PathBuf,
        /// Afterwards, stop refreshing the exported OAuth connections here: their refresh
        /// tokens belong to wherever the backup is imported.
        #[arg(long = "move")]
        move_: bool,
        /// Read the backup passphrase from FILE (else asked twice on the terminal).
        #[arg(long, value_name = "FILE", env = "KEYHAVEN_BACKUP_PASSPHRASE_FILE")]
        backup_passphrase_file: Option<PathBuf>,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Merge an encrypted backup into this vault, reporting what was added, updated or skipped.
    /// A damaged file or a wrong passphrase changes nothing.
    Import {
        /// The backup file.
        file: PathBuf,
        /// Read the backup passphrase from FILE (else asked on the terminal).
        #[arg(long, value_name = "FILE", env = "KEYHAVEN_BACKUP_PASSPHRASE_FILE")]
        backup_passphrase_file: Option<PathBuf>,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
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
        VaultCommand::Export {
            file,
            move_,
            backup_passphrase_file,
            json,
        } => {
            let mut vault = ctx.open_vault()?;
            let pass = backup_passphrase(backup_passphrase_file.as_ref(), true)?;
            let report = vault.export_backup(&file, &pass, move_)?;
            if json {
                return print_json(&report);
            }
            println!(
                "Wrote {} provider settings and {} connections to {} (age, passphrase).",
                report.providers,
                report.connections,
                report.path.display()
            );
            if move_ {
                eprintln!(
                    "Marked {} connections as moved: this vault no longer refreshes them.",
                    report.moved.len()
                );
            } else {
                eprintln!(
                    "Note: a refresh token that rotates works in one place only. After importing \
                     this backup elsewhere, whichever vault refreshes first wins and the other \
                     must reconnect; `--move` hands the connections over instead."
                );
            }
            Ok(())
        }
        VaultCommand::Import {
            file,
            backup_passphrase_file,
            json,
        } => {
            let mut vault = ctx.open_vault()?;
            let pass = backup_passphrase(backup_passphrase_file.as_ref(), false)?;
            let report = vault.import_backup(&file, &pass)?;
            if json {
                return print_json(&report);
            }
            for a in &report.added {
                println!("added    {a}");
            }
            for u in &report.updated {
                println!("updated  {u}");
            }
            for (s, why) in &report.skipped {
                println!("skipped  {s} ({why})");
            }
            println!(
                "{} added, {} updated, {} skipped.",
                report.added.len(),
                report.updated.len(),
                report.skipped.len()
            );
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
