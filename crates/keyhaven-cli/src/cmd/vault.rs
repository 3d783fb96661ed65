//! `keyhaven vault status|rekey|export|import`: look at the vault itself, change its key, and
//! move everything in and out as an encrypted (age) backup.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;

use keyhaven_core::vault::backup::ImportReport;
use keyhaven_core::vault::{KeySourceInfo, RekeyStep, VaultStatus};

use super::{Ctx, print_json};
use crate::error::{CliError, CliResult};
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
    /// age format (`age -d FILE` opens it too). Never overwrites an existing file. FILE `-`
    /// writes to standard output (not to a terminal, and without --move).
    Export {
        /// The backup file to create, or `-` for standard output.
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
    /// Merge an encrypted backup into this vault, reporting what was added, updated, skipped or
    /// refused. A damaged file or a wrong passphrase changes nothing. On a terminal, what the
    /// import would change is shown first and applied only when you confirm.
    Import {
        /// The backup file.
        file: PathBuf,
        /// Read the backup passphrase from FILE (else asked on the terminal).
        #[arg(long, value_name = "FILE", env = "KEYHAVEN_BACKUP_PASSPHRASE_FILE")]
        backup_passphrase_file: Option<PathBuf>,
        /// Only show what the import would change; change nothing.
        #[arg(long)]
        dry_run: bool,
        /// Apply without asking, even on a terminal.
        #[arg(long, short = 'y')]
        yes: bool,
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
                print_status(&status)?;
                Ok(())
            }
        }
        VaultCommand::Rekey {
            new_passphrase_file,
        } => {
            let mut vault = ctx.open_vault()?;
            let mut passphrases = ctx.passphrases(new_passphrase_file);
            // A rekey needs the vault to itself: an agent of this vault lets go of it first
            // (it locks; the old key it held is useless afterwards anyway).
            let agent_locked = keyhaven_core::agent::start::lock_ours(
                &keyhaven_ipc::paths::socket_path(),
                &keyhaven_core::DataDir::from_env()?,
            );
            vault.rekey(&mut passphrases, &mut fault_injection)?;
            let status = vault.status()?;
            outln!("Re-keyed the vault; {}.", describe_key(&status.key_source))?;
            if agent_locked {
                eprintln!(
                    "keyhaven: note: the agent was locked for the rekey; `keyhaven unlock` \
                     unlocks it with the new key"
                );
            }
            Ok(())
        }
        VaultCommand::Export {
            file,
            move_,
            backup_passphrase_file,
            json,
        } => {
            if file.as_os_str() == "-" {
                return export_to_stdout(ctx, move_, backup_passphrase_file, json);
            }
            let mut vault = ctx.open_vault()?;
            let pass = backup_passphrase(backup_passphrase_file.as_ref(), true)?;
            let report = vault.export_backup(&file, &pass, move_)?;
            if json {
                return print_json(&report);
            }
            outln!(
                "Wrote {} provider settings and {} connections to {} (age, passphrase).",
                report.providers,
                report.connections,
                report.path.display()
            )?;
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
            dry_run,
            yes,
            json,
        } => {
            let mut vault = ctx.open_vault()?;
            let pass = backup_passphrase(backup_passphrase_file.as_ref(), false)?;
            // SEC-40: show what a backup would change before it changes anything.
            let interactive = std::io::stdin().is_terminal() && std::io::stderr().is_terminal();
            if dry_run || (interactive && !yes) {
                let plan = vault.preview_backup_import(&file, &pass)?;
                if dry_run {
                    return print_import(&plan, json, true);
                }
                print_import_to_stderr(&plan);
                if plan.added.is_empty() && plan.updated.is_empty() {
                    eprintln!("Nothing to import.");
                    return Ok(());
                }
                eprint!("Apply these changes? [y/N] ");
                let mut answer = String::new();
                std::io::stdin().read_line(&mut answer)?;
                if !matches!(answer.trim(), "y" | "Y" | "yes" | "YES" | "Yes") {
                    return Err(CliError::Declined(
                        "not imported: nothing was changed".into(),
                    ));
                }
            }
            let report = vault.import_backup(&file, &pass)?;
            print_import(&report, json, false)
        }
    }
}

/// `vault export -`: the encrypted bytes on stdout, the report on stderr (or as JSON there).
fn export_to_stdout(
    ctx: &Ctx,
    move_: bool,
    backup_passphrase_file: Option<PathBuf>,
    json: bool,
) -> CliResult {
    if move_ {
        return Err(keyhaven_core::Error::BadInput(
            "--move needs a file: whether a backup written to standard output reached a safe \
             place cannot be known, and moved connections stop refreshing here"
                .into(),
        )
        .into());
    }
    if std::io::stdout().is_terminal() {
        return Err(keyhaven_core::Error::BadInput(
            "refusing to write an encrypted backup to the terminal; redirect it (`> FILE`) or \
             pipe it"
                .into(),
        )
        .into());
    }
    let mut vault = ctx.open_vault()?;
    let pass = backup_passphrase(backup_passphrase_file.as_ref(), true)?;
    let report = vault.export_backup_to(&mut std::io::stdout().lock(), &pass)?;
    if json {
        eprintln!(
            "{}",
            serde_json::to_string(&report).map_err(std::io::Error::from)?
        );
    } else {
        eprintln!(
            "Wrote {} provider settings and {} connections to standard output (age, passphrase).",
            report.providers, report.connections
        );
    }
    Ok(())
}

/// The import report (or, with `plan`, what an import would do) on stdout.
fn print_import(r: &ImportReport, json: bool, plan: bool) -> CliResult {
    if json {
        return print_json(r);
    }
    let mut out = std::io::stdout().lock();
    write_import(&mut out, r, plan)?;
    Ok(())
}

fn print_import_to_stderr(r: &ImportReport) {
    let _ = write_import(&mut std::io::stderr().lock(), r, true);
}

fn write_import(out: &mut dyn Write, r: &ImportReport, plan: bool) -> std::io::Result<()> {
    let (add, update) = if plan {
        ("would add    ", "would update ")
    } else {
        ("added    ", "updated  ")
    };
    for a in &r.added {
        writeln!(out, "{add}{a}")?;
    }
    for u in &r.updated {
        writeln!(out, "{update}{u}")?;
    }
    for (s, why) in &r.skipped {
        writeln!(out, "skipped  {s} ({why})")?;
    }
    for (s, why) in &r.refused {
        writeln!(out, "refused  {s} ({why})")?;
    }
    writeln!(
        out,
        "{} {}, {} {}, {} skipped, {} refused.",
        r.added.len(),
        if plan { "to add" } else { "added" },
        r.updated.len(),
        if plan { "to update" } else { "updated" },
        r.skipped.len(),
        r.refused.len()
    )
}

fn print_status(s: &VaultStatus) -> CliResult {
    let c = &s.counts;
    outln!("Vault       {}", s.path.display())?;
    outln!("Key         {}", describe_key(&s.key_source))?;
    outln!(
        "Schema      version {} (this Keyhaven: {})",
        s.schema_version,
        s.schema_latest
    )?;
    outln!("Integrity   {}", s.integrity)?;
    outln!("Size        {} bytes", s.size_bytes)?;
    outln!("Created     {}", s.created_at)?;
    outln!(
        "Contents    {} connections, {} provider settings, {} pending flows, {} audit events",
        c.connections,
        c.providers,
        c.pending_flows,
        c.audit_events
    )?;
    Ok(())
}

pub(super) fn describe_key(k: &KeySourceInfo) -> String {
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
