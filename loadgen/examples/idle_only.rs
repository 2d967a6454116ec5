//! Only the idle-connection section of `tandem-load bench`, against Tandem:
//! the same run (`tandem_loadgen::idle`, 50 connections a room from 8 source
//! addresses, memory = server RSS growth / connections), without the rest of
//! the suite. For measuring a change to the connection's shape:
//!
//! ```text
//! cargo build --release -p tandem-server --bin tandem
//! cargo run --release -p tandem-loadgen --example idle_only -- target/release/tandem [extra tandem flags…]
//! ```

use std::path::PathBuf;
use std::time::Duration;

use tandem_loadgen::idle::{self, IdleSpec};
use tandem_loadgen::procs::Launcher;
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
    let own_limit = rlimit::increase_nofile_limit(u64::MAX).unwrap_or(1024);
    let scratch = std::env::temp_dir().join("tandem-idle-only");
    let _ = std::fs::remove_dir_all(&scratch);
    std::fs::create_dir_all(&scratch)?;
    let launcher = Launcher {
        tandem_bin,
        yjs_dir: None,
        ysweet_bin: None,
        scratch: scratch.clone(),
        cpu: None,
    };
    let server = launcher.start_in_with(ServerKind::Tandem, &scratch.join("data"), &extra)?;
    let server_limit = server.max_open_files().unwrap_or(1024);
    // Both ends hold one descriptor per connection, as the suite counts.
    let connections = (own_limit.min(server_limit) as usize).saturating_sub(300);
    let spec = IdleSpec {
        connections,
        per_room: 50,
        sources: 8,
        hold: Duration::from_secs(5),
        budget: Duration::from_secs(240),
    };
    let result = idle::run(server.target(), server.pid, "idle", &spec).await;
    server.stop(Duration::from_secs(10));
    let r = result?;
    println!(
        "{} of {} held; RSS {} -> {} KiB; {:.2} KiB per connection{}",
        r.opened,
        r.asked,
        r.rss_before_kib,
        r.rss_after_kib,
        r.bytes_per_conn() / 1024.0,
        r.stopped
            .map(|s| format!("; stopped: {s}"))
            .unwrap_or_default()
    );
    Ok(())
}
