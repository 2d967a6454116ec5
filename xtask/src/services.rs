//! PostgreSQL and Redis for a test run (the cluster tests of issue 20).
//!
//! When `TANDEM_TEST_DATABASE_URL` and `TANDEM_TEST_REDIS_URL` are set, they
//! are used as they are. Otherwise Debian's `postgresql`, `redis-server` and
//! `nginx` are installed when missing, and a private PostgreSQL and Redis
//! are started for the run: their own data directories under
//! `target/services/run-{pid}/` (removed at the end; a later run stops and
//! removes what a killed run left), free loopback ports, PostgreSQL as the `postgres`
//! user (it refuses to run as root). [`Services`] stops them when dropped,
//! so they stop when the tests fail too. Their URLs go to the test
//! processes in the same variables, and `TANDEM_TEST_REDIS_SERVER` names the
//! `redis-server` binary for the tests that stop and restart a Redis of
//! their own.

use std::env;
use std::fs;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::{Result, apt_install, capture, root_access, run, step_ok, step_todo};

/// The PostgreSQL the tests use (a superuser URL: tests create databases).
pub(crate) const DATABASE_URL_ENV: &str = "TANDEM_TEST_DATABASE_URL";
/// The Redis the tests use.
pub(crate) const REDIS_URL_ENV: &str = "TANDEM_TEST_REDIS_URL";
/// The `redis-server` binary, for tests that run and restart their own.
pub(crate) const REDIS_SERVER_ENV: &str = "TANDEM_TEST_REDIS_SERVER";
/// The `nginx` binary, for the load balancer test.
pub(crate) const NGINX_ENV: &str = "TANDEM_TEST_NGINX";

/// Debian's packages providing the services.
const PACKAGES: [&str; 3] = ["postgresql", "redis-server", "nginx"];
/// Where Debian puts PostgreSQL's server binaries, one folder per major version.
const POSTGRES_LIB: &str = "/usr/lib/postgresql";
const REDIS_SERVER: &str = "/usr/bin/redis-server";
const NGINX: &str = "/usr/sbin/nginx";
/// How long a service may take to accept connections.
const READY_WITHIN: Duration = Duration::from_secs(30);

/// The services of one test run; dropping it stops those it started.
pub(crate) struct Services {
    /// What the tests connect to.
    database_url: String,
    redis_url: String,
    /// A private PostgreSQL started here, to stop at the end.
    postgres: Option<PrivatePostgres>,
    /// A private Redis started here, to kill at the end.
    redis: Option<Child>,
    /// This run's folder under `target/services/`, removed at the end.
    dir: Option<PathBuf>,
}

/// A PostgreSQL cluster this run created.
struct PrivatePostgres {
    /// `pg_ctl`, run as `postgres` when we are root.
    pg_ctl: PathBuf,
    /// The cluster's data directory.
    data: PathBuf,
    /// Whether commands must run through `runuser -u postgres`.
    as_postgres: bool,
}

impl Services {
    /// The configured services, or private ones started under `target`.
    pub(crate) fn start(target: &Path) -> Result<Self> {
        let given = (
            env::var(DATABASE_URL_ENV).ok(),
            env::var(REDIS_URL_ENV).ok(),
        );
        if let (Some(database_url), Some(redis_url)) = given {
            step_ok(&format!(
                "PostgreSQL and Redis from {DATABASE_URL_ENV} and {REDIS_URL_ENV}"
            ));
            return Ok(Self {
                database_url,
                redis_url,
                postgres: None,
                redis: None,
                dir: None,
            });
        }
        ensure_installed()?;
        let root = target.join("services");
        sweep_abandoned(&root);
        // One folder per run, so two runs at once (a test run and a bench,
        // two engineers) never stop each other's services.
        let dir = root.join(format!("run-{}", std::process::id()));
        fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        let mut services = Self {
            database_url: String::new(),
            redis_url: String::new(),
            postgres: None,
            redis: None,
            dir: Some(dir.clone()),
        };
        let (redis, redis_url) = start_redis(&dir.join("redis"))?;
        services.redis = Some(redis);
        services.redis_url = redis_url;
        let (postgres, database_url) = start_postgres(&dir.join("postgres"))?;
        services.postgres = Some(postgres);
        services.database_url = database_url;
        step_ok(&format!(
            "private PostgreSQL at {} and Redis at {}",
            services.database_url, services.redis_url
        ));
        Ok(services)
    }

    /// Passes the services to a test process.
    pub(crate) fn export(&self, cmd: &mut Command) {
        cmd.env(DATABASE_URL_ENV, &self.database_url)
            .env(REDIS_URL_ENV, &self.redis_url)
            .env(REDIS_SERVER_ENV, REDIS_SERVER)
            .env(NGINX_ENV, NGINX);
    }
}

/// `cargo xtask services -- CMD…`: runs CMD with the services exported.
pub(crate) fn run_with(target: &Path, args: &[String]) -> Result {
    let args = match args.split_first() {
        Some((dashes, rest)) if dashes == "--" => rest,
        _ => args,
    };
    let Some((program, rest)) = args.split_first() else {
        return Err("usage: cargo xtask services -- CMD [ARGS…]".into());
    };
    let services = Services::start(target)?;
    let mut cmd = Command::new(program);
    cmd.args(rest);
    services.export(&mut cmd);
    run(&mut cmd)
}

impl Drop for Services {
    fn drop(&mut self) {
        if let Some(mut redis) = self.redis.take() {
            let _ = redis.kill();
            let _ = redis.wait();
        }
        if let Some(postgres) = self.postgres.take() {
            postgres.stop("fast");
        }
        if let Some(dir) = self.dir.take() {
            let _ = fs::remove_dir_all(dir);
        }
    }
}

/// Stops and removes what earlier runs left under `root` when they were
/// killed before they could clean up: folders of runs whose process is gone
/// (`run-{pid}`), and the single shared folder older versions used. A
/// folder whose run is still alive is left alone.
fn sweep_abandoned(root: &Path) {
    let Ok(entries) = fs::read_dir(root) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        let owner = name
            .strip_prefix("run-")
            .and_then(|pid| pid.parse::<u32>().ok());
        if owner.is_some_and(running) {
            continue;
        }
        let dir = entry.path();
        let run_dir = if owner.is_some() {
            dir.clone()
        } else {
            root.to_path_buf()
        };
        stop_leftovers(&run_dir);
        let _ = fs::remove_dir_all(&dir);
    }
}

/// Whether process `pid` is running (a killed one its parent has not reaped
/// yet is a zombie: not running).
fn running(pid: u32) -> bool {
    fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        // The state follows the command name, which is in parentheses.
        stat.rsplit_once(')')
            .is_some_and(|(_, rest)| !rest.trim_start().starts_with('Z'))
    })
}

/// Stops a PostgreSQL and a Redis left running in `dir` by a run that died.
fn stop_leftovers(dir: &Path) {
    let data = dir.join("postgres").join("data");
    if data.join("postmaster.pid").is_file()
        && let Some(bin) = postgres_bin()
    {
        let postgres = PrivatePostgres {
            pg_ctl: bin.join("pg_ctl"),
            data,
            as_postgres: root_access().is_some_and(|sudo| sudo.is_empty()),
        };
        postgres.stop("immediate");
    }
    let pid = fs::read_to_string(dir.join("redis").join("pid"));
    if let Some(pid) = pid.ok().and_then(|p| p.trim().parse::<u32>().ok()) {
        // Only if that process is still a redis-server: the number may
        // have been reused.
        let comm = fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
        if comm.trim() == "redis-server" {
            let _ = Command::new("kill").arg(pid.to_string()).status();
        }
    }
}

impl PrivatePostgres {
    fn command(&self, program: &Path) -> Command {
        if self.as_postgres {
            let mut cmd = Command::new("runuser");
            cmd.args(["-u", "postgres", "--"]).arg(program);
            cmd
        } else {
            Command::new(program)
        }
    }

    fn stop(&self, mode: &str) {
        let _ = self
            .command(&self.pg_ctl)
            .arg("-D")
            .arg(&self.data)
            .args(["-m", mode, "-w", "stop"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

/// Installs Debian's packages when a binary is missing, retrying while
/// dpkg is locked by another install.
fn ensure_installed() -> Result {
    if postgres_bin().is_some() && Path::new(REDIS_SERVER).is_file() && Path::new(NGINX).is_file() {
        return Ok(());
    }
    let packages = PACKAGES.join(" ");
    let Some(sudo) = root_access() else {
        return Err(format!(
            "the cluster tests need PostgreSQL, Redis and nginx: set {DATABASE_URL_ENV} and \
             {REDIS_URL_ENV}, or install them with: sudo apt-get install -y {packages}"
        ));
    };
    step_todo(&format!("services: installing {packages} with apt-get"));
    apt_install(&sudo, &PACKAGES)?;
    if postgres_bin().is_none() {
        return Err(format!(
            "no PostgreSQL under {POSTGRES_LIB} after installing"
        ));
    }
    Ok(())
}

/// The newest installed PostgreSQL's `bin` folder.
fn postgres_bin() -> Option<PathBuf> {
    let mut versions: Vec<(u32, PathBuf)> = fs::read_dir(POSTGRES_LIB)
        .ok()?
        .filter_map(|entry| {
            let entry = entry.ok()?;
            let major = entry.file_name().to_str()?.parse().ok()?;
            let bin = entry.path().join("bin");
            bin.join("initdb").is_file().then_some((major, bin))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, bin)| bin)
}

/// A loopback port nobody listens on right now.
fn free_port() -> Result<u16> {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| format!("cannot find a free port: {e}"))
}

/// Waits until something accepts connections on `port`.
fn wait_listening(what: &str, port: u16) -> Result {
    let deadline = Instant::now() + READY_WITHIN;
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        if Instant::now() > deadline {
            return Err(format!(
                "{what} did not listen on port {port} within {READY_WITHIN:?}"
            ));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Ok(())
}

fn start_redis(dir: &Path) -> Result<(Child, String)> {
    let _ = fs::remove_dir_all(dir);
    fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let port = free_port()?;
    let log = fs::File::create(dir.join("log")).map_err(|e| format!("redis log: {e}"))?;
    let mut cmd = Command::new(REDIS_SERVER);
    cmd.args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
        .args(["--save", "", "--appendonly", "no", "--dir"])
        .arg(dir)
        // Read by a later run if this one dies without stopping it.
        .arg("--pidfile")
        .arg(dir.join("pid"))
        .stdout(log)
        .stderr(Stdio::null());
    super::show(&cmd);
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("cannot start {REDIS_SERVER}: {e}"))?;
    if let Err(err) = wait_listening("redis-server", port) {
        let _ = child.kill();
        return Err(err);
    }
    Ok((child, format!("redis://127.0.0.1:{port}")))
}

fn start_postgres(dir: &Path) -> Result<(PrivatePostgres, String)> {
    let bin = postgres_bin().ok_or_else(|| format!("no PostgreSQL under {POSTGRES_LIB}"))?;
    let as_postgres = root_access().is_some_and(|sudo| sudo.is_empty());
    let postgres = PrivatePostgres {
        pg_ctl: bin.join("pg_ctl"),
        data: dir.join("data"),
        as_postgres,
    };
    let _ = fs::remove_dir_all(dir);
    fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    if as_postgres {
        capture(
            Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(dir),
        )?;
    }
    let port = free_port()?;
    run(postgres
        .command(&bin.join("initdb"))
        .arg("-D")
        .arg(&postgres.data)
        .args(["-A", "trust", "-U", "postgres", "--no-sync"])
        .stdout(Stdio::null()))?;
    let options = format!(
        "-p {port} -k {} -c listen_addresses=127.0.0.1 -c max_connections=400",
        dir.display()
    );
    run(postgres
        .command(&postgres.pg_ctl)
        .arg("-D")
        .arg(&postgres.data)
        .arg("-l")
        .arg(dir.join("log"))
        .args(["-w", "-o", &options, "start"])
        .stdout(Stdio::null()))?;
    wait_listening("PostgreSQL", port)?;
    Ok((
        postgres,
        format!("postgres://postgres@127.0.0.1:{port}/postgres"),
    ))
}
