//! `deploy/tandem.service`, the systemd unit: `systemd-analyze verify`
//! accepts every line of it (unknown keys and bad values are only warnings
//! there, so any warning fails this test too), its command line is one
//! `tandem` parses to a server on the directory the unit lets it write,
//! and the hardening the deployment notes promise is in it.
//!
//! Needs `systemd-analyze` (Debian's `systemd` package); fails, never
//! skips, without it.

use std::collections::HashMap;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use clap::Parser as _;
use tandem_server::cli::Cli;
use tandem_testkit::TempDir;

/// The unit as the repository ships it.
fn unit() -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/tandem.service");
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

/// Every `Key=value` of `[section]`, values of repeated keys in order.
fn section(unit: &str, name: &str) -> HashMap<String, Vec<String>> {
    let mut keys: HashMap<String, Vec<String>> = HashMap::new();
    let mut inside = false;
    for line in unit.lines().map(str::trim) {
        if line.starts_with('[') {
            inside = line == format!("[{name}]");
        } else if inside && !line.is_empty() && !line.starts_with('#') {
            let (key, value) = line.split_once('=').expect("Key=value");
            keys.entry(key.to_owned())
                .or_default()
                .push(value.to_owned());
        }
    }
    keys
}

#[test]
fn systemd_accepts_every_line_of_the_unit() {
    // The installed path does not exist here: the test binary stands in.
    let unit = unit().replace("/usr/local/bin/tandem", env!("CARGO_BIN_EXE_tandem"));
    let dir = TempDir::new("unit");
    let file = dir.path().join("tandem.service");
    std::fs::write(&file, unit).expect("write the unit");
    let verified = Command::new("systemd-analyze")
        .args(["verify", "--man=no"])
        .arg(&file)
        .output()
        .unwrap_or_else(|e| {
            panic!("cannot run systemd-analyze ({e}): install Debian's `systemd` package")
        });
    let warnings = String::from_utf8_lossy(&verified.stderr);
    assert!(verified.status.success(), "{warnings}");
    let about_it: Vec<&str> = warnings
        .lines()
        .filter(|l| l.contains("tandem.service"))
        .collect();
    assert!(
        about_it.is_empty(),
        "systemd warns about the unit:\n{warnings}"
    );
}

#[test]
fn the_unit_runs_a_hardened_server_that_drains_on_stop() {
    let unit = unit();
    let service = section(&unit, "Service");
    let one = |key: &str| -> &str {
        match service.get(key).map(Vec::as_slice) {
            Some([value]) => value,
            other => panic!("[Service] {key}: expected one value, found {other:?}"),
        }
    };
    for (key, value) in [
        ("User", "tandem"),
        ("Group", "tandem"),
        ("StateDirectory", "tandem"),
        ("ProtectSystem", "strict"),
        ("ReadWritePaths", "/var/lib/tandem"),
        ("NoNewPrivileges", "yes"),
        ("ProtectHome", "yes"),
        ("PrivateTmp", "yes"),
        ("PrivateDevices", "yes"),
        ("RestrictSUIDSGID", "yes"),
        ("MemoryDenyWriteExecute", "yes"),
        ("CapabilityBoundingSet", ""),
        ("KillSignal", "SIGTERM"),
    ] {
        assert_eq!(one(key), value, "[Service] {key}");
    }

    // The command line is a server (no subcommand) on the one directory it
    // may write, and it parses.
    let command = one("ExecStart");
    let argv: Vec<&str> = command.split_whitespace().collect();
    assert_eq!(argv[0], "/usr/local/bin/tandem");
    let cli = Cli::try_parse_from(argv.iter().map(|a| a.replace("/usr/local/bin/", "")))
        .unwrap_or_else(|e| panic!("`{command}` does not parse: {e}"));
    assert!(cli.command.is_none(), "the unit serves");
    assert_eq!(cli.config.data_dir, Path::new(one("ReadWritePaths")));
    assert!(
        cli.config.listen.ip().is_loopback(),
        "behind nginx on the same machine: {}",
        cli.config.listen
    );

    // Stopping waits for the drain (SIGTERM, then --shutdown-timeout).
    let stop = humantime::parse_duration(one("TimeoutStopSec")).expect("a duration");
    assert!(
        stop > cli.config.shutdown_timeout + Duration::from_secs(5),
        "systemd waits {stop:?}, longer than the drain's {:?}",
        cli.config.shutdown_timeout
    );
    let files: u64 = one("LimitNOFILE").parse().expect("a number");
    assert!(
        files > cli.config.max_connections as u64,
        "room for --max-connections sockets"
    );
}
