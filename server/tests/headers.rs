//! Page hardening: every response says `nosniff` and keeps the referrer to
//! this origin, and the page itself carries a Content-Security-Policy that
//! lets exactly its own inline scripts run (Trunk's wasm loader and the
//! service worker's registration), nothing injected, and no framing.

use std::collections::HashMap;
use std::path::Path;

use base64::Engine as _;
use sha2::{Digest, Sha256};
use tandem_testkit::{TempDir, TestServer};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

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
    let mut stream = tokio::net::TcpStream::connect(server.addr)
        .await
        .expect("connect");
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
        server.addr
    );
    stream.write_all(request.as_bytes()).await.expect("write");
    let mut response = Vec::new();
    tokio::time::timeout(tandem_testkit::DEADLINE, stream.read_to_end(&mut response))
        .await
        .expect("an answer within the deadline")
        .expect("read");
    let response = String::from_utf8_lossy(&response);
    let (head, _) = response.split_once("\r\n\r\n").expect("a head");
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|line| line.split_whitespace().nth(1))
        .and_then(|code| code.parse().ok())
        .expect("a status line");
    let headers = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.trim().to_ascii_lowercase(), value.trim().to_owned()))
        .collect();
    (status, headers)
}

#[tokio::test]
async fn pages_allow_exactly_their_own_inline_scripts() {
    let dir = TempDir::new("headers-client");
    write_client(dir.path());
    let static_dir = dir.path().to_path_buf();
    let (server, _) = TestServer::memory_with(|c| c.static_dir = static_dir).await;

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
async fn every_response_is_hardened() {
    let dir = TempDir::new("headers-assets");
    write_client(dir.path());
    let static_dir = dir.path().to_path_buf();
    let (server, _) = TestServer::memory_with(|c| c.static_dir = static_dir).await;
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
