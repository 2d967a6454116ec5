//! Where the harness keeps its files: everything under the cargo target
//! directory, so `cargo clean` removes it and nothing piles up in `/tmp`.
//!
//! ```text
//! target/e2e-tmp/<pid>/          one folder per test process
//!     chromedriver.log           chromedriver's output
//!     tmp/                       TMPDIR of chromedriver and Chromium
//!     profile-<n>/               a session's --user-data-dir (removed on close)
//!     server-<n>/                a TestServer's data dir (removed when it stops cleanly)
//! target/e2e-artifacts/          views some tests keep, passing or not
//!     failed/                    screenshots and HTML of failed tests
//! ```

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

/// The cargo target directory (`CARGO_TARGET_DIR`, else the workspace's `target/`).
pub(crate) fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            let e2e = Path::new(env!("CARGO_MANIFEST_DIR"));
            e2e.parent().unwrap_or(e2e).join("target")
        })
}

/// This process's scratch folder, created on first use; folders left by
/// processes that have exited are removed then.
pub(crate) fn process_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let root = target_dir().join("e2e-tmp");
        remove_stale(&root);
        let dir = root.join(std::process::id().to_string());
        create(&dir);
        // Absolute and without `..`: chromedriver cannot find a profile
        // given as `…/e2e/../target/…` ("Could not read in devtools port number").
        std::fs::canonicalize(&dir).unwrap_or(dir)
    })
}

/// A fresh, empty folder `<process_dir>/<prefix>-<n>`.
pub(crate) fn fresh_dir(prefix: &str) -> PathBuf {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let dir = process_dir().join(format!("{prefix}-{n}"));
    create(&dir);
    dir
}

/// `target/e2e-artifacts/`, created on first use.
pub(crate) fn artifacts_dir() -> PathBuf {
    let dir = target_dir().join("e2e-artifacts");
    create(&dir);
    dir
}

/// `target/e2e-artifacts/failed/`, where failed tests leave what they saw
/// (`cargo xtask test` lists what a run left there).
pub(crate) fn failure_artifacts_dir() -> PathBuf {
    let dir = artifacts_dir().join("failed");
    create(&dir);
    dir
}

fn create(dir: &Path) {
    if let Err(err) = std::fs::create_dir_all(dir) {
        panic!("cannot create {}: {err}", dir.display());
    }
}

/// Removes `<root>/<pid>` folders whose process is gone. Linux only (it asks
/// `/proc`); elsewhere old folders stay until `cargo clean`.
fn remove_stale(root: &Path) {
    if !Path::new("/proc/self").exists() {
        return;
    }
    let Ok(entries) = std::fs::read_dir(root) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name.to_str().filter(|n| n.parse::<u32>().is_ok()) else {
            continue;
        };
        if !Path::new("/proc").join(pid).exists() {
            // Best effort: a folder we cannot remove only costs disk space.
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

/// The last 4,000 bytes of the log at `path` (on a character boundary), and
/// where the whole log is: what a failing test prints about a process.
pub(crate) fn log_tail(path: &Path) -> String {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(err) => return format!("(cannot read {}: {err})", path.display()),
    };
    let start = text.len().saturating_sub(4000);
    let start = (start..text.len())
        .find(|&i| text.is_char_boundary(i))
        .unwrap_or(text.len());
    format!("{}\n(full log: {})", &text[start..], path.display())
}
