//! Only the idle-connection run of `cargo xtask bench`, against Tandem:
//! the same run ([`tandem_bench::suite::idle_on`]: one `tandem-load
//! idle-worker` process, 50 connections a room from 8 source addresses,
//! memory = server RSS growth / connections), without the rest of the
//! suite. For measuring a change to the connection's shape:
//!
//! ```text
//! cargo build --release -p tandem-server -p tandem-loadgen
//! cargo run --release -p tandem-bench --example idle_only -- target/release/tandem [extra tandem flags…]
//! ```

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use tandem_bench::procs::Launcher;
use tandem_bench::suite::{self, Config};
use tandem_loadgen::target::ServerKind;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let tandem_bin = PathBuf::from(
        args.next()
            .unwrap_or_else(|| "target/release/tandem".into()),
    );
    let extra: Vec<String> = args.collect();
    let extra: Vec<&str> = extra.iter().map(String::as_str).collect();
    let scratch = std::env::temp_dir().join("tandem-idle-only");
    let _ = std::fs::remove_dir_all(&scratch);
    std::fs::create_dir_all(&scratch)?;
    // This example runs from target/release/examples/; the worker is one up.
    let exe = std::env::current_exe()?;
    let load_bin = exe
        .parent()
        .and_then(|examples| examples.parent())
        .context("no folder above the example")?
        .join("tandem-load");
    let config = Config {
        launcher: Launcher {
            tandem_bin,
            yjs_dir: None,
            ysweet_bin: None,
            scratch: scratch.clone(),
            cpu: None,
            cluster: None,
        },
        load_bin,
        quick: false,
        command: String::new(),
    };
    let server = config
        .launcher
        .start_in(ServerKind::Tandem, &scratch.join("data"), &extra)?;
    let outcome = suite::idle_on(&config, &server).await;
    server.stop(Duration::from_secs(10));
    let (r, cap) = outcome?;
    println!(
        "{} of {} held; RSS {} -> {} KiB; {:.2} KiB per connection ({cap}){}",
        r.held,
        r.asked,
        r.rss_before_kib,
        r.rss_after_kib,
        r.bytes_per_conn() / 1024.0,
        r.stopped
            .iter()
            .map(|s| format!("; stopped: {s}"))
            .collect::<String>()
    );
    Ok(())
}
