//! Server configuration: every option is a command-line flag and a `TANDEM_*`
//! environment variable (`tandem --help` lists them all).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, ValueEnum};

/// How the server runs. Build one with [`Config::parse`] in `main`, or
/// [`Config::default`] and field updates in tests.
#[derive(Debug, Clone, Parser)]
#[command(
    name = "tandem",
    version,
    about = "Tandem: real-time collaborative documents"
)]
pub struct Config {
    /// Address to listen on for HTTP and WebSocket.
    #[arg(long, env = "TANDEM_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,

    /// Directory holding the database (created if missing).
    #[arg(long, env = "TANDEM_DATA_DIR", default_value = "data")]
    pub data_dir: PathBuf,

    /// Where documents are stored: `sqlite` (durable, in the data directory)
    /// or `memory` (lost on exit; for trying things out).
    #[arg(long, env = "TANDEM_STORE", value_enum, default_value_t = StoreKind::Sqlite)]
    pub store: StoreKind,

    /// Directory of the built web client (`trunk build` output).
    #[arg(long, env = "TANDEM_STATIC_DIR", default_value = "dist")]
    pub static_dir: PathBuf,

    /// Log filter, in `RUST_LOG` syntax (`RUST_LOG` itself wins when set).
    #[arg(long, env = "TANDEM_LOG", default_value = "info")]
    pub log: String,

    /// Log line format.
    #[arg(long, env = "TANDEM_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,

    /// Interval between the server's WebSocket pings; a connection silent for
    /// two intervals is closed (4003).
    #[arg(long, env = "TANDEM_HEARTBEAT", value_parser = humantime::parse_duration, default_value = "30s")]
    pub heartbeat: Duration,

    /// A room with no connections for this long is flushed and unloaded from memory.
    #[arg(long, env = "TANDEM_ROOM_IDLE", value_parser = humantime::parse_duration, default_value = "30s")]
    pub room_idle: Duration,

    /// Compact a room's log into a snapshot once it holds this many updates.
    #[arg(long, env = "TANDEM_COMPACT_UPDATES", default_value_t = 10_000)]
    pub compact_updates: u64,

    /// Compact a room's log into a snapshot once it holds this many bytes.
    #[arg(long, env = "TANDEM_COMPACT_BYTES", default_value_t = 4 * 1024 * 1024)]
    pub compact_bytes: u64,

    /// Largest WebSocket message accepted, in bytes (larger: close 1009).
    #[arg(long, env = "TANDEM_MAX_MESSAGE_BYTES", default_value_t = 1024 * 1024)]
    pub max_message_bytes: usize,

    /// Outgoing queue bound per connection, in messages; a client that falls
    /// further behind is closed (4002) and resyncs on reconnect.
    #[arg(long, env = "TANDEM_QUEUE_MESSAGES", default_value_t = 1024)]
    pub queue_messages: usize,

    /// Outgoing queue bound per connection, in bytes.
    #[arg(long, env = "TANDEM_QUEUE_BYTES", default_value_t = 8 * 1024 * 1024)]
    pub queue_bytes: usize,

    /// Longest a graceful shutdown waits for rooms to flush and clients to close.
    #[arg(long, env = "TANDEM_SHUTDOWN_TIMEOUT", value_parser = humantime::parse_duration, default_value = "10s")]
    pub shutdown_timeout: Duration,
}

/// Which [`crate::store::Store`] backs the rooms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum StoreKind {
    /// One SQLite file in the data directory.
    Sqlite,
    /// Process memory only.
    Memory,
}

/// Format of log lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

impl Default for Config {
    /// The defaults `tandem --help` shows, ignoring the environment.
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            data_dir: PathBuf::from("data"),
            store: StoreKind::Sqlite,
            static_dir: PathBuf::from("dist"),
            log: "info".into(),
            log_format: LogFormat::Text,
            heartbeat: Duration::from_secs(30),
            room_idle: Duration::from_secs(30),
            compact_updates: 10_000,
            compact_bytes: 4 * 1024 * 1024,
            max_message_bytes: 1024 * 1024,
            queue_messages: 1024,
            queue_bytes: 8 * 1024 * 1024,
            shutdown_timeout: Duration::from_secs(10),
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    #[test]
    fn default_matches_the_documented_flags() {
        // Parse with an empty argv; the environment of the test run must not leak in.
        let parsed = Config::command()
            .mut_args(|arg| arg.env(None::<&str>))
            .try_get_matches_from(["tandem"])
            .and_then(|m| <Config as clap::FromArgMatches>::from_arg_matches(&m))
            .expect("defaults parse");
        let default = Config::default();
        assert_eq!(format!("{parsed:?}"), format!("{default:?}"));
    }

    #[test]
    fn durations_are_human() {
        let parsed =
            Config::try_parse_from(["tandem", "--heartbeat", "250ms", "--room-idle", "2m"])
                .expect("parse");
        assert_eq!(parsed.heartbeat, Duration::from_millis(250));
        assert_eq!(parsed.room_idle, Duration::from_secs(120));
    }

    #[test]
    fn clap_definition_is_valid() {
        Config::command().debug_assert();
    }
}
