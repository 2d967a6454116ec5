//! `cargo xtask soak [ARGS…]`: build the release server and the load
//! generator, then SIGKILL the server at random moments while native clients
//! type (`tandem-load soak`, 200 cycles by default: a few minutes). Fails if
//! an acknowledged edit was lost or replicas differ. Not part of `cargo
//! xtask test`: it takes minutes and measures nothing CI compares.

use std::path::{Path, PathBuf};
use std::process::Command;

const USAGE: &str = "\
Usage: cargo xtask soak [--cycles N] [ARGS…]

  --cycles N     kill-and-restart cycles (default 200, a few minutes)
  ARGS…          passed to `tandem-load soak` (see `tandem-load soak --help`:
                 --rooms, --clients, --kill-within-ms, --seed)
";

/// Runs the soak; `args` are what follows `soak` on the command line.
pub(crate) fn soak(workspace_root: &Path, args: &[String]) -> Result<(), String> {
    if args.iter().any(|a| a == "-h" || a == "--help") {
        print!("{USAGE}");
        return Ok(());
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root.join("target"));
    let mut build = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    build.current_dir(workspace_root).args([
        "build",
        "--release",
        "-p",
        "tandem-server",
        "-p",
        "tandem-loadgen",
    ]);
    crate::run(&mut build)?;
    let mut soak = Command::new(target.join("release/tandem-load"));
    soak.current_dir(workspace_root)
        .arg("soak")
        .arg("--tandem-bin")
        .arg(target.join("release/tandem"))
        .arg("--scratch")
        .arg(target.join("soak"))
        .args(args);
    crate::run(&mut soak)
}
