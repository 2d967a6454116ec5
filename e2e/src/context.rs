//! [`run_test`]: the frame around every browser test — a server, pages on
//! demand, artifacts when the body fails, and clean-up either way.

use std::panic::AssertUnwindSafe;
use std::sync::{Once, OnceLock};

use futures_util::FutureExt as _;
use tokio::sync::Semaphore;

use tandem_server::Config;

use crate::TestServer;
use crate::browser::Browser;
use crate::page::Page;
use crate::paths;
use crate::server::{dist_dir, start_server_with};

/// What a test body works with.
#[derive(Debug)]
pub struct TestContext {
    /// The server the pages load from; `stop`/`restart` it to test reconnection.
    pub server: TestServer,
    /// The test's name, for artifact files.
    name: String,
    /// The shared chromedriver.
    browser: &'static Browser,
    /// Every page opened, in order, so a failure can capture each and the
    /// end can close each.
    pages: Vec<Page>,
}

impl TestContext {
    /// Opens a new browser session (its own profile: separate storage, a
    /// separate person) on this test's server.
    pub async fn page(&mut self) -> Page {
        let base = self.server.url().to_owned();
        self.page_on(&base).await
    }

    /// Opens a new browser session, as [`TestContext::page`] does, on another
    /// server: `base` is its `http://127.0.0.1:<port>` (e.g. a
    /// [`ServerProcess`](crate::ServerProcess)'s URL).
    pub async fn page_on(&mut self, base: &str) -> Page {
        let page = self.browser.session(base).await;
        self.pages.push(page.clone());
        page
    }

    /// Opens a new browser session, as [`TestContext::page`] does, whose
    /// Chromium profile has the preferences `prefs` (for example
    /// `{"profile.default_content_setting_values.cookies": 2}`: this site may
    /// store no data).
    pub async fn page_with_prefs(&mut self, prefs: serde_json::Value) -> Page {
        let base = self.server.url().to_owned();
        let page = self.browser.session_with_prefs(&base, prefs).await;
        self.pages.push(page.clone());
        page
    }

    /// The test's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Keeps what `page` shows now as test artifacts, passing or not:
    /// `target/e2e-artifacts/<test-name>-<stem>.{png,html}`.
    pub async fn keep_artifacts(&self, page: &Page, stem: &str) {
        let dir = paths::artifacts_dir();
        for path in page
            .save_artifacts(&dir, &format!("{}-{stem}", self.name))
            .await
        {
            eprintln!("[{}] saved {}", self.name, path.display());
        }
    }

    /// `failed/<test-name>-<n>.png` and `.html` for each page `n`.
    async fn save_artifacts(&self) {
        let dir = paths::failure_artifacts_dir();
        for (n, page) in self.pages.iter().enumerate() {
            let written = page
                .save_artifacts(&dir, &format!("{}-{n}", self.name))
                .await;
            for path in written {
                eprintln!("[{}] saved {}", self.name, path.display());
            }
        }
        if let Some(dir) = self.server.data_dir() {
            eprintln!(
                "[{}] the server's data is kept in {}",
                self.name,
                dir.display()
            );
        }
    }

    async fn close_pages(&self) {
        for page in &self.pages {
            page.close().await;
        }
    }
}

/// Runs a browser test: starts a [`TestServer`], runs `body`, and closes
/// every page and the server. If `body` panics, saves a screenshot and the
/// HTML of each page to `target/e2e-artifacts/failed/<name>-<n>.{png,html}`, prints
/// where, then fails the test with the body's panic.
///
/// At most `TANDEM_E2E_JOBS` (default 2) bodies of one test binary run at
/// once, so a two-core machine is not asked to run a Chromium per test.
pub async fn run_test(name: &str, body: impl AsyncFnOnce(&mut TestContext)) {
    run_test_with(name, |_| {}, body).await;
}

/// [`run_test`] with the server's configuration changed by `configure`
/// first (e.g. a small `max_document_bytes`); the harness still sets the
/// listen address and the static and data directories.
pub async fn run_test_with(
    name: &str,
    configure: impl FnOnce(&mut Config),
    body: impl AsyncFnOnce(&mut TestContext),
) {
    init_logging();
    // Fail before queueing for a slot when the client is not built.
    dist_dir();
    let _slot = jobs()
        .acquire()
        .await
        .expect("the jobs semaphore is never closed");
    let browser = Browser::shared().await;
    let mut ctx = TestContext {
        server: start_server_with(configure).await,
        name: name.to_owned(),
        browser,
        pages: Vec::new(),
    };

    let outcome = AssertUnwindSafe(body(&mut ctx)).catch_unwind().await;
    if let Err(panic) = outcome {
        ctx.save_artifacts().await;
        ctx.close_pages().await;
        std::panic::resume_unwind(panic);
    }
    ctx.close_pages().await;
    ctx.server.stop().await;
}

fn jobs() -> &'static Semaphore {
    static JOBS: OnceLock<Semaphore> = OnceLock::new();
    JOBS.get_or_init(|| {
        let jobs = std::env::var(crate::env::JOBS)
            .ok()
            .and_then(|v| v.parse().ok())
            .filter(|&n: &usize| n > 0)
            .unwrap_or(2);
        Semaphore::new(jobs)
    })
}

/// The server's logs go through the test writer, so a failed test shows them
/// next to its panic and a passing one stays quiet.
fn init_logging() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let filter = std::env::var(crate::env::LOG).unwrap_or_else(|_| "info".into());
        let filter = tracing_subscriber::EnvFilter::try_new(&filter)
            .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
        // Another subscriber may already be installed by the test itself: keep it.
        let _ = tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stdout()))
            .with_test_writer()
            .try_init();
    });
}
