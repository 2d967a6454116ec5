//! What only the server's tests need: raw HTTP requests, a loopback proxy
//! that breaks connections, and the real binary as a child process. The
//! client, the in-process server and the waits are shared with the browser
//! tests, in `tandem-testkit`.

#![allow(dead_code, unreachable_pub)] // each test binary uses a different part

pub mod http;
pub mod process;
pub mod proxy;
