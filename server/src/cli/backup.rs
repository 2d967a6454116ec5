//! `tandem backup DEST` and `tandem restore SRC`: the SQLite store copied
//! while the server runs, and put back while it does not. How, and what "in
//! use" means, is `store::backup`'s doc. A PostgreSQL store is copied with
//! PostgreSQL's own tools (docs/DEPLOYMENT.md, "Backups"); these commands
//! say so rather than guess.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::Args;

use crate::access::SECRET_FILE;
use crate::config::StoreKind;
use crate::store::DB_FILE;
use crate::store::backup::{self, CopyReport};

/// `tandem backup`.
#[derive(Debug, Args)]
pub struct BackupArgs {
    /// The file to write (refused if it exists, unless --force)
    pub dest: PathBuf,
    /// The server's data directory, holding tandem.db
    #[arg(long, env = "TANDEM_DATA_DIR", default_value = "data")]
    pub data_dir: PathBuf,
    /// The server's store; only `sqlite` is copied by this command
    #[arg(long, env = "TANDEM_STORE", value_enum, default_value_t = StoreKind::Sqlite)]
    pub store: StoreKind,
    /// Replace DEST if it exists
    #[arg(long)]
    pub force: bool,
}

/// `tandem restore`.
#[derive(Debug, Args)]
pub struct RestoreArgs {
    /// A file `tandem backup` wrote
    pub src: PathBuf,
    /// The data directory to restore into (created if missing)
    #[arg(long, env = "TANDEM_DATA_DIR", default_value = "data")]
    pub data_dir: PathBuf,
    /// The server's store; only `sqlite` is restored by this command
    #[arg(long, env = "TANDEM_STORE", value_enum, default_value_t = StoreKind::Sqlite)]
    pub store: StoreKind,
    /// Replace a store that holds rooms (it is kept beside the new one)
    #[arg(long)]
    pub force: bool,
}

/// What to use instead for a store these commands do not copy.
fn only_sqlite(store: StoreKind, verb: &str) -> anyhow::Result<()> {
    match store {
        StoreKind::Sqlite => Ok(()),
        StoreKind::Postgres => anyhow::bail!(
            "`tandem {verb}` copies the SQLite store; {verb} a PostgreSQL store with \
             pg_dump --format=custom / pg_restore (docs/DEPLOYMENT.md, \"Backups\")"
        ),
        StoreKind::Memory => anyhow::bail!("the memory store keeps nothing to {verb}"),
    }
}

/// Copies the store of `--data-dir` to DEST.
pub(super) async fn backup(args: BackupArgs) -> anyhow::Result<ExitCode> {
    only_sqlite(args.store, "backup")?;
    let (data_dir, dest) = (args.data_dir.clone(), args.dest.clone());
    let report = tokio::task::spawn_blocking(move || backup::backup(&data_dir, &dest, args.force))
        .await
        .context("the backup task failed")??;
    println!(
        "backed up {} to {}: {}",
        args.data_dir.join(DB_FILE).display(),
        args.dest.display(),
        summary(&report)
    );
    let secret = args.data_dir.join(SECRET_FILE);
    if secret.is_file() {
        println!(
            "share links also need {} (it never changes): keep a copy of it once",
            secret.display()
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// Replaces the store of `--data-dir` with SRC.
pub(super) async fn restore(args: RestoreArgs) -> anyhow::Result<ExitCode> {
    only_sqlite(args.store, "restore")?;
    let (data_dir, src) = (args.data_dir.clone(), args.src.clone());
    let report = tokio::task::spawn_blocking(move || backup::restore(&data_dir, &src, args.force))
        .await
        .context("the restore task failed")??;
    println!(
        "restored {} into {}: {}",
        args.src.display(),
        args.data_dir.join(DB_FILE).display(),
        summary(&report)
    );
    if let Some(aside) = &report.replaced {
        println!("the store that was there is kept as {}", aside.display());
    }
    if !args.data_dir.join(SECRET_FILE).is_file() {
        println!(
            "{} has no {SECRET_FILE}: share links made before the backup work once the old \
             server's {SECRET_FILE} is copied there (or the server runs with its --secret)",
            args.data_dir.display()
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// `12 room(s), 40 version(s), 1.2 MB`.
fn summary(report: &CopyReport) -> String {
    format!(
        "{} room(s), {} version(s), {}",
        report.rooms,
        report.versions,
        super::rooms::human_bytes(report.bytes)
    )
}
