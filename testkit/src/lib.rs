//! Test support shared by the server's integration tests (`server/tests/`)
//! and the browser tests (`e2e/`).
//!
//! - [`Client`]: a native `tandem.v1` client for tests. The protocol is the
//!   shared sans-I/O [`ClientSession`](tandem_shared::ClientSession); this
//!   crate only moves its frames over a tokio-tungstenite socket and adds
//!   what tests do (edit, wait for `saved`, expect a close).
//! - [`TestServer`]: the real server in this process on a free port of
//!   127.0.0.1, with a memory or SQLite store and, for the browser tests,
//!   the built web client; it stops gracefully and restarts on its port.
//! - [`socket`]: the one place a client asks for `tandem.v1` in its upgrade
//!   request (the load generator opens its own sockets, through it too).
//! - [`deflate_io`]: how those sockets read what the server compressed
//!   (permessage-deflate under tungstenite).
//! - [`edit`]: a body edit as the update it makes, for every native client.
//! - [`http`](mod@http): the one HTTP request helper ([`http()`] for short).
//! - Waiting with a deadline, the one way tests synchronise: [`poll`]
//!   (and [`eventually`] for a plain condition), [`DEADLINE`].
//! - The test environment: [`required`] (the PostgreSQL and Redis `cargo
//!   xtask test` provides), [`key_of`] (a share link's key), [`TempDir`].

mod client;
pub mod deflate_io;
pub mod edit;
mod environment;
pub mod http;
mod nginx;
mod server;
pub mod socket;
mod temp;
mod wait;

pub use client::Client;
pub use environment::{DATABASE_URL_ENV, REDIS_URL_ENV, key_of, required};
pub use http::http;
pub use nginx::{NGINX_ENV, Nginx};
pub use server::{Storage, TEST_SECRET, TestServer, test_config, test_keys};
pub use temp::TempDir;
pub use wait::{DEADLINE, eventually, poll, try_poll};
