//! A WebSocket echo server on Tandem's transport, for conformance suites
//! (dev only; the `tandem` binary never serves it):
//!
//! ```text
//! cargo run -p tandem-server --release --example ws_echo -- 127.0.0.1:9001
//! ```
//!
//! docs/PROTOCOL.md ("Conformance") says how Autobahn|Testsuite's
//! fuzzingclient is run against it.

use std::net::SocketAddr;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let addr: SocketAddr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:9001".into())
        .parse()?;
    let listener = tokio::net::TcpListener::bind(addr).await?;
    eprintln!("echoing WebSocket messages on ws://{addr}/");
    tandem_server::echo::serve(listener).await?;
    Ok(())
}
