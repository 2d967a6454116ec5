//! `cargo xtask dist`: Tandem as one file to deploy, `target/dist/tandem`.
//!
//! Builds the web client as `build` does (`dist/`, with its brotli and
//! gzip copies), then the server with that client inside it: the server's
//! build script embeds every file of the directory `TANDEM_EMBED_CLIENT`
//! names (`server/build.rs`), and the binary serves it from memory unless
//! `--static-dir` is given. The build uses the `dist` profile (the release
//! settings; see the workspace's Cargo.toml), whose output directory is
//! `target/dist/`: apart from `target/release/tandem`, which `build` makes
//! without the client and the tests and benchmarks run, so neither build
//! undoes the other.

use std::fs;

use crate::{Result, Workspace, human, run, step_ok, step_todo};

/// The variable the server's build script reads (`server/build.rs`).
const EMBED_ENV: &str = "TANDEM_EMBED_CLIENT";

/// Builds the web client, then `target/dist/tandem` with it inside.
pub(crate) fn dist(ws: &Workspace) -> Result {
    ws.build_client()?;
    binary(ws)?;
    println!(
        "\nCopy {} to a server and run it: it serves http://127.0.0.1:8080 and keeps documents in ./data (`tandem --help`).",
        ws.target_dir().join("dist/tandem").display()
    );
    Ok(())
}

/// Builds `target/dist/tandem` around the client already in `dist/`
/// (`cargo xtask test` builds the client just before).
pub(crate) fn binary(ws: &Workspace) -> Result {
    let client = ws.root.join("dist");
    step_todo(&format!(
        "cargo build --profile dist -p tandem-server with {EMBED_ENV}={} → target/dist/tandem",
        client.display()
    ));
    let start = std::time::Instant::now();
    let mut build = ws.cargo([
        "build",
        "--profile",
        "dist",
        "-p",
        "tandem-server",
        "--bin",
        "tandem",
    ]);
    build.env(EMBED_ENV, &client);
    run(&mut build)?;
    let binary = ws.target_dir().join("dist/tandem");
    let bytes = fs::metadata(&binary)
        .map_err(|e| format!("the build wrote no {}: {e}", binary.display()))?
        .len();
    let files = fs::read_dir(&client).map_or(0, |entries| entries.count());
    step_ok(&format!(
        "{}: {:.1} MB, the web client inside ({files} entries of dist/), in {}",
        binary.display(),
        bytes as f64 / 1e6,
        human(start.elapsed())
    ));
    Ok(())
}
