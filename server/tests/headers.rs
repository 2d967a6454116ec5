//! Page hardening: every response says `nosniff` and keeps the referrer to
//! this origin, and the page itself carries a Content-Security-Policy that
//! lets exactly its own inline scripts run (Trunk's wasm loader and the
//! service worker's registration), nothing injected, and no framing. Both
//! checks run with the client in a directory (`--static-dir`) and in memory,
//! as the binary `cargo xtask dist` builds carries it (`ClientBundle`).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use base64::Engine as _;
use sha2::{Digest, Sha256};
use tandem_server::http::ClientBundle;
use tandem_testkit::{TempDir, TestServer};

/// The two inline scripts of the page, as Trunk's build writes them.
const LOADER: &str = "\nimport init, * as bindings from '/tandem-client-1a2b.js';\nconst wasm = await init({ module_or_path: '/tandem-client-1a2b_bg.wasm' });\nwindow.wasmBindings = bindings;\n";
const REGISTER: &str = "\n      navigator.serviceWorker.register('/sw.js');\n    ";

fn write_client(dir: &Path) {
    let page = format!(
        "<!doctype html>\n<html><head>\n<link rel=\"modulepreload\" href=\"/tandem-client-1a2b.js\">\n\
         <script src=\"/external.js\"></script>\n\
         <script type=\"module\">{LOADER}</script>\n</head>\n\
         <body><script>{REGISTER}</script></body></html>\n"
    );
    std::fs::write(dir.join("index.html"), page).expect("write index.html");
    std::fs::write(dir.join("external.js"), "console.log('hi');\n").expect("write a script");
}

/// Where the server takes the client from.
#[derive(Debug, Clone, Copy)]
enum Served {
    /// `--static-dir`.
    Directory,
    /// Memory, as the one-file build serves the copy inside it.
    Memory,
}

/// A server of the client in `dir`, from there or from memory.
async fn serve(from: Served, dir: &Path) -> TestServer {
    let static_dir = dir.to_path_buf();
    let (server, _) = TestServer::memory_with(|c| match from {
        Served::Directory => c.static_dir = static_dir,
        Served::Memory => {
            let bundle = ClientBundle::read_dir(&static_dir).expect("read the client");
            c.embedded_client = Some(Arc::new(bundle));
            c.static_dir = PathBuf::from("/nonexistent");
        }
    })
    .await;
    server
}

/// `'sha256-…'` of a script, computed here independently of the server.
fn hash(script: &str) -> String {
    let digest = Sha256::digest(script.as_bytes());
    format!(
        "'sha256-{}'",
        base64::engine::general_purpose::STANDARD.encode(digest)
    )
}

/// `GET path`: the status and the headers (names lower-cased).
async fn head_of(server: &TestServer, path: &str) -> (u16, HashMap<String, String>) {
    let response = tandem_testkit::http::request(server.addr, "GET", path, &[], b"").await;
    let headers = response
        .headers
        .into_iter()
        .map(|(name, value)| (name.to_ascii_lowercase(), value))
        .collect();
    (response.status, headers)
}

#[tokio::test]
async fn pages_allow_exactly_their_own_inline_scripts_from_a_directory() {
    pages_allow_exactly_their_own_inline_scripts(Served::Directory).await;
}

#[tokio::test]
async fn pages_allow_exactly_their_own_inline_scripts_from_memory() {
    pages_allow_exactly_their_own_inline_scripts(Served::Memory).await;
}

async fn pages_allow_exactly_their_own_inline_scripts(from: Served) {
    let dir = TempDir::new("headers-client");
    write_client(dir.path());
    let server = serve(from, dir.path()).await;

    for path in ["/", "/index.html", "/d/team-notes"] {
        let (status, headers) = head_of(&server, path).await;
        assert_eq!(status, 200, "{path}");
        let policy = headers
            .get("content-security-policy")
            .unwrap_or_else(|| panic!("{path} has a Content-Security-Policy: {headers:?}"));
        let directives: HashMap<&str, Vec<&str>> = policy
            .split(';')
            .filter_map(|d| {
                let mut words = d.split_whitespace();
                Some((words.next()?, words.collect()))
            })
            .collect();
        let scripts = &directives["script-src"];
        let mut expected = vec!["'self'", "'wasm-unsafe-eval'"];
        let (loader, register) = (hash(LOADER), hash(REGISTER));
        expected.extend([loader.as_str(), register.as_str()]);
        assert_eq!(*scripts, expected, "{path}: {policy}");
        assert_eq!(directives["default-src"], ["'self'"], "{policy}");
        assert_eq!(directives["connect-src"], ["'self'"], "{policy}");
        assert_eq!(directives["style-src"], ["'self'"], "{policy}");
        assert_eq!(directives["object-src"], ["'none'"], "{policy}");
        assert_eq!(directives["frame-ancestors"], ["'none'"], "{policy}");
        assert_eq!(headers["x-frame-options"], "DENY");
        assert_eq!(headers["x-content-type-options"], "nosniff");
        assert_eq!(headers["referrer-policy"], "same-origin");
    }
}

#[tokio::test]
async fn every_response_is_hardened_from_a_directory() {
    every_response_is_hardened(Served::Directory).await;
}

#[tokio::test]
async fn every_response_is_hardened_from_memory() {
    every_response_is_hardened(Served::Memory).await;
}

async fn every_response_is_hardened(from: Served) {
    let dir = TempDir::new("headers-assets");
    write_client(dir.path());
    let server = serve(from, dir.path()).await;
    for (path, status) in [
        ("/external.js", 200),
        ("/missing.js", 404),
        ("/healthz", 200),
        ("/metrics", 200),
    ] {
        let (got, headers) = head_of(&server, path).await;
        assert_eq!(got, status, "{path}");
        assert_eq!(headers["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(headers["referrer-policy"], "same-origin", "{path}");
        assert!(
            !headers.contains_key("content-security-policy"),
            "{path}: only pages need a policy"
        );
    }
}
