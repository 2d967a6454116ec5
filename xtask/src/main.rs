//! `cargo xtask <command>`: set up the tools, build, run and test Tandem.
//!
//! Std plus two compression crates (brotli and flate2, for the copies of
//! `dist/` the server sends; see `compress`) and `syn` (already built for
//! the workspace's derive macros) to read the sources for the import-circle
//! lint (`imports`), so it compiles in seconds on a fresh machine. Every
//! external step is a child process whose command line
//! is printed before it runs; a failing step ends the task with a one-line
//! `error:` and a non-zero exit.

mod bench;
mod compress;
mod dist;
mod doc_paths;
mod imports;
mod services;
mod size;
mod soak;

use std::env;
use std::ffi::OsString;
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::{Duration, Instant};

// Tool versions, all in one place. Why these and not others: see
// TOOLCHAIN.md ("Versions that work together") — trunk 0.22 needs a newer
// rustc, Debian's wasm-opt 108 produces a wasm that loads to a blank page.
/// The Trunk release that builds the client (`cargo install trunk --locked`).
const TRUNK_VERSION: &str = "0.21.14";
/// binaryen from npm, which provides `wasm-opt`; Trunk.toml pins its major.
const BINARYEN_VERSION: &str = "132.0.0";
/// What Trunk.toml's `[tools] wasm_opt` must say for [`BINARYEN_VERSION`].
const WASM_OPT_PIN: &str = "version_132";
/// The rustup target the client compiles to.
const WASM_TARGET: &str = "wasm32-unknown-unknown";
/// Debian's Chromium and its WebDriver, used by the browser tests.
const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const CHROMIUM_PACKAGES: [&str; 2] = ["chromium", "chromium-driver"];

/// Environment the browser tests read (see `e2e/src/lib.rs`).
const E2E_DIST_ENV: &str = "TANDEM_E2E_DIST";
const E2E_CHROMIUM_ENV: &str = "TANDEM_E2E_CHROMIUM";
const E2E_CHROMEDRIVER_ENV: &str = "TANDEM_E2E_CHROMEDRIVER";
/// The release server binary the browser tests run as a real process (built by `build`).
const E2E_SERVER_ENV: &str = "TANDEM_E2E_SERVER";
/// The one-file build of `dist`, which `e2e/tests/single_binary.rs` runs.
const E2E_ONE_FILE_ENV: &str = "TANDEM_E2E_ONE_FILE";
/// Where the stock Yjs clients of the interop tests are installed.
const INTEROP_DIR_ENV: &str = "TANDEM_INTEROP_DIR";
/// Where the tools the browser tests inject (axe-core) are installed.
const E2E_TOOLS_ENV: &str = "TANDEM_E2E_TOOLS";

/// Address `cargo xtask run` serves on.
const RUN_LISTEN: &str = "127.0.0.1:8080";

/// A failed step, already phrased for the person at the terminal.
type Result<T = (), E = String> = std::result::Result<T, E>;

const HELP: &str = "\
Usage: cargo xtask <command>

Commands:
  setup               install what is missing: the wasm32 target, trunk, wasm-bindgen-cli, wasm-opt
  build               setup, then build the web client into dist/ and the server (release)
  dist                the web client into dist/, then target/dist/tandem: the server with
                      the client inside, one file to deploy
  run [-- ARGS…]      build, then serve on http://127.0.0.1:8080 (ARGS go to `tandem`)
  test                everything CI checks: fmt, clippy (native and wasm), unit and
                      integration tests, release build, browser tests in headless Chromium
  e2e [-- ARGS…]      only `test`'s browser part: the release builds, Chromium, the interop
                      clients and tools, PostgreSQL and Redis, then every browser test
                      (ARGS go to the test binaries, e.g. a test name)
  bench [--quick]     Tandem next to the Yjs reference server and y-sweet, on loopback,
                      and a cluster of Tandem nodes on PostgreSQL and Redis; writes
                      docs/BENCHMARKS.md (not part of `test`; ~30 min, --quick ~6);
                      `bench --only cluster` re-runs just the cluster section (~3 min)
                      and splices it in (`bench --help` for more)
  soak [--cycles N]   SIGKILL the release server at random moments while native clients
                      type, restarting it each time (200 cycles, a few minutes); fails if an
                      acknowledged edit is lost (not part of `test`)
  size                what the client's wasm is made of: shipped sizes of the assets, the
                      20 largest items and the bytes per crate (twiggy; installed if missing)
  services [-- CMD…]  start the PostgreSQL and Redis `test` provides and run CMD with
                      TANDEM_TEST_DATABASE_URL and TANDEM_TEST_REDIS_URL set (a single
                      cluster test, say); stops them when CMD ends
  lint                no import circles between the files of any crate, and every
                      source path docs/ARCHITECTURE.md names exists (part of `test`)
  help                this list

Environment:
  CARGO                     the cargo binary to use (set by `cargo xtask`)
  TANDEM_TOOLS_DIR          where wasm-opt is installed (default ~/.cache/tandem/tools)
  TANDEM_E2E_CHROMIUM       Chromium binary for the browser tests (default /usr/bin/chromium)
  TANDEM_E2E_CHROMEDRIVER   chromedriver binary (default /usr/bin/chromedriver)

`test` provides PostgreSQL and Redis to the tests (TANDEM_TEST_DATABASE_URL,
TANDEM_TEST_REDIS_URL): the given ones when both are set, else private
instances under target/services (Debian's postgresql, redis-server and nginx
are installed when missing), stopped at the end.

`test` installs the stock Yjs clients of the interop tests (interop/) into
target/interop (npm packages and a Python venv) and passes it to the browser
tests as TANDEM_INTEROP_DIR.
";

fn main() -> ExitCode {
    let args: Vec<String> = env::args().skip(1).collect();
    let (command, rest) = match args.split_first() {
        Some((command, rest)) => (command.as_str(), rest),
        None => ("help", &[][..]),
    };
    let outcome = Workspace::locate().and_then(|ws| match command {
        "setup" => ws.setup().map(drop),
        "build" => ws.build(),
        "dist" => dist::dist(&ws),
        "run" => ws.run(rest),
        "test" => ws.test(),
        "e2e" => ws.e2e(rest),
        "bench" => bench::bench(&ws.root, rest),
        "soak" => soak::soak(&ws.root, rest),
        "services" => services::run_with(&ws.target_dir(), rest),
        "size" => size::size(&ws),
        "lint" => lint(&ws.root),
        "help" | "-h" | "--help" => {
            print!("{HELP}");
            Ok(())
        }
        other => Err(format!("unknown command `{other}`\n\n{HELP}")),
    });
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

/// Where things are: the repository, the cargo binary, the tools.
struct Workspace {
    /// The repository root; every command runs there.
    root: PathBuf,
    /// The cargo that launched us (`CARGO`), so nested builds use the same toolchain.
    cargo: OsString,
    /// Where `cargo install` puts binaries.
    cargo_bin: PathBuf,
    /// Where npm-installed tools go (`TANDEM_TOOLS_DIR`).
    tools_dir: PathBuf,
}

/// Paths to the installed tools, for PATH when calling trunk.
struct Tools {
    /// The trunk binary to run.
    trunk: PathBuf,
    /// The `node_modules/.bin` holding binaryen's `wasm-opt`; goes first on PATH.
    binaryen_bin: PathBuf,
}

impl Workspace {
    fn locate() -> Result<Self> {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .ok_or("xtask is not inside a workspace")?
            .to_path_buf();
        let home = env::var_os("HOME").map(PathBuf::from);
        let cargo_home = env::var_os("CARGO_HOME")
            .map(PathBuf::from)
            .or_else(|| home.as_ref().map(|h| h.join(".cargo")))
            .ok_or("neither CARGO_HOME nor HOME is set")?;
        let tools_dir = env::var_os("TANDEM_TOOLS_DIR")
            .map(PathBuf::from)
            .or_else(|| home.map(|h| h.join(".cache/tandem/tools")))
            .ok_or("neither TANDEM_TOOLS_DIR nor HOME is set")?;
        Ok(Self {
            root,
            cargo: env::var_os("CARGO").unwrap_or_else(|| "cargo".into()),
            cargo_bin: cargo_home.join("bin"),
            tools_dir,
        })
    }

    fn target_dir(&self) -> PathBuf {
        env::var_os("CARGO_TARGET_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| self.root.join("target"))
    }

    fn cargo<const N: usize>(&self, args: [&str; N]) -> Command {
        let mut cmd = Command::new(&self.cargo);
        cmd.args(args).current_dir(&self.root);
        cmd
    }

    // ---- setup -------------------------------------------------------------

    /// Installs whatever is missing; does nothing (quickly) when all is there.
    fn setup(&self) -> Result<Tools> {
        self.ensure_wasm_target()?;
        let trunk = self.ensure_trunk()?;
        self.ensure_wasm_bindgen()?;
        let binaryen_bin = self.ensure_wasm_opt()?;
        Ok(Tools {
            trunk,
            binaryen_bin,
        })
    }

    fn ensure_wasm_target(&self) -> Result {
        let installed = capture(Command::new("rustup").args(["target", "list", "--installed"]))
            .map_err(|e| {
                format!(
                    "{e}\n  rustup manages the wasm target; install rustup from https://rustup.rs"
                )
            })?;
        if installed.lines().any(|l| l.trim() == WASM_TARGET) {
            step_ok(&format!("rustup target {WASM_TARGET}: installed"));
            return Ok(());
        }
        step_todo(&format!("rustup target {WASM_TARGET}: adding"));
        run(Command::new("rustup").args(["target", "add", WASM_TARGET]))
    }

    fn ensure_trunk(&self) -> Result<PathBuf> {
        let found = self.find_tool("trunk");
        if let Some(path) = &found
            && tool_version(path).as_deref() == Some(TRUNK_VERSION)
        {
            step_ok(&format!("trunk {TRUNK_VERSION}: installed"));
            return Ok(path.clone());
        }
        let why = describe_found(found.as_deref());
        step_todo(&format!(
            "trunk {TRUNK_VERSION}: {why}; installing (one time, ~12 min)"
        ));
        let mut install = self.cargo(["install", "trunk", "--version", TRUNK_VERSION, "--locked"]);
        if found.is_some() {
            install.arg("--force");
        }
        run(&mut install)?;
        let path = self.cargo_bin.join("trunk");
        match tool_version(&path) {
            Some(v) if v == TRUNK_VERSION => Ok(path),
            other => Err(format!(
                "installed trunk {TRUNK_VERSION}, but {} reports {}",
                path.display(),
                other.unwrap_or_else(|| "no version".into())
            )),
        }
    }

    fn ensure_wasm_bindgen(&self) -> Result {
        let wanted = self.wasm_bindgen_lock_version()?;
        self.check_trunk_pins(&wanted)?;
        let found = self.find_tool("wasm-bindgen");
        if let Some(path) = &found
            && tool_version(path).as_deref() == Some(wanted.as_str())
        {
            step_ok(&format!("wasm-bindgen-cli {wanted}: installed"));
            return Ok(());
        }
        let why = describe_found(found.as_deref());
        step_todo(&format!(
            "wasm-bindgen-cli {wanted} (the version in Cargo.lock): {why}; installing (one time, ~6 min)"
        ));
        // Not --locked: the CLI's own lockfile pins a crate version crates.io no longer serves.
        let mut install = self.cargo(["install", "wasm-bindgen-cli", "--version", &wanted]);
        if found.is_some() {
            install.arg("--force");
        }
        run(&mut install)?;
        match tool_version(&self.cargo_bin.join("wasm-bindgen")) {
            Some(v) if v == wanted => Ok(()),
            other => Err(format!(
                "installed wasm-bindgen-cli {wanted}, but it reports {}",
                other.unwrap_or_else(|| "no version".into())
            )),
        }
    }

    fn ensure_wasm_opt(&self) -> Result<PathBuf> {
        let major = BINARYEN_VERSION
            .split('.')
            .next()
            .unwrap_or(BINARYEN_VERSION);
        let prefix = self.tools_dir.join(format!("binaryen-{major}"));
        let bin = prefix.join("node_modules/.bin");
        let wasm_opt = bin.join("wasm-opt");
        let wanted = format!("wasm-opt version {major} ");
        let version = capture(Command::new(&wasm_opt).arg("--version")).ok();
        if version.as_deref().is_some_and(|v| v.starts_with(&wanted)) {
            step_ok(&format!("wasm-opt {major} (binaryen): installed"));
            return Ok(bin);
        }
        step_todo(&format!(
            "wasm-opt {major}: not in {}; installing binaryen@{BINARYEN_VERSION} from npm",
            prefix.display()
        ));
        fs::create_dir_all(&prefix)
            .map_err(|e| format!("cannot create {}: {e}", prefix.display()))?;
        let package = format!("binaryen@{BINARYEN_VERSION}");
        let mut npm = Command::new("npm");
        npm.arg("install")
            .arg("--prefix")
            .arg(&prefix)
            .args(["--no-audit", "--no-fund", &package]);
        run(&mut npm).map_err(|e| {
            format!("{e}\n  wasm-opt comes from npm; install Node.js and npm (e.g. `apt-get install -y nodejs npm`)")
        })?;
        match capture(Command::new(&wasm_opt).arg("--version")) {
            Ok(v) if v.starts_with(&wanted) => Ok(bin),
            Ok(v) => Err(format!("{} reports `{}`", wasm_opt.display(), v.trim())),
            Err(e) => Err(e),
        }
    }

    /// The one `wasm-bindgen` version in Cargo.lock: the CLI must match it exactly.
    fn wasm_bindgen_lock_version(&self) -> Result<String> {
        let lock = read(&self.root.join("Cargo.lock"))?;
        let versions = lock_versions(&lock, "wasm-bindgen");
        match versions.as_slice() {
            [one] => Ok(one.clone()),
            [] => Err(
                "Cargo.lock has no `wasm-bindgen` package; is tandem-client a workspace member?"
                    .into(),
            ),
            many => Err(format!(
                "Cargo.lock holds several wasm-bindgen versions ({}); pin one with `wasm-bindgen = \"=<version>\"` in client/Cargo.toml",
                many.join(", ")
            )),
        }
    }

    /// Trunk.toml's `[tools]` pins must name the tools we install, or Trunk
    /// (offline) refuses to build.
    fn check_trunk_pins(&self, wasm_bindgen: &str) -> Result {
        let trunk_toml = read(&self.root.join("Trunk.toml"))?;
        let bindgen_pin = toml_value(&trunk_toml, "tools", "wasm_bindgen");
        if bindgen_pin.as_deref() != Some(wasm_bindgen) {
            return Err(format!(
                "Trunk.toml pins wasm_bindgen = {}, but Cargo.lock has wasm-bindgen {wasm_bindgen}: \
                 set `wasm_bindgen = \"{wasm_bindgen}\"` under [tools] in Trunk.toml \
                 (and keep `wasm-bindgen = \"={wasm_bindgen}\"` in client/Cargo.toml)",
                quoted_or_missing(bindgen_pin.as_deref()),
            ));
        }
        let opt_pin = toml_value(&trunk_toml, "tools", "wasm_opt");
        if opt_pin.as_deref() != Some(WASM_OPT_PIN) {
            return Err(format!(
                "Trunk.toml pins wasm_opt = {}, but xtask installs binaryen {BINARYEN_VERSION}: \
                 set `wasm_opt = \"{WASM_OPT_PIN}\"` under [tools] in Trunk.toml",
                quoted_or_missing(opt_pin.as_deref()),
            ));
        }
        step_ok(&format!(
            "Trunk.toml pins wasm_bindgen {wasm_bindgen} and wasm_opt {WASM_OPT_PIN}: consistent"
        ));
        Ok(())
    }

    /// A tool installed by `cargo install` (preferred) or anywhere on PATH.
    fn find_tool(&self, name: &str) -> Option<PathBuf> {
        let installed = self.cargo_bin.join(name);
        if installed.is_file() {
            return Some(installed);
        }
        env::split_paths(&env::var_os("PATH").unwrap_or_default())
            .map(|dir| dir.join(name))
            .find(|p| p.is_file())
    }

    // ---- build and run -----------------------------------------------------

    fn build(&self) -> Result {
        self.build_client()?;
        step_todo("cargo build --release -p tandem-server");
        run(&mut self.cargo(["build", "--release", "-p", "tandem-server"]))
    }

    /// Sets up the tools, then builds the web client into `dist/` with its
    /// compressed copies.
    fn build_client(&self) -> Result<Tools> {
        let tools = self.setup()?;
        step_todo("cargo fetch (trunk builds offline)");
        run(&mut self.cargo(["fetch"]))?;

        step_todo("trunk build --release → dist/");
        let mut path = vec![tools.binaryen_bin.clone(), self.cargo_bin.clone()];
        path.extend(env::split_paths(&env::var_os("PATH").unwrap_or_default()));
        let path = env::join_paths(path).map_err(|e| format!("cannot build PATH: {e}"))?;
        let mut trunk = Command::new(&tools.trunk);
        trunk
            .args(["build", "--release"])
            .current_dir(&self.root)
            // binaryen 132 first: Debian's wasm-opt 108 must never be picked up.
            .env("PATH", path)
            // Its update check calls a web API this machine cannot reach.
            .env("TRUNK_SKIP_VERSION_CHECK", "true");
        run(&mut trunk)?;
        if let Some(size) = self.wasm_size() {
            step_ok(&format!("dist/ wasm: {size}"));
        }

        step_todo("brotli and gzip copies of dist/ (served by Accept-Encoding)");
        let start = Instant::now();
        let summary = compress::precompress(&self.root.join("dist"))?;
        step_ok(&format!(
            "{} files, {} B → {} B brotli, {} B gzip, in {}",
            summary.files,
            summary.raw,
            summary.br,
            summary.gz,
            human(start.elapsed())
        ));
        Ok(tools)
    }

    fn wasm_size(&self) -> Option<String> {
        let entries = fs::read_dir(self.root.join("dist")).ok()?;
        let sizes: Vec<String> = entries
            .filter_map(|e| e.ok())
            .filter(|e| e.path().extension().is_some_and(|x| x == "wasm"))
            .filter_map(|e| {
                let len = e.metadata().ok()?.len();
                Some(format!(
                    "{} {} KB",
                    e.file_name().to_string_lossy(),
                    len / 1024
                ))
            })
            .collect();
        (!sizes.is_empty()).then(|| sizes.join(", "))
    }

    fn run(&self, args: &[String]) -> Result {
        let extra = match args.split_first() {
            Some((dashes, rest)) if dashes == "--" => rest,
            _ => args,
        };
        self.build()?;
        let binary = self.target_dir().join("release/tandem");
        let mut tandem = Command::new(&binary);
        tandem
            .args([
                "--listen",
                RUN_LISTEN,
                "--data-dir",
                "data",
                "--static-dir",
                "dist",
            ])
            .args(extra)
            .current_dir(&self.root);
        println!("\nTandem is running at http://{RUN_LISTEN}\n");
        show(&tandem);
        exec(tandem).map_err(|e| format!("cannot start {}: {e}", binary.display()))
    }

    // ---- test --------------------------------------------------------------

    /// `cargo xtask e2e`: the browser part of `test` alone, with `args`
    /// passed to the test binaries.
    fn e2e(&self, args: &[String]) -> Result {
        let mut report = Report::default();
        let outcome = report
            .step("postgresql + redis", || {
                services::Services::start(&self.target_dir())
            })
            .and_then(|services| self.browser_steps(&mut report, &services, args));
        report.print(outcome.is_ok());
        outcome
    }

    /// The release builds, Chromium, the interop clients and the tools the
    /// browser tests use, then every browser test (`--no-fail-fast`); lists
    /// what failed tests saw.
    fn browser_steps(
        &self,
        report: &mut Report,
        services: &services::Services,
        args: &[String],
    ) -> Result {
        report.step("build (release)", || self.build())?;
        // The one-file build, around the client just built, for
        // e2e/tests/single_binary.rs.
        report.step("dist (one file)", || dist::binary(self))?;
        let (chromium, chromedriver) = report.step("chromium", || self.ensure_chromium())?;
        let interop = report.step("interop clients", || self.ensure_interop())?;
        let tools = report.step("browser-test tools", || self.ensure_e2e_tools())?;
        let artifacts = self.target_dir().join("e2e-artifacts/failed");
        let started = std::time::SystemTime::now();
        let browser = report.step("browser tests", || {
            let dist = self.root.join("dist");
            let mut e2e = self.cargo(["test", "-p", "tandem-e2e", "--no-fail-fast"]);
            if !args.is_empty() {
                e2e.arg("--").args(args);
            }
            e2e.env(E2E_DIST_ENV, &dist)
                .env(E2E_CHROMIUM_ENV, &chromium)
                .env(E2E_CHROMEDRIVER_ENV, &chromedriver)
                .env(E2E_SERVER_ENV, self.target_dir().join("release/tandem"))
                .env(E2E_ONE_FILE_ENV, self.target_dir().join("dist/tandem"))
                .env(INTEROP_DIR_ENV, &interop)
                .env(E2E_TOOLS_ENV, &tools);
            // The cluster browser test runs nodes on them, as the
            // integration tests do.
            services.export(&mut e2e);
            run(&mut e2e)
        });
        if browser.is_err() {
            print_failure_artifacts(&artifacts, started);
        }
        browser
    }

    fn test(&self) -> Result {
        let mut report = Report::default();
        let outcome = self.test_steps(&mut report);
        report.print(outcome.is_ok());
        outcome
    }

    fn test_steps(&self, report: &mut Report) -> Result {
        report.step("fmt", || run(&mut self.cargo(["fmt", "--all", "--check"])))?;
        report.step("lint (import circles, ARCHITECTURE paths)", || {
            lint(&self.root)
        })?;
        report.step("clippy (native)", || {
            run(&mut self.cargo([
                "clippy",
                "--workspace",
                "--all-targets",
                "--",
                "-D",
                "warnings",
            ]))
        })?;
        report.step("clippy (wasm32 client)", || {
            self.ensure_wasm_target()?;
            run(&mut self.cargo([
                "clippy",
                "-p",
                "tandem-client",
                "--target",
                WASM_TARGET,
                "--",
                "-D",
                "warnings",
            ]))
        })?;
        // Stopped when dropped at the end of this function, failed or not.
        let services = report.step("postgresql + redis", || {
            services::Services::start(&self.target_dir())
        })?;
        // Every test binary runs, and a failing one does not stop the
        // others nor the browser tests: their failures are reported
        // together at the end.
        let tests = report.step("unit + integration tests", || {
            let mut tests = self.cargo([
                "test",
                "--workspace",
                "--exclude",
                "tandem-e2e",
                "--no-fail-fast",
            ]);
            services.export(&mut tests);
            run(&mut tests)
        });
        let browser = self.browser_steps(report, &services, &[]);
        match (tests, browser) {
            (Ok(()), Ok(())) => Ok(()),
            (Err(e), Ok(())) | (Ok(()), Err(e)) => Err(e),
            (Err(a), Err(b)) => Err(format!("{a}; {b}")),
        }
    }

    /// Installs what the browser tests inject into pages (axe-core, from
    /// `e2e/tools/package.json`) into `target/e2e-tools`, again only when the
    /// list changed.
    fn ensure_e2e_tools(&self) -> Result<PathBuf> {
        let dir = self.target_dir().join("e2e-tools");
        fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        npm_install(
            "browser-test tools",
            &self.root.join("e2e/tools/package.json"),
            &dir,
            &["axe-core"],
        )?;
        Ok(dir)
    }

    /// Installs the stock Yjs clients the interop tests drive into
    /// `target/interop`: `interop/package.json`'s packages with npm, and
    /// `interop/requirements.txt` into a Python venv. Each is installed again
    /// only when its list changed since the last install (a copy of the list
    /// is kept as the stamp) or what it installed is gone.
    fn ensure_interop(&self) -> Result<PathBuf> {
        let source = self.root.join("interop");
        let dir = self.target_dir().join("interop");
        fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;

        npm_install(
            "interop (Node)",
            &source.join("package.json"),
            &dir,
            &["yjs", "y-websocket", "ws"],
        )?;

        let requirements = read(&source.join("requirements.txt"))?;
        let python_stamp = dir.join("requirements.txt.installed");
        let venv = dir.join("venv");
        let python = venv.join("bin/python");
        if python.is_file()
            && fs::read_to_string(&python_stamp).ok().as_deref() == Some(requirements.as_str())
        {
            step_ok("interop (Python): interop/requirements.txt installed");
        } else {
            step_todo(&format!(
                "interop (Python): installing interop/requirements.txt into {}",
                venv.display()
            ));
            if !python.is_file() {
                run(Command::new("python3").args(["-m", "venv"]).arg(&venv)).map_err(|e| {
                    format!("{e}\n  the interop tests need Python 3 with venv (e.g. `apt-get install -y python3-venv`)")
                })?;
            }
            run(Command::new(&python)
                .args(["-m", "pip", "install", "--disable-pip-version-check", "-r"])
                .arg(source.join("requirements.txt")))?;
            write(&python_stamp, &requirements)?;
        }
        Ok(dir)
    }

    /// Browser tests never skip: either Chromium and chromedriver are there
    /// (or can be installed now), or this fails and says how to fix it.
    fn ensure_chromium(&self) -> Result<(PathBuf, PathBuf)> {
        let chromium = env_path(E2E_CHROMIUM_ENV, CHROMIUM);
        let chromedriver = env_path(E2E_CHROMEDRIVER_ENV, CHROMEDRIVER);
        let missing = |c: &Path, d: &Path| !c.is_file() || !d.is_file();
        if !missing(&chromium, &chromedriver) {
            step_ok(&format!(
                "chromium and chromedriver: {} and {}",
                chromium.display(),
                chromedriver.display()
            ));
            return Ok((chromium, chromedriver));
        }
        let packages = CHROMIUM_PACKAGES.join(" ");
        let how = format!("apt-get install -y {packages}");
        let in_ci = env::var("CI").is_ok_and(|v| v == "true" || v == "1");
        let Some(sudo) = root_access() else {
            return Err(format!(
                "browser tests need {} and {}, which are missing, and this user cannot install \
                 them (not root, no passwordless sudo){}.\n  Install them with: sudo {how}",
                chromium.display(),
                chromedriver.display(),
                if in_ci {
                    "; the CI image must provide them"
                } else {
                    ""
                },
            ));
        };
        step_todo(&format!(
            "chromium: missing; installing {packages} with apt-get"
        ));
        let installed = apt_install(&sudo, &CHROMIUM_PACKAGES);
        if missing(&chromium, &chromedriver) {
            let absent: Vec<String> = [&chromium, &chromedriver]
                .iter()
                .filter(|p| !p.is_file())
                .map(|p| p.display().to_string())
                .collect();
            let cause = installed.err().unwrap_or_else(|| {
                format!("the packages do not provide that path (is {E2E_CHROMIUM_ENV} or {E2E_CHROMEDRIVER_ENV} set?)")
            });
            return Err(format!(
                "browser tests need {}, still missing after `{how}`: {cause}",
                absent.join(" and ")
            ));
        }
        step_ok("chromium and chromedriver: installed");
        Ok((chromium, chromedriver))
    }
}

/// The durations of `cargo xtask test`'s steps, printed at the end.
#[derive(Default)]
struct Report {
    /// Name, duration, whether it passed; in the order they ran.
    steps: Vec<(&'static str, Duration, bool)>,
}

impl Report {
    fn step<T>(&mut self, name: &'static str, f: impl FnOnce() -> Result<T>) -> Result<T> {
        println!("\n==> {name}");
        let start = Instant::now();
        let outcome = f();
        self.steps.push((name, start.elapsed(), outcome.is_ok()));
        outcome.map_err(|e| format!("step `{name}` failed: {e}"))
    }

    fn print(&self, passed: bool) {
        let mut out = String::from("\nSummary:\n");
        let total: Duration = self.steps.iter().map(|(_, d, _)| *d).sum();
        for (name, duration, ok) in &self.steps {
            let mark = if *ok { "ok  " } else { "FAIL" };
            let _ = writeln!(out, "  {mark} {name:<26} {}", human(*duration));
        }
        let verdict = if passed { "all passed" } else { "FAILED" };
        let _ = writeln!(out, "  {verdict}, {} in total", human(total));
        print!("{out}");
    }
}

// ---- helpers ---------------------------------------------------------------

/// Installs the packages of `package` (a `package.json`) into `dir` with
/// npm, unless `dir` holds every one of `expected` already and was
/// installed from the same list (a copy of it is kept as the stamp).
fn npm_install(what: &str, package: &Path, dir: &Path, expected: &[&str]) -> Result {
    let list = read(package)?;
    let stamp = dir.join("package.json.installed");
    let ready = expected.iter().all(|p| {
        dir.join("node_modules")
            .join(p)
            .join("package.json")
            .is_file()
    });
    if ready && fs::read_to_string(&stamp).ok().as_deref() == Some(list.as_str()) {
        step_ok(&format!("{what}: {} installed", package.display()));
        return Ok(());
    }
    step_todo(&format!(
        "{what}: installing {} into {}",
        package.display(),
        dir.display()
    ));
    write(&dir.join("package.json"), &list)?;
    let mut npm = Command::new("npm");
    npm.args(["install", "--no-audit", "--no-fund", "--prefix"])
        .arg(dir)
        .current_dir(dir);
    run(&mut npm).map_err(|e| {
        format!(
            "{e}\n  the browser tests need Node.js and npm (e.g. `apt-get install -y nodejs npm`)"
        )
    })?;
    write(&stamp, &list)
}

/// Lists the screenshots and HTML that failed browser tests saved into
/// `dir` since `since`.
fn print_failure_artifacts(dir: &Path, since: std::time::SystemTime) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    let mut failed: Vec<PathBuf> = entries
        .filter_map(|entry| entry.ok())
        .filter(|entry| {
            entry
                .metadata()
                .and_then(|m| m.modified())
                .is_ok_and(|modified| modified >= since)
        })
        .map(|entry| entry.path())
        .collect();
    if failed.is_empty() {
        return;
    }
    failed.sort();
    println!("\nWhat the failed browser tests saw:");
    for path in failed {
        println!("  {}", path.display());
    }
}

fn step_ok(message: &str) {
    println!("   ok: {message}");
}

fn step_todo(message: &str) {
    println!("==> {message}");
}

fn show(cmd: &Command) {
    let mut line = cmd.get_program().to_string_lossy().into_owned();
    for arg in cmd.get_args() {
        line.push(' ');
        line.push_str(&arg.to_string_lossy());
    }
    println!("   $ {line}");
}

/// `cargo fmt`, `trunk build`, `npm install`: the program and its first argument.
fn describe(cmd: &Command) -> String {
    let program = Path::new(cmd.get_program());
    let mut name = program
        .file_name()
        .unwrap_or(program.as_os_str())
        .to_string_lossy()
        .into_owned();
    if let Some(first) = cmd
        .get_args()
        .next()
        .filter(|a| !a.to_string_lossy().starts_with('-'))
    {
        name.push(' ');
        name.push_str(&first.to_string_lossy());
    }
    name
}

/// The structure lints: no import circle in any crate ([`imports`]), and
/// every source path docs/ARCHITECTURE.md names exists ([`doc_paths`]).
/// Both are reported before failing.
fn lint(root: &Path) -> Result {
    let circles = imports::check(root);
    let paths = doc_paths::check(root);
    match (circles, paths) {
        (Ok(()), Ok(())) => Ok(()),
        (Err(e), Ok(())) | (Ok(()), Err(e)) => Err(e),
        (Err(a), Err(b)) => Err(format!("{a}\n{b}")),
    }
}

/// Runs `cmd` with inherited output; a non-zero exit is an error.
fn run(cmd: &mut Command) -> Result {
    show(cmd);
    let status = cmd
        .status()
        .map_err(|e| format!("cannot run `{}`: {e}", describe(cmd)))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("`{}` failed ({status})", describe(cmd)))
    }
}

/// Runs `cmd` quietly and returns its stdout.
fn capture(cmd: &mut Command) -> Result<String> {
    let output = cmd
        .output()
        .map_err(|e| format!("cannot run `{}`: {e}", describe(cmd)))?;
    if !output.status.success() {
        return Err(format!(
            "`{}` exited with {}: {}",
            describe(cmd),
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// The version a tool prints as `<name> <version>` on `--version`.
fn tool_version(path: &Path) -> Option<String> {
    let out = capture(Command::new(path).arg("--version")).ok()?;
    out.split_whitespace().nth(1).map(str::to_owned)
}

fn describe_found(found: Option<&Path>) -> String {
    match found {
        None => "not installed".into(),
        Some(path) => match tool_version(path) {
            Some(v) => format!("{} is {v}", path.display()),
            None => format!("{} does not report a version", path.display()),
        },
    }
}

fn quoted_or_missing(value: Option<&str>) -> String {
    value.map_or_else(|| "nothing".into(), |v| format!("\"{v}\""))
}

fn read(path: &Path) -> Result<String> {
    fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
}

fn write(path: &Path, contents: &str) -> Result {
    fs::write(path, contents).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

fn env_path(var: &str, default: &str) -> PathBuf {
    env::var_os(var)
        .filter(|v| !v.is_empty())
        .map_or_else(|| PathBuf::from(default), PathBuf::from)
}

/// The versions of `name` listed in a Cargo.lock.
fn lock_versions(lock: &str, name: &str) -> Vec<String> {
    let wanted = format!("name = \"{name}\"");
    let mut versions = Vec::new();
    let mut lines = lock.lines().map(str::trim);
    while let Some(line) = lines.next() {
        if line == wanted
            && let Some(version) = lines.next().and_then(|l| l.strip_prefix("version = "))
        {
            versions.push(version.trim_matches('"').to_owned());
        }
    }
    versions
}

/// A string value `key = "…"` from `[section]` of a simple TOML file.
fn toml_value(toml: &str, section: &str, key: &str) -> Option<String> {
    let header = format!("[{section}]");
    let mut in_section = false;
    for line in toml.lines().map(str::trim) {
        if line.starts_with('[') {
            in_section = line == header;
        } else if in_section {
            let Some((k, v)) = line.split_once('=') else {
                continue;
            };
            if k.trim() == key {
                let v = v.split('#').next().unwrap_or_default().trim();
                return Some(v.trim_matches('"').to_owned());
            }
        }
    }
    None
}

/// Installs Debian `packages` with apt-get (`sudo` as [`root_access`]
/// found it), retrying a few times: dpkg may be locked by another install
/// (unattended upgrades, a neighbour's apt).
fn apt_install(sudo: &[&str], packages: &[&str]) -> Result {
    // `env` passes DEBIAN_FRONTEND through sudo, which resets the environment.
    let apt = |args: &[&str]| {
        let mut line = sudo.to_vec();
        line.extend(["env", "DEBIAN_FRONTEND=noninteractive", "apt-get"]);
        line.extend(args);
        let mut cmd = Command::new(line[0]);
        cmd.args(&line[1..]);
        cmd
    };
    let mut install = vec!["install", "-y"];
    install.extend(packages);
    let mut last = Ok(());
    for attempt in 1..=5 {
        last = run(&mut apt(&["update"])).and_then(|()| run(&mut apt(&install)));
        if last.is_ok() {
            break;
        }
        if attempt < 5 {
            eprintln!(
                "   apt-get failed (attempt {attempt} of 5; dpkg may be locked), retrying in 15 s"
            );
            std::thread::sleep(Duration::from_secs(15));
        }
    }
    last
}

/// How to run apt-get as root: directly, through passwordless sudo, or not at all.
fn root_access() -> Option<Vec<&'static str>> {
    let uid = capture(Command::new("id").arg("-u")).ok()?;
    if uid.trim() == "0" {
        return Some(vec![]);
    }
    let sudo_ok = Command::new("sudo")
        .args(["-n", "true"])
        .output()
        .is_ok_and(|o| o.status.success());
    sudo_ok.then(|| vec!["sudo", "-n"])
}

fn human(d: Duration) -> String {
    let secs = d.as_secs();
    if secs >= 60 {
        format!("{}m{:02}s", secs / 60, secs % 60)
    } else {
        format!("{:.1}s", d.as_secs_f64())
    }
}

/// Replaces this process with `cmd` (so Ctrl-C and the exit code are the server's).
#[cfg(unix)]
fn exec(mut cmd: Command) -> std::io::Result<()> {
    use std::os::unix::process::CommandExt;
    Err(cmd.exec())
}

#[cfg(not(unix))]
fn exec(mut cmd: Command) -> std::io::Result<()> {
    let status = cmd.status()?;
    std::process::exit(status.code().unwrap_or(1));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_locked_versions() {
        let lock = "[[package]]\nname = \"wasm-bindgen\"\nversion = \"0.2.130\"\nsource = \"x\"\n\n\
                    [[package]]\nname = \"wasm-bindgen-futures\"\nversion = \"0.4.1\"\n";
        assert_eq!(lock_versions(lock, "wasm-bindgen"), ["0.2.130"]);
        assert!(lock_versions(lock, "trunk").is_empty());
    }

    #[test]
    fn reads_a_pin_from_its_section() {
        let toml = "[build]\nwasm_bindgen = \"no\"\n\n[tools]\n# note\nwasm_bindgen = \"0.2.130\" # pinned\nwasm_opt = \"version_132\"\n";
        assert_eq!(
            toml_value(toml, "tools", "wasm_bindgen").as_deref(),
            Some("0.2.130")
        );
        assert_eq!(
            toml_value(toml, "tools", "wasm_opt").as_deref(),
            Some("version_132")
        );
        assert_eq!(toml_value(toml, "build", "wasm_opt"), None);
    }

    #[test]
    fn durations_read_well() {
        assert_eq!(human(Duration::from_millis(1500)), "1.5s");
        assert_eq!(human(Duration::from_secs(125)), "2m05s");
    }
}
