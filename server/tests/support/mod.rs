//! What only the server's tests need: upgrade requests, a loopback proxy
//! that breaks connections, a store that holds chosen calls, and the real
//! binary as a child process. The
//! client, the in-process server and the waits are shared with the browser
//! tests, in `tandem-testkit`.

#![allow(dead_code, unreachable_pub)] // each test binary uses a different part

pub mod gated_store;
pub mod http;
pub mod process;
pub mod proxy;
