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
//! - [`edit`]: a body edit as the update it makes, for every native client.
//! - [`TempDir`], and waiting with a deadline: [`DEADLINE`], [`eventually`].

mod client;
pub mod edit;
mod nginx;
mod server;
pub mod socket;
mod temp;
mod wait;

pub use client::Client;
pub use nginx::{NGINX_ENV, Nginx};
pub use server::{Storage, TEST_SECRET, TestServer, http, test_config, test_keys};
pub use temp::TempDir;
pub use wait::{DEADLINE, eventually};
