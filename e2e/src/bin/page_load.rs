//! `page-load`: how long a person waits for a document, from navigation to
//! an editor that is connected and accepts typing, and how many bytes the
//! page transfers for it, on a first visit (a fresh browser profile) and a
//! repeat visit (the service worker and HTTP cache warm). A measurement, not
//! a test: nothing is asserted.
//!
//! ```sh
//! TANDEM_E2E_DIST=$PWD/dist cargo run -p tandem-e2e --bin page-load [-- BASELINE_DIST]
//! ```
//!
//! It compares two builds of the client, each served by the real server in
//! process (SQLite in a scratch folder, loopback only):
//!
//! - **current**: `TANDEM_E2E_DIST` as `cargo xtask build` wrote it, with its
//!   brotli and gzip copies;
//! - **baseline**: `BASELINE_DIST` if given (for example a `dist/` built from
//!   an older commit), otherwise a copy of the current build without the
//!   compressed copies, so the server sends every asset as it is, as it did
//!   before the build compressed them.
//!
//! Each build is loaded over loopback as it is, and over a link shaped by
//! Chromium's network emulation like a slow mobile connection (150 ms
//! round trip, 1.6 Mbit/s down, 750 kbit/s up). A script registered before
//! the page's own stamps `performance.now()` (milliseconds since the
//! navigation started) the moment the connection badge says `connected` and
//! the editor is enabled; the bytes are the `transferSize` of the page's
//! Resource Timing entries (navigation and same-origin resources; the
//! WebSocket is not among them). Each cell is the median of [`RUNS`] runs.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use serde_json::{Value, json};
use tandem_e2e::{Browser, Page, start_server_serving};

/// Runs per build, link and visit.
const RUNS: usize = 5;

/// Waiting for one page to become ready, however slow the shaped link.
const READY: Duration = Duration::from_secs(120);

/// Registered in every new document before its own scripts: stamps the
/// moment the editor is connected and editable.
const STAMP_READY: &str = r#"
(() => {
  const ready = () => {
    const badge = document.querySelector('[data-testid="connection-state"]');
    const editor = document.querySelector('[data-testid="editor"]');
    return badge !== null && badge.dataset.state === 'connected'
      && editor !== null && !editor.disabled && !editor.readOnly;
  };
  const observer = new MutationObserver(() => {
    if (window.__tandemReady === undefined && ready()) {
      window.__tandemReady = performance.now();
      observer.disconnect();
    }
  });
  observer.observe(document, { subtree: true, childList: true, attributes: true });
})();
"#;

/// The page's transfer, read once it is ready: Resource Timing's
/// `transferSize` of the navigation and of the same-origin resources.
const TRANSFER: &str = r#"
const entries = [
  ...performance.getEntriesByType('navigation'),
  ...performance.getEntriesByType('resource').filter((e) => new URL(e.name).origin === location.origin),
];
return entries.reduce((sum, e) => sum + (e.transferSize || 0), 0);
"#;

/// A network shape: (name, latency ms, download and upload bytes per second;
/// -1 leaves the link as it is).
type Link = (&'static str, u32, i64, i64);

const LINKS: [Link; 2] = [
    ("loopback", 0, -1, -1),
    ("slow mobile (150 ms, 1.6 Mbit/s)", 150, 200_000, 93_750),
];

/// One page load's figures.
#[derive(Debug, Clone, Copy)]
struct Load {
    ready_ms: f64,
    bytes: u64,
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> ExitCode {
    let Some(current) = std::env::var_os(tandem_e2e::env::DIST).filter(|v| !v.is_empty()) else {
        eprintln!(
            "error: set {0} to the built client, e.g.\n  \
             {0}=$PWD/dist cargo run -p tandem-e2e --bin page-load [-- BASELINE_DIST]",
            tandem_e2e::env::DIST
        );
        return ExitCode::FAILURE;
    };
    let current = PathBuf::from(current);
    let baseline = match std::env::args_os().nth(1) {
        Some(dir) => PathBuf::from(dir),
        None => match uncompressed_copy(&current) {
            Ok(dir) => dir,
            Err(err) => {
                eprintln!(
                    "error: cannot copy {} without its compressed files: {err}",
                    current.display()
                );
                return ExitCode::FAILURE;
            }
        },
    };

    let browser = Browser::start().await;
    println!("page load, navigation → connected and editable editor; median of {RUNS} runs");
    println!("| build | link | first visit | bytes | repeat visit | bytes |");
    println!("|---|---|---|---|---|---|");
    for (name, dist) in [("baseline", &baseline), ("current", &current)] {
        for link in LINKS {
            let (first, repeat) = measure(&browser, dist, link).await;
            println!(
                "| {name} | {} | {:.0} ms | {} B | {:.0} ms | {} B |",
                link.0,
                median(first.iter().map(|l| l.ready_ms)),
                median(first.iter().map(|l| l.bytes as f64)),
                median(repeat.iter().map(|l| l.ready_ms)),
                median(repeat.iter().map(|l| l.bytes as f64)),
            );
        }
    }
    println!(
        "baseline: {}\ncurrent: {}",
        baseline.display(),
        current.display()
    );
    drop(browser);
    ExitCode::SUCCESS
}

/// Loads a document [`RUNS`] times from `dist` over `link`, each time in a
/// fresh profile and then once more in the same one.
async fn measure(browser: &Browser, dist: &Path, link: Link) -> (Vec<Load>, Vec<Load>) {
    let mut server = start_server_serving(tandem_server::Config::default(), dist.to_owned()).await;
    let (mut first, mut repeat) = (Vec::new(), Vec::new());
    for run in 0..RUNS {
        let page = browser.session(server.url()).await;
        page.cdp(
            "Page.addScriptToEvaluateOnNewDocument",
            json!({ "source": STAMP_READY }),
        )
        .await;
        page.cdp(
            "Network.emulateNetworkConditions",
            json!({
                "offline": false,
                "latency": link.1,
                "downloadThroughput": link.2,
                "uploadThroughput": link.3,
            }),
        )
        .await;
        let path = format!("/d/page-load-{run}");
        page.goto(&path).await;
        first.push(loaded(&page).await);
        // The repeat visit is the one the service worker serves.
        page.wait_for_service_worker(READY).await;
        page.goto(&path).await;
        repeat.push(loaded(&page).await);
        page.close().await;
    }
    server.stop().await;
    (first, repeat)
}

/// Waits for the stamp of the page just navigated to, and reads its transfer.
async fn loaded(page: &Page) -> Load {
    let ready_ms = page
        .wait_for_script(
            "the editor to be connected and editable",
            READY,
            "return window.__tandemReady === undefined ? null : window.__tandemReady",
            Value::as_f64,
        )
        .await;
    let bytes = page.eval(TRANSFER).await.as_u64().unwrap_or(0);
    Load { ready_ms, bytes }
}

fn median(values: impl Iterator<Item = f64>) -> f64 {
    let mut sorted: Vec<f64> = values.collect();
    sorted.sort_by(f64::total_cmp);
    match sorted.len() {
        0 => f64::NAN,
        n if n % 2 == 0 => (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0,
        n => sorted[n / 2],
    }
}

/// A copy of `dist` under `target/` without the `.br` and `.gz` files: the
/// same client, served uncompressed.
fn uncompressed_copy(dist: &Path) -> std::io::Result<PathBuf> {
    let copy = tandem_e2e::scratch_dir("page-load-uncompressed");
    copy_without_compressed(dist, &copy)?;
    Ok(copy)
}

fn copy_without_compressed(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let path = entry.path();
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_without_compressed(&path, &target)?;
        } else if !matches!(path.extension().and_then(|e| e.to_str()), Some("br" | "gz")) {
            std::fs::copy(&path, &target)?;
        }
    }
    Ok(())
}
