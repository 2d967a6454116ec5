//! `cargo xtask bench [--quick]`: install the servers Tandem is compared
//! with, build Tandem, the load generator and the bench (`bench/`), run the
//! benchmark (`tandem-bench`) and write `docs/BENCHMARKS.md`.
//!
//! The peers go into `target/bench-peers/` (a scratch folder, rebuilt at
//! will): the Yjs reference server from npm, y-sweet with `cargo install`.
//! Each install is skipped when the right version is already there. Not
//! part of `cargo xtask test`: the full run takes about half an hour.
//!
//! The cluster section gets PostgreSQL and Redis exactly as the tests do
//! ([`crate::services`]: the given `TANDEM_TEST_DATABASE_URL` and
//! `TANDEM_TEST_REDIS_URL`, otherwise private instances under
//! `target/bench-services/`, apart from a test run's, stopped at the end).
//! `--only cluster` runs that section alone (no peers, no trace) and
//! splices it into the existing report, so it can be re-measured with
//! another server build without the half hour of the rest.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The Yjs reference server and the exact packages it runs with.
/// `@y/websocket-server` 0.1.5 does not install: it wants a yjs 14 prerelease.
const YJS_PACKAGES: [&str; 5] = [
    "@y/websocket-server@0.1.1",
    "yjs@13.6.33",
    "y-protocols@1.0.7",
    "lib0",
    "ws",
];
/// The version of `@y/websocket-server` checked for an existing install.
const YJS_SERVER_VERSION: &str = "0.1.1";
/// y-sweet, the closest Rust peer (axum + yrs).
const YSWEET_VERSION: &str = "0.9.1";
/// Where the editing traces live, relative to the workspace root.
const TRACE: &str = "../shared/bench-data/automerge-paper.json.gz";

const USAGE: &str = "\
Usage: cargo xtask bench [--quick] [--skip-peers] [--only SECTIONS] [-- ARGS…]

  --quick          a smoke run of a few minutes (short runs, a prefix of the trace)
  --skip-peers     measure Tandem only (no npm / cargo install)
  --only SECTIONS  run only these (comma-separated): `single-node` (every section
                   but the cluster's; the report is rewritten, the cluster section
                   kept) or `cluster` (three and more `tandem` nodes on PostgreSQL
                   and Redis: fan-out, cross-node latency, sustained rate, 100,000
                   idle connections; spliced into docs/BENCHMARKS.md, the rest of it
                   untouched; ~3 min, --quick ~1; no peers installed)
  ARGS…            passed to `tandem-bench` (see `tandem-bench --help`)

PostgreSQL and Redis for the cluster section: TANDEM_TEST_DATABASE_URL and
TANDEM_TEST_REDIS_URL when both are set, else private instances as
`cargo xtask test` provides them (under target/bench-services, apart from the
tests' own).
";

/// The sections `--only` takes (`tandem-bench --only` takes the same).
const SECTIONS: [&str; 2] = ["single-node", "cluster"];

/// Runs the benchmark; `args` are what follows `bench` on the command line.
pub(crate) fn bench(workspace_root: &Path, args: &[String]) -> Result<(), String> {
    let mut quick = false;
    let mut skip_peers = false;
    let mut only: Vec<String> = Vec::new();
    let mut extra: Vec<String> = Vec::new();
    let mut rest = args.iter();
    while let Some(arg) = rest.next() {
        match arg.as_str() {
            "--quick" => quick = true,
            "--skip-peers" => skip_peers = true,
            "--only" => {
                let list = rest
                    .next()
                    .ok_or_else(|| format!("--only needs a list of sections\n\n{USAGE}"))?;
                for section in list.split(',') {
                    if !SECTIONS.contains(&section) {
                        return Err(format!(
                            "unknown section `{section}` for --only (one of: {})\n\n{USAGE}",
                            SECTIONS.join(", ")
                        ));
                    }
                    only.push(section.to_owned());
                }
            }
            "--" => extra.extend(rest.by_ref().cloned()),
            "-h" | "--help" => {
                print!("{USAGE}");
                return Ok(());
            }
            other => return Err(format!("unknown option `{other}` for bench\n\n{USAGE}")),
        }
    }

    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root.join("target"));
    let peers = target.join("bench-peers");
    let runs = |section: &str| only.is_empty() || only.iter().any(|s| s == section);
    // The trace is read by the single-node sections only.
    let trace = if runs("single-node") {
        let trace = workspace_root.join(TRACE);
        Some(trace.canonicalize().map_err(|e| {
            format!(
                "the editing trace is missing: {}: {e} (it comes with the shared/ folder beside the repository)",
                trace.display()
            )
        })?)
    } else {
        None
    };

    let mut servers = vec!["tandem"];
    let (mut yjs_dir, mut ysweet_bin) = (None, None);
    // The peers are in the single-node sections only.
    if !skip_peers && runs("single-node") {
        yjs_dir = Some(ensure_yjs(&peers.join("yjs"))?);
        ysweet_bin = Some(ensure_ysweet(workspace_root, &peers.join("y-sweet"))?);
        servers.extend(["yjs", "ysweet"]);
    }

    crate::step_todo("building the server, the load generator and the bench (release)");
    crate::run(cargo(workspace_root).args(["build", "--release"]).args([
        "-p",
        "tandem-server",
        "-p",
        "tandem-loadgen",
        "-p",
        "tandem-bench",
    ]))?;

    // It finds `tandem-load` (its idle workers) beside itself.
    let mut cmd = Command::new(target.join("release/tandem-bench"));
    cmd.current_dir(workspace_root)
        .arg("--tandem-bin")
        .arg(target.join("release/tandem"))
        .arg("--scratch")
        .arg(target.join("bench"))
        .arg("--out")
        .arg(workspace_root.join("docs/BENCHMARKS.md"));
    if let Some(trace) = &trace {
        cmd.arg("--trace")
            .arg(trace)
            .arg("--servers")
            .arg(servers.join(","));
    }
    if let Some(dir) = &yjs_dir {
        cmd.arg("--yjs-dir").arg(dir);
    }
    if let Some(bin) = &ysweet_bin {
        cmd.arg("--ysweet-bin").arg(bin);
    }
    if quick {
        cmd.arg("--quick");
    }
    if !only.is_empty() {
        cmd.arg("--only").arg(only.join(","));
    }
    cmd.args(&extra);
    // Stopped when dropped at the end of this function, failed or not.
    let services = if runs("cluster") {
        crate::step_todo("PostgreSQL and Redis for the cluster section");
        // Under a folder of their own: a `cargo xtask test` running at the
        // same time keeps its instances under target/services.
        Some(crate::services::Services::start(
            &target.join("bench-services"),
        )?)
    } else {
        None
    };
    if let Some(services) = &services {
        services.export(&mut cmd);
    }
    crate::step_todo(&format!(
        "running the benchmark ({}); progress follows",
        match (quick, runs("single-node")) {
            (true, true) => "quick: a few minutes",
            (false, true) => "full: about 30 minutes",
            (true, false) => "cluster, quick: about a minute",
            (false, false) => "cluster: about 3 minutes",
        }
    ));
    crate::run(&mut cmd)?;
    drop(services);
    crate::step_todo("docs/BENCHMARKS.md written");
    Ok(())
}

/// Installs the Yjs reference server with npm unless the right version is
/// there; returns its folder.
fn ensure_yjs(dir: &Path) -> Result<PathBuf, String> {
    let installed =
        std::fs::read_to_string(dir.join("node_modules/@y/websocket-server/package.json"))
            .ok()
            .is_some_and(|json| json.contains(&format!("\"version\": \"{YJS_SERVER_VERSION}\"")));
    if installed {
        crate::step_ok(&format!(
            "@y/websocket-server {YJS_SERVER_VERSION}: installed"
        ));
        return Ok(dir.to_path_buf());
    }
    crate::step_todo(&format!(
        "@y/websocket-server {YJS_SERVER_VERSION}: installing with npm into {}",
        dir.display()
    ));
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    crate::run(
        Command::new("npm")
            .arg("install")
            .arg("--prefix")
            .arg(dir)
            .args(["--no-audit", "--no-fund"])
            .args(YJS_PACKAGES),
    )
    .map_err(|e| {
        format!("{e}\n  the Yjs server needs Node.js and npm (`apt-get install -y nodejs npm`)")
    })?;
    Ok(dir.to_path_buf())
}

/// Installs y-sweet with `cargo install` unless the right version is there;
/// returns its binary.
fn ensure_ysweet(root: &Path, prefix: &Path) -> Result<PathBuf, String> {
    let bin = prefix.join("bin/y-sweet");
    // `cargo install --root` records what it installed there.
    let recorded = std::fs::read_to_string(prefix.join(".crates.toml"))
        .ok()
        .is_some_and(|toml| toml.contains(&format!("\"y-sweet {YSWEET_VERSION} ")));
    if recorded && bin.is_file() {
        crate::step_ok(&format!("y-sweet {YSWEET_VERSION}: installed"));
        return Ok(bin);
    }
    crate::step_todo(&format!(
        "y-sweet {YSWEET_VERSION}: installing into {} (one time, ~7 min)",
        prefix.display()
    ));
    crate::run(
        cargo(root)
            .args([
                "install",
                "y-sweet",
                "--version",
                YSWEET_VERSION,
                "--locked",
                "--root",
            ])
            .arg(prefix),
    )?;
    if bin.is_file() {
        Ok(bin)
    } else {
        Err(format!(
            "cargo install y-sweet finished but {} is missing",
            bin.display()
        ))
    }
}

/// `cargo` (the one running this xtask), in the workspace.
pub(crate) fn cargo(root: &Path) -> Command {
    let mut cmd = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    cmd.current_dir(root);
    cmd
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_unknown_options() {
        let err = bench(Path::new("/nonexistent"), &["--fast".into()]).expect_err("refused");
        assert!(err.contains("--fast"), "{err}");
    }

    #[test]
    fn refuses_unknown_sections() {
        let err = bench(
            Path::new("/nonexistent"),
            &["--only".into(), "cluster,gpu".into()],
        )
        .expect_err("refused");
        assert!(err.contains("unknown section `gpu`"), "{err}");
        let err = bench(Path::new("/nonexistent"), &["--only".into()]).expect_err("refused");
        assert!(err.contains("--only needs"), "{err}");
    }
}
