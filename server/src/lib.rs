//! Tandem's server: HTTP and WebSocket on one port, one actor per room,
//! durable per-room storage.
//!
//! `main.rs` parses a [`Config`] and calls [`run`] with a bound listener;
//! tests do the same on port 0, or build an [`AppState`] around a store they
//! can inspect (e.g. a [`store::MemoryStore`]) and call [`serve`].
//!
//! | module | concept |
//! |---|---|
//! | [`config`] | every option as a flag and a `TANDEM_*` variable |
//! | `server` | start-up ([`prepare`]), serving and draining ([`serve`], [`run`]) |
//! | `state` | [`AppState`], shared by every handler and connection |
//! | `error` | [`ServerError`] |
//! | [`http`] | the router, the built client, health and metrics endpoints |
//! | [`api`] | the JSON API: create a protected room, export a document |
//! | [`admin`] | the admin API `tandem rooms` asks: list, export and delete rooms, refused while open |
//! | [`cli`] | the command line: serve, or `backup`, `restore`, `rooms`, `connect` |
//! | `ws` | the WebSocket endpoint: upgrade, admission, its own RFC 6455 codec, one task per connection, the heartbeat |
//! | [`room`] | one actor per open document, its registry and store pipeline |
//! | [`store`] | the `Store` trait, SQLite, PostgreSQL and in-memory |
//! | [`bus`] | Redis Streams between the nodes of a cluster |
//! | [`access`] | share-link keys and what they allow |
//! | [`links`] | share links as records: what a key grants now, and editors' changes (pure) |
//! | [`limits`] | connection bounds |
//! | [`forwarded`] | the client's address behind trusted proxies (`X-Forwarded-For`) |
//! | [`metrics`] | the Prometheus catalogue |
//! | [`shutdown`], [`telemetry`] | signals; logging |

pub mod access;
pub mod admin;
pub mod api;
pub mod bus;
pub mod cli;
pub mod config;
mod error;
pub mod forwarded;
pub mod http;
pub mod limits;
pub mod links;
pub mod metrics;
pub mod room;
mod server;
pub mod shutdown;
mod state;
pub mod store;
pub mod telemetry;
mod ws;

pub use config::Config;
pub use error::ServerError;
pub use http::app;
pub use server::{open_keys, open_store, prepare, run, serve};
pub use state::AppState;
/// permessage-deflate, shared with Tandem's native clients (`tandem_testkit::deflate_io`).
pub use ws::{deflate, echo};
