//! The CLI's error: a core error, or failing to write the output.
//!
//! Kept separate from core's error so core never learns about exit codes; the mapping to 1 or 2
//! uses core's own classification ([`keyhaven_core::Error::is_bad_input`]).

/// What a command can fail with.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// From keyhaven-core.
    #[error(transparent)]
    Core(#[from] keyhaven_core::Error),
    /// Writing the output failed (e.g. a closed pipe).
    #[error("cannot write output: {0}")]
    Output(#[from] std::io::Error),
    /// The agent answered with a failure (the same message and class the direct path gives).
    #[error("{}", .0.message)]
    Agent(keyhaven_ipc::wire::Failure),
    /// The person declined a confirmation: nothing was changed (exit 1, like apt's "Abort").
    #[error("{0}")]
    Declined(String),
    /// A tool helper already said what went wrong in its protocol's own form: exit with this
    /// code and print nothing more.
    #[error("exit {0}")]
    Spoken(u8),
}

impl CliError {
    /// Whether writing the output failed because its reader closed the pipe: not an error to
    /// report, the command simply ends (as ripgrep and coreutils tools do).
    pub fn is_broken_pipe(&self) -> bool {
        matches!(self, CliError::Output(e) if e.kind() == std::io::ErrorKind::BrokenPipe)
    }

    /// The process exit code for this error.
    pub fn exit_code(&self) -> u8 {
        match self {
            CliError::Core(e) if e.is_bad_input() => 2,
            CliError::Agent(f) => f.exit.max(1),
            CliError::Spoken(code) => *code,
            _ => 1,
        }
    }
}

/// Result of a CLI command.
pub type CliResult<T = ()> = Result<T, CliError>;
