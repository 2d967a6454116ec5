//! The server every browser test runs against: the shared in-process
//! [`TestServer`] of `tandem-testkit`, serving the built client (`dist/`)
//! and storing rooms in SQLite in a scratch folder under `target/`, so a
//! restart keeps them.

use tandem_server::Config;
use tandem_testkit::{Storage, TempDir, TestServer};

use crate::paths;

/// Starts a server with the default configuration.
pub async fn start_server() -> TestServer {
    start_server_with(|_| {}).await
}

/// Starts a server after `adjust` has changed its configuration (the
/// listen address, static and data directories are set by the harness).
/// The data folder is removed when the server is stopped cleanly and kept
/// for a look when the test failed.
pub async fn start_server_with(adjust: impl FnOnce(&mut Config)) -> TestServer {
    let mut config = Config::default();
    adjust(&mut config);
    start_server_serving(config, dist_dir()).await
}

/// Starts a server with `config` that serves the client built into `dist`
/// (for measurements that compare builds).
pub async fn start_server_serving(mut config: Config, dist: std::path::PathBuf) -> TestServer {
    let scratch = TempDir::at(paths::fresh_dir("server"));
    config.static_dir = dist;
    TestServer::launch(config, Storage::Scratch(scratch)).await
}

/// The built client, from `TANDEM_E2E_DIST`.
pub(crate) fn dist_dir() -> std::path::PathBuf {
    let Some(dist) = std::env::var_os(crate::env::DIST).filter(|v| !v.is_empty()) else {
        panic!(
            "{} is not set: browser tests need the built client. Run them with \
             `cargo xtask test`, which builds dist/ and sets it.",
            crate::env::DIST
        );
    };
    let dist = std::path::PathBuf::from(dist);
    if !dist.join("index.html").is_file() {
        panic!(
            "{}={} holds no index.html: build the client with `cargo xtask build`",
            crate::env::DIST,
            dist.display()
        );
    }
    dist
}
