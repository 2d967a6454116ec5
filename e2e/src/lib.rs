//! Browser tests for Tandem: the real server, in-process, serving the built
//! client (`dist/`) to headless Chromium driven through chromedriver.
//!
//! Every browser test has the same shape:
//!
//! ```no_run
//! use tandem_e2e::{DEADLINE, run_test, tid};
//!
//! #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
//! async fn home_page_renders() {
//!     run_test("home_page_renders", async |ctx| {
//!         let page = ctx.page().await;
//!         page.goto("/").await;
//!         page.wait_for(&tid("new-doc"), DEADLINE).await;
//!     })
//!     .await;
//! }
//! ```
//!
//! [`run_test`] starts a [`TestServer`] (the one the server's tests use too,
//! from `tandem-testkit`, here with SQLite in a fresh directory), hands
//! the body a [`TestContext`] that opens [`Page`]s (each its own Chromium
//! session and profile), and if the body panics saves a screenshot and the
//! HTML of every page to `target/e2e-artifacts/failed/` before failing the test.
//!
//! `cargo xtask test` builds `dist/` and sets the environment below. Browser
//! tests never skip: without it they fail and say how to run them.
//!
//! | variable | what |
//! |---|---|
//! | `TANDEM_E2E_DIST` | absolute path of the built client (required) |
//! | `TANDEM_E2E_CHROMIUM` | Chromium binary (default `/usr/bin/chromium`) |
//! | `TANDEM_E2E_CHROMEDRIVER` | chromedriver binary (default `/usr/bin/chromedriver`) |
//! | `TANDEM_E2E_JOBS` | browser tests run at once in one test binary (default 2) |
//! | `TANDEM_E2E_LOG` | the in-process server's log filter (default `info`); shown for failed tests |
//! | `TANDEM_INTEROP_DIR` | where the stock Yjs clients are installed (`target/interop`; interop tests only) |
//! | `TANDEM_E2E_TOOLS` | where axe-core is installed (`target/e2e-tools`; accessibility checks only) |
//! | `TANDEM_E2E_SERVER` | the release `tandem` binary [`ServerProcess`] runs (default `<target>/release/tandem`) |
//!
//! Besides pages, a test can bring other clients into a room: a
//! [`NativePeer`] (a Tandem client in the test process) and [`YjsPeer`]s
//! (stock Yjs clients in Node and Python). Tests that need to crash the
//! server run the real binary instead, as a [`ServerProcess`] they can kill
//! with SIGKILL, and open pages on it with [`TestContext::page_on`].
//!
//! The same pieces make `keystroke-latency` (`src/bin/keystroke_latency.rs`),
//! which measures how long a keystroke in one browser takes to show in another.

pub mod accessibility;
mod binary;
mod browser;
mod context;
mod frames;
mod interop;
mod native;
mod page;
mod paths;
pub mod perf;
mod server;
mod stored_copy;

pub use binary::ServerProcess;
pub use browser::Browser;
pub use context::{TestContext, run_test, run_test_with};
pub use frames::{Direction, Frame, WsEvent};
pub use interop::{YjsPeer, YjsRuntime, YjsState};
pub use native::{NativePeer, NativeSession};
pub use page::{NewDocument, Page};
pub use server::{start_server, start_server_serving, start_server_with};
pub use stored_copy::StoredCopy;
/// How long a wait lasts by default before the test fails (20 s, the same
/// for the server's tests): generous, because two cores may be running
/// several Chromiums and a build at once; a passing wait returns as soon as
/// its condition holds.
pub use tandem_testkit::DEADLINE;
pub use tandem_testkit::TestServer;
/// The one wait-with-deadline helper, shared with the server's tests.
pub use tandem_testkit::{key_of, poll};

/// Names of the environment variables in the table above.
pub mod env {
    /// Absolute path of the built client.
    pub const DIST: &str = "TANDEM_E2E_DIST";
    /// Chromium binary.
    pub const CHROMIUM: &str = "TANDEM_E2E_CHROMIUM";
    /// chromedriver binary.
    pub const CHROMEDRIVER: &str = "TANDEM_E2E_CHROMEDRIVER";
    /// How many browser tests of one binary run at once.
    pub const JOBS: &str = "TANDEM_E2E_JOBS";
    /// Log filter of the in-process server.
    pub const LOG: &str = "TANDEM_E2E_LOG";
    /// Where `cargo xtask test` installed the stock Yjs clients.
    pub const INTEROP_DIR: &str = "TANDEM_INTEROP_DIR";
    /// Where `cargo xtask test` installed axe-core (see [`crate::accessibility`]).
    pub const TOOLS: &str = "TANDEM_E2E_TOOLS";
    /// The release `tandem` binary a [`ServerProcess`](crate::ServerProcess) runs.
    pub const SERVER: &str = "TANDEM_E2E_SERVER";
}

/// A fresh, empty folder under `target/e2e-tmp/<process>/`, removed with
/// the process's other scratch folders by a later run.
pub fn scratch_dir(prefix: &str) -> std::path::PathBuf {
    paths::fresh_dir(prefix)
}

/// The CSS selector of the element with `data-testid="{id}"`, the client's
/// contract with these tests.
pub fn tid(id: &str) -> String {
    format!("[data-testid=\"{id}\"]")
}

/// WebDriver's codes for the keys tests press ([`Page::press_keys`]).
pub mod keys {
    /// Tab.
    pub const TAB: &str = "\u{E004}";
    /// Enter.
    pub const ENTER: &str = "\u{E007}";
    /// Escape.
    pub const ESCAPE: &str = "\u{E00C}";
    /// Arrow down.
    pub const ARROW_DOWN: &str = "\u{E015}";
    /// Arrow up.
    pub const ARROW_UP: &str = "\u{E013}";
}
