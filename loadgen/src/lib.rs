//! `tandem-load`: the load drivers for y-sync servers. They open sockets,
//! type and read; what a benchmark makes of them (the suite, the report,
//! the servers' processes) is the `tandem-bench` crate's (`bench/`).
//!
//! It speaks three dialects of the same y-sync protocol ([`target`]): Tandem's
//! (`tandem.v1`, a JSON `welcome` first, `saved` acknowledgements), the Yjs
//! reference server's and y-sweet's (plain y-sync, awareness frames skipped).
//! Every connection's handshake is the shared `tandem_shared::ClientSession`
//! ([`conn`]), which also counts what `saved` acknowledges; nothing here
//! re-implements the protocol. Writers put [`tag`]s in their updates so
//! readers can time them; [`stats`] keeps the latencies.
//!
//! The drivers: [`fanout`] (writers at a rate, latency to every other
//! client, convergence checked; on one server or spread over a cluster's
//! nodes), [`durable`] (acknowledged writes per second), [`idle`] (idle
//! connections held open), [`idle_workers`] (the same in child processes,
//! each under its own open-file limit), [`bigdoc`] (an editing [`trace`]
//! replayed, then loaded by a fresh client) and [`cross_node`] (one writer,
//! readers on its node and on another). [`commands`] are the binary's
//! everyday commands around them.
//!
//! Everything targets loopback, is bounded in count and time, and stops by
//! itself.

pub mod bigdoc;
pub mod commands;
pub mod conn;
pub mod cross_node;
pub mod durable;
pub mod fanout;
pub mod idle;
pub mod idle_workers;
pub mod procfs;
pub mod stats;
pub mod tag;
pub mod target;
pub mod trace;
