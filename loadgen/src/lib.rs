//! `tandem-load`: a load generator and benchmark suite for y-sync servers.
//!
//! It speaks three dialects of the same y-sync protocol ([`target`]): Tandem's
//! (`tandem.v1`, a JSON `welcome` first, `saved` acknowledgements), the Yjs
//! reference server's and y-sweet's (plain y-sync, awareness frames skipped).
//! Every connection's handshake is the shared `tandem_shared::ClientSession`
//! ([`conn`]), which also counts what `saved` acknowledges; nothing here
//! re-implements the protocol.
//!
//! The workloads are one module each: [`fanout`] (latency from a writer's send
//! to every other client, and the rate stepping built on it), [`idle`] (how
//! many idle connections a server holds, and their memory), [`bigdoc`] (a real
//! 260k-edit trace replayed, then loaded by a fresh client), [`durable`]
//! (acknowledged writes per second), [`storage`] (group commit and compaction,
//! in process), [`history`] (version-history storage and speed, in process) and [`floor`] (what bare yrs does in
//! process, the bound every server sits on). [`suite`] runs them all against
//! every server into [`results`], with the [`machine`]'s facts, and
//! [`report`] renders those into `docs/BENCHMARKS.md`. The cluster section
//! ([`cluster_suite`], rendered by [`cluster_report`]) runs real nodes on
//! PostgreSQL and Redis: [`cluster`] starts them and times one writer
//! against readers on two nodes, [`idle_workers`] holds idle connections
//! across several node and load-generator processes. Apart from those,
//! [`soak`] kills the server with SIGKILL over and over while clients type,
//! and counts what was lost (`cargo xtask soak`).
//!
//! Everything targets 127.0.0.1, is bounded in count and time, and stops by
//! itself.

pub mod bigdoc;
pub mod cluster;
pub mod cluster_report;
pub mod cluster_suite;
pub mod conn;
pub mod durable;
pub mod fanout;
pub mod floor;
pub mod history;
pub mod idle;
pub mod idle_workers;
pub mod machine;
pub mod procs;
pub mod report;
pub mod results;
pub mod soak;
pub mod stats;
pub mod stepping;
pub mod storage;
pub mod suite;
pub mod tag;
pub mod target;
pub mod tools;
pub mod trace;
