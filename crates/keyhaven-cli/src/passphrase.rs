//! Where the CLI gets passphrases: a file named with `--passphrase-file` (or
//! `KEYHAVEN_PASSPHRASE_FILE`), else a hidden prompt when a terminal is attached, else nowhere
//! (core then reports that a passphrase is required). Never from the command line itself: argv is
//! visible to every user of the machine.
//!
//! New passphrases (init, rekey) are asked twice on a terminal and must be at least
//! [`MIN_NEW_LEN`] characters.

use std::io::IsTerminal;
use std::path::PathBuf;

use keyhaven_core::secret::Passphrase;
use keyhaven_core::{Error, PassphrasePurpose, PassphraseSource, Result};
use zeroize::Zeroizing;

/// Shortest passphrase accepted for a new vault or a rekey.
pub const MIN_NEW_LEN: usize = 8;

/// The CLI's passphrase source.
pub struct CliPassphrases {
    /// File holding the passphrase that unlocks the vault (and protects a new one).
    pub file: Option<PathBuf>,
    /// File holding the new passphrase for a rekey.
    pub new_file: Option<PathBuf>,
    /// Never ask on the terminal (the tools' helpers: a prompt under git or kubectl would
    /// hang them, or be invisible): without a file, the vault stays locked.
    pub never_prompt: bool,
}

impl PassphraseSource for CliPassphrases {
    fn passphrase(&mut self, purpose: PassphrasePurpose) -> Result<Option<Passphrase>> {
        let file = match purpose {
            PassphrasePurpose::Rekey => self.new_file.as_ref(),
            _ => self.file.as_ref(),
        };
        let is_new = purpose != PassphrasePurpose::Unlock;
        let pass = match file {
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|e| Error::BadPassphrase {
                    reason: format!("cannot read passphrase file {}: {e}", path.display()),
                })?;
                Passphrase::new(text)?
            }
            None if !self.never_prompt && std::io::stdin().is_terminal() => prompt(purpose)?,
            None => return Ok(None),
        };
        if is_new && pass.expose_secret().chars().count() < MIN_NEW_LEN {
            return Err(Error::BadPassphrase {
                reason: format!("a new passphrase needs at least {MIN_NEW_LEN} characters"),
            });
        }
        Ok(Some(pass))
    }
}

fn prompt(purpose: PassphrasePurpose) -> Result<Passphrase> {
    let ask = |label: &str| -> Result<Zeroizing<String>> {
        rpassword::prompt_password(label)
            .map(Zeroizing::new)
            .map_err(|e| Error::BadPassphrase {
                reason: format!("cannot read from the terminal: {e}"),
            })
    };
    let first = match purpose {
        PassphrasePurpose::Unlock => ask("Vault passphrase: ")?,
        PassphrasePurpose::NewVault => ask("New vault passphrase: ")?,
        PassphrasePurpose::Rekey => ask("New passphrase: ")?,
    };
    if purpose != PassphrasePurpose::Unlock {
        let again = ask("Repeat it: ")?;
        if *again != *first {
            return Err(Error::BadPassphrase {
                reason: "the two entries differ".into(),
            });
        }
    }
    Passphrase::new(first.to_string())
}

/// The passphrase of an encrypted backup (`vault export` / `vault import`): from `file`, else
/// asked on the terminal (twice for a new backup). Not the vault's passphrase: a backup carries
/// its own, so it can be opened on another machine.
pub fn backup_passphrase(file: Option<&PathBuf>, new: bool) -> Result<Passphrase> {
    let pass = match file {
        Some(path) => {
            let text = std::fs::read_to_string(path).map_err(|e| Error::BadPassphrase {
                reason: format!("cannot read passphrase file {}: {e}", path.display()),
            })?;
            Passphrase::new(text)?
        }
        None if std::io::stdin().is_terminal() => {
            let ask = |label: &str| -> Result<Zeroizing<String>> {
                rpassword::prompt_password(label)
                    .map(Zeroizing::new)
                    .map_err(|e| Error::BadPassphrase {
                        reason: format!("cannot read from the terminal: {e}"),
                    })
            };
            let first = ask("Backup passphrase: ")?;
            if new && *ask("Repeat it: ")? != *first {
                return Err(Error::BadPassphrase {
                    reason: "the two entries differ".into(),
                });
            }
            Passphrase::new(first.to_string())?
        }
        None => {
            return Err(Error::BadPassphrase {
                reason: "the backup needs a passphrase: give --backup-passphrase-file FILE, or \
                         run on a terminal to be asked"
                    .into(),
            });
        }
    };
    if new && pass.expose_secret().chars().count() < MIN_NEW_LEN {
        return Err(Error::BadPassphrase {
            reason: format!("a backup passphrase needs at least {MIN_NEW_LEN} characters"),
        });
    }
    Ok(pass)
}
