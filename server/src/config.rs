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

    /// Where documents are stored: `sqlite` (durable, in the data directory),
    /// `postgres` (shared by the nodes of a cluster; needs `--database-url`)
    /// or `memory` (lost on exit; for trying things out).
    #[arg(long, env = "TANDEM_STORE", value_enum, default_value_t = StoreKind::Sqlite)]
    pub store: StoreKind,

    // The cluster (issue 20): see README "Running several nodes".
    /// PostgreSQL for `--store postgres`, as `postgres://user:password@host:port/db`
    /// (the password never appears in logs).
    #[arg(
        long,
        env = "TANDEM_DATABASE_URL",
        hide_env_values = true,
        required_if_eq("store", "postgres")
    )]
    pub database_url: Option<crate::store::DatabaseUrl>,

    /// Redis for the bus between nodes, as `redis://[:password@]host:port[/db]`:
    /// each node publishes the updates it committed to the room's stream and
    /// applies the others'. Needs `--store postgres`. Unset: a single node.
    #[arg(long, env = "TANDEM_REDIS_URL", hide_env_values = true)]
    pub redis_url: Option<crate::bus::RedisUrl>,

    /// How long the bus keeps a room's entries; a node that finds entries it
    /// had not read trimmed away reloads the room from the store.
    #[arg(long, env = "TANDEM_BUS_RETENTION", value_parser = humantime::parse_duration, default_value = "10m")]
    pub bus_retention: Duration,

    /// Most entries the bus keeps per room (about: trimmed in whole blocks).
    #[arg(long, env = "TANDEM_BUS_MAX_LEN", default_value_t = 10_000)]
    pub bus_max_len: u64,

    /// Directory of the built web client (`trunk build` output). A binary
    /// built by `cargo xtask dist` serves the client inside it unless this
    /// is given.
    #[arg(long, env = "TANDEM_STATIC_DIR", default_value = "dist")]
    pub static_dir: PathBuf,

    /// The web client served from memory instead of `static_dir`: the copy
    /// built into the binary (set by `main` when `--static-dir` was not
    /// given), or one a test loaded. Not a flag.
    #[arg(skip)]
    pub embedded_client: Option<std::sync::Arc<crate::http::ClientBundle>>,

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

    /// Agree to permessage-deflate (RFC 7692) when a client offers it.
    #[arg(long, env = "TANDEM_WS_DEFLATE", default_value_t = true, action = clap::ArgAction::Set)]
    pub ws_deflate: bool,

    /// With permessage-deflate agreed, compress outgoing messages of at least
    /// this many bytes (smaller ones, e.g. keystroke updates, grow when
    /// compressed on their own).
    #[arg(long, env = "TANDEM_WS_DEFLATE_THRESHOLD", default_value_t = 1024)]
    pub ws_deflate_threshold: usize,

    /// Kernel send buffer per WebSocket (`SO_SNDBUF`, bytes; Linux doubles
    /// it); 0 keeps the kernel's autotuning (up to 4 MiB per socket, all
    /// held for a client that stops reading).
    #[arg(long, env = "TANDEM_WS_SEND_BUFFER", default_value_t = 128 * 1024)]
    pub ws_send_buffer: usize,

    /// Origins allowed to open WebSockets besides the server's own (exact
    /// match, e.g. `https://docs.example.com`; comma-separated). Any other
    /// browser origin gets HTTP 403 before the upgrade.
    #[arg(long, env = "TANDEM_ALLOWED_ORIGINS", value_delimiter = ',')]
    pub allowed_origins: Vec<String>,

    /// Reverse proxies whose `X-Forwarded-For` is believed (addresses or
    /// networks, comma-separated: `127.0.0.1,10.0.0.0/8`). A connection from
    /// one of them counts under the client address the proxy appended, for
    /// the per-address bound and in logs; by default the header is ignored.
    #[arg(long, env = "TANDEM_TRUSTED_PROXIES", value_delimiter = ',')]
    pub trusted_proxies: Vec<crate::forwarded::TrustedNet>,

    /// Secret that signs share-link keys (at least 32 characters). When unset,
    /// one is generated on first run and kept in `{data-dir}/secret.key`.
    #[arg(long, env = "TANDEM_SECRET", hide_env_values = true)]
    pub secret: Option<Secret>,

    /// Most open WebSocket connections in the whole server; past it new ones
    /// are closed with 1013 and a retry hint.
    #[arg(long, env = "TANDEM_MAX_CONNECTIONS", default_value_t = 10_000)]
    pub max_connections: usize,

    /// Most open WebSocket connections from one IP address (1013 past it);
    /// with `--redis-url`, counted across the cluster (local counts while
    /// Redis is unreachable).
    #[arg(long, env = "TANDEM_MAX_CONNECTIONS_PER_IP", default_value_t = 200)]
    pub max_connections_per_ip: usize,

    /// Most connections in one room (1013 past it); with `--redis-url`,
    /// counted across the cluster (local counts while Redis is unreachable).
    #[arg(long, env = "TANDEM_MAX_ROOM_CONNECTIONS", default_value_t = 500)]
    pub max_room_connections: usize,

    /// Messages per second one connection may send on average (4004 past it).
    #[arg(long, env = "TANDEM_RATE_LIMIT", default_value_t = 200)]
    pub rate_limit: u32,

    /// Messages one connection may send in a burst above the rate.
    #[arg(long, env = "TANDEM_RATE_BURST", default_value_t = 2000)]
    pub rate_burst: u32,

    /// Largest document, in bytes of stored state; an update that would grow
    /// it further is refused with 4005.
    #[arg(long, env = "TANDEM_MAX_DOCUMENT_BYTES", default_value_t = 64 * 1024 * 1024)]
    pub max_document_bytes: u64,

    /// Most rooms whose metrics carry a `room` label at one time (the rest
    /// are counted only in the totals), to bound the number of series.
    #[arg(long, env = "TANDEM_METRICS_ROOM_LABELS", default_value_t = 100)]
    pub metrics_room_labels: usize,

    /// Longest a graceful shutdown waits for rooms to flush and clients to close.
    #[arg(long, env = "TANDEM_SHUTDOWN_TIMEOUT", value_parser = humantime::parse_duration, default_value = "10s")]
    pub shutdown_timeout: Duration,

    // Version history (issue 15): see README "Version history".
    /// A checkpoint of a room this long after the first edit since its
    /// previous one (checkpoints are also taken when a room unloads, when a
    /// version is named, and around every restore).
    #[arg(long, env = "TANDEM_HISTORY_INTERVAL", value_parser = humantime::parse_duration, default_value = crate::room::history::DEFAULT_INTERVAL)]
    pub history_interval: Duration,

    /// Every checkpoint younger than this is kept.
    #[arg(long, env = "TANDEM_HISTORY_KEEP_ALL", value_parser = humantime::parse_duration, default_value = crate::room::history::DEFAULT_KEEP_ALL)]
    pub history_keep_all: Duration,

    /// Past `--history-keep-all`, the newest checkpoint of each hour is kept
    /// up to this age; older ones are kept one per day. Named versions are
    /// kept until deleted.
    #[arg(long, env = "TANDEM_HISTORY_KEEP_HOURLY", value_parser = humantime::parse_duration, default_value = crate::room::history::DEFAULT_KEEP_HOURLY)]
    pub history_keep_hourly: Duration,
}

impl Config {
    /// The version-history flags as the rooms use them.
    pub fn history_policy(&self) -> crate::room::HistoryPolicy {
        crate::room::HistoryPolicy {
            interval: self.history_interval,
            keep_all: self.history_keep_all,
            keep_hourly: self.history_keep_hourly,
        }
    }
}

/// A secret string that never appears in logs or `Debug` output.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(pub String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted>")
    }
}

impl std::str::FromStr for Secret {
    type Err = std::convert::Infallible;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Self(s.to_string()))
    }
}

/// Which [`crate::store::Store`] backs the rooms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum StoreKind {
    /// One SQLite file in the data directory.
    Sqlite,
    /// A PostgreSQL database (`--database-url`), shared by a cluster's nodes.
    Postgres,
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
        let history = crate::room::HistoryPolicy::default();
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            data_dir: PathBuf::from("data"),
            store: StoreKind::Sqlite,
            database_url: None,
            redis_url: None,
            bus_retention: Duration::from_secs(10 * 60),
            bus_max_len: 10_000,
            static_dir: PathBuf::from("dist"),
            embedded_client: None,
            log: "info".into(),
            log_format: LogFormat::Text,
            heartbeat: Duration::from_secs(30),
            room_idle: Duration::from_secs(30),
            compact_updates: 10_000,
            compact_bytes: 4 * 1024 * 1024,
            max_message_bytes: 1024 * 1024,
            queue_messages: 1024,
            queue_bytes: 8 * 1024 * 1024,
            ws_deflate: true,
            ws_deflate_threshold: 1024,
            ws_send_buffer: 128 * 1024,
            shutdown_timeout: Duration::from_secs(10),
            allowed_origins: Vec::new(),
            trusted_proxies: Vec::new(),
            secret: None,
            max_connections: 10_000,
            max_connections_per_ip: 200,
            max_room_connections: 500,
            rate_limit: 200,
            rate_burst: 2000,
            max_document_bytes: 64 * 1024 * 1024,
            metrics_room_labels: 100,
            history_interval: history.interval,
            history_keep_all: history.keep_all,
            history_keep_hourly: history.keep_hourly,
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
    fn the_secret_never_shows() {
        let parsed =
            Config::try_parse_from(["tandem", "--secret", "hunter2-hunter2-hunter2-hunter2-x"])
                .expect("parse");
        assert!(!format!("{parsed:?}").contains("hunter2"));
    }

    #[test]
    fn origins_are_a_list() {
        let parsed = Config::try_parse_from([
            "tandem",
            "--allowed-origins",
            "https://a.example,http://localhost:8081",
        ])
        .expect("parse");
        assert_eq!(
            parsed.allowed_origins,
            ["https://a.example", "http://localhost:8081"]
        );
    }

    #[test]
    fn clap_definition_is_valid() {
        Config::command().debug_assert();
    }
}
