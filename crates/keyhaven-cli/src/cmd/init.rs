//! `keyhaven init [--passphrase] [--passphrase-file F]`: create the vault.
//!
//! The default keeps 32 random bytes in the OS keychain. `--passphrase` (or a
//! `--passphrase-file`) chooses passphrase mode explicitly: Keyhaven never falls back to it when
//! the keychain is missing, it says so and mentions this flag instead.

use keyhaven_core::{Actor, DataDir, KeyChoice, Vault};

use super::Ctx;
use crate::error::CliResult;

/// Arguments of `keyhaven init`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Protect the vault with a passphrase (Argon2id) instead of a key in the OS keychain; for
    /// machines without a keychain. Asked on the terminal, or read from --passphrase-file.
    #[arg(long)]
    passphrase: bool,
}

/// Runs `keyhaven init`.
pub fn run(ctx: &Ctx, args: Args) -> CliResult {
    let dir = DataDir::from_env()?;
    let choice = if args.passphrase || ctx.passphrase_file.is_some() {
        KeyChoice::Passphrase
    } else {
        KeyChoice::Keychain
    };
    let vault = Vault::init(&dir, choice, &mut ctx.passphrases(None), Actor::Cli)?;
    let how = match choice {
        KeyChoice::Keychain => "key stored in the OS keychain",
        KeyChoice::Passphrase => "protected by your passphrase",
    };
    outln!("Created the vault at {} ({how}).", vault.path().display())?;
    Ok(())
}
