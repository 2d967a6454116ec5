//! `tandem-bench`: the benchmark behind `cargo xtask bench`. It starts the
//! servers, drives them with the load generator's drivers (`tandem-loadgen`)
//! and writes `docs/BENCHMARKS.md`.
//!
//! - [`suite`] runs one suite for either topology: Tandem beside its peers
//!   on one node each, or a cluster of Tandem nodes on PostgreSQL and Redis;
//!   fan-out, the rate search ([`stepping`]) and idle connections are the
//!   same code for both. The single node adds the large document, durable
//!   writes and, in process, the yrs [`floor`], [`storage`] and
//!   [`versions_bench`]; the cluster adds the cross-node latency.
//! - [`procs`] starts and stops the servers; [`machine`] gathers the facts
//!   about the machine. Both run before anything is rendered.
//! - [`results`] is the plain data a run produces; [`report`] renders it,
//!   whole or as the cluster section spliced into an existing file.
//!
//! Everything targets loopback, is bounded in count and time, and stops by
//! itself; every server process is killed when its handle drops.

pub mod floor;
pub mod machine;
pub mod procs;
pub mod report;
pub mod results;
pub mod stepping;
pub mod storage;
pub mod suite;
pub mod versions_bench;
