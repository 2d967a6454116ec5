//! Start-up problems are one clear line on stderr and exit code 1, before the
//! server listens; `--help` lists every option.

use std::process::Command;

use tandem_testkit::TempDir;

fn tandem(args: &[&str]) -> (i32, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_tandem"))
        .args(["--listen", "127.0.0.1:0", "--static-dir", "/nonexistent"])
        .args(args)
        .env_remove("RUST_LOG")
        .output()
        .expect("run tandem");
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    (output.status.code().unwrap_or(-1), stderr)
}

#[test]
fn an_unusable_data_directory_is_a_clear_error() {
    let file = TempDir::new("not-a-dir");
    let blocker = file.path().join("file");
    std::fs::write(&blocker, b"").expect("write");
    let data_dir = blocker.join("data");
    let (code, stderr) = tandem(&["--data-dir", data_dir.to_str().expect("utf-8")]);
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("error: cannot open storage in"), "{stderr}");
    assert!(stderr.contains("Not a directory"), "{stderr}");
    assert!(
        !stderr.contains("listening"),
        "it must fail before listening: {stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn a_database_from_a_newer_version_is_refused() {
    let dir = TempDir::new("newer");
    {
        let conn = rusqlite::Connection::open(dir.path().join("tandem.db")).expect("open");
        conn.pragma_update(None, "user_version", 99)
            .expect("pragma");
    }
    let (code, stderr) = tandem(&["--data-dir", dir.path().to_str().expect("utf-8")]);
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains("newer than this server understands"),
        "{stderr}"
    );
}

#[test]
fn a_weak_secret_is_refused() {
    let dir = TempDir::new("secret");
    let (code, stderr) = tandem(&[
        "--data-dir",
        dir.path().to_str().expect("utf-8"),
        "--secret",
        "short",
    ]);
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("at least 32 characters"), "{stderr}");
}

#[test]
fn help_lists_every_option() {
    let output = Command::new(env!("CARGO_BIN_EXE_tandem"))
        .arg("--help")
        .output()
        .expect("run");
    let help = String::from_utf8_lossy(&output.stdout);
    for option in [
        "--listen",
        "--data-dir",
        "--store",
        "--static-dir",
        "--log",
        "--log-format",
        "--heartbeat",
        "--room-idle",
        "--allowed-origins",
        "--secret",
        "--max-connections",
        "--rate-limit",
        "--max-message-bytes",
        "--max-document-bytes",
        "--history-interval",
        "--history-keep-all",
        "--history-keep-hourly",
        "TANDEM_LISTEN",
        "TANDEM_DATA_DIR",
    ] {
        assert!(help.contains(option), "--help lacks {option}:\n{help}");
    }
}
