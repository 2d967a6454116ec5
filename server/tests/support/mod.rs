//! What only the server's tests need: raw HTTP requests and a loopback
//! proxy that breaks connections. The client, the in-process server and the
//! waits are shared with the browser tests, in `tandem-testkit`.

#![allow(dead_code, unreachable_pub)] // each test binary uses a different part

pub mod http;
pub mod proxy;
