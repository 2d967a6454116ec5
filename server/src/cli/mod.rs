//! The `tandem` command line: with no command it serves (every flag of
//! [`Config`]); the commands are the operator's and the curious reader's
//! tools around a store and a running server.
//!
//! | command | file | what |
//! |---|---|---|
//! | `tandem backup DEST` | `backup` | a consistent copy of the SQLite store while the server runs |
//! | `tandem restore SRC` | `backup` | the store replaced by a copy, refused while in use |
//! | `tandem rooms …` | `rooms` | list, export, import and delete documents through a running server's admin API |
//! | `tandem connect URL` | `connect` | a document in the terminal: printed, followed, its frames decoded, edited |
//!
//! Each command prints what it did on stdout and fails with one `error:`
//! line on stderr and exit code 1 (2 for a command line clap refuses).

mod backup;
mod connect;
mod http_client;
mod rooms;
mod socket;

use std::process::ExitCode;
use std::sync::Arc;

use clap::parser::ValueSource;
use clap::{CommandFactory as _, FromArgMatches as _, Parser, Subcommand};

use crate::Config;
use crate::http::ClientBundle;

pub use connect::{ConnectArgs, Target};

/// `tandem [OPTIONS]` serves; `tandem <COMMAND>` runs a command.
#[derive(Debug, Parser)]
#[command(
    name = "tandem",
    version,
    about = "Tandem: real-time collaborative documents",
    args_conflicts_with_subcommands = true,
    subcommand_negates_reqs = true
)]
pub struct Cli {
    /// The server's configuration, when no command is given.
    #[command(flatten)]
    pub config: Config,
    /// The command to run instead of serving.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// What `tandem` can do besides serving.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Write a consistent copy of the SQLite store to DEST, while the server runs
    Backup(backup::BackupArgs),
    /// Replace the SQLite store with a copy `tandem backup` made (refused while a server uses it)
    Restore(backup::RestoreArgs),
    /// List, export, import and delete documents through a running server
    #[command(subcommand)]
    Rooms(rooms::RoomsCommand),
    /// Open a document in the terminal: print it and follow it live, show its frames, or edit it
    Connect(ConnectArgs),
}

impl Cli {
    /// The command line of this process. Serving without `--static-dir`
    /// (flag or `TANDEM_STATIC_DIR`) serves the client built into the
    /// binary, when `cargo xtask dist` put one there.
    pub fn from_env() -> Self {
        let matches = Self::command().get_matches();
        let mut cli = match Self::from_arg_matches(&matches) {
            Ok(cli) => cli,
            Err(err) => err.exit(),
        };
        if matches.value_source("static_dir") == Some(ValueSource::DefaultValue) {
            cli.config.embedded_client = ClientBundle::embedded().map(Arc::new);
        }
        cli
    }
}

impl Command {
    /// Runs the command; its errors are printed as one `error:` line.
    pub async fn run(self) -> ExitCode {
        let outcome = match self {
            Self::Backup(args) => backup::backup(args).await,
            Self::Restore(args) => backup::restore(args).await,
            Self::Rooms(command) => rooms::run(command).await,
            Self::Connect(args) => connect::run(args).await,
        };
        match outcome {
            Ok(code) => code,
            Err(err) => {
                eprintln!("error: {err:#}");
                ExitCode::FAILURE
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_line_is_valid() {
        Cli::command().debug_assert();
    }

    #[test]
    fn no_command_is_the_server_with_its_flags() {
        let cli = Cli::try_parse_from(["tandem", "--listen", "127.0.0.1:9", "--room-idle", "2m"])
            .expect("parse");
        assert!(cli.command.is_none());
        assert_eq!(cli.config.listen.port(), 9);
    }

    #[test]
    fn server_flags_and_a_command_do_not_mix() {
        let err = Cli::try_parse_from(["tandem", "--listen", "127.0.0.1:9", "backup", "x.db"])
            .expect_err("a server flag before a command");
        assert_eq!(err.kind(), clap::error::ErrorKind::ArgumentConflict);
        let cli = Cli::try_parse_from(["tandem", "backup", "x.db", "--data-dir", "d"])
            .expect("a command with its own flags");
        assert!(matches!(cli.command, Some(Command::Backup(_))));
    }
}
