//! The built client as browsers get it: a hashed asset in brotli, gzip or
//! as is, whichever the request's `Accept-Encoding` allows first, all the
//! same file; hashed assets cached for a year, everything else revalidated;
//! and the page always sent as is, so its Content-Security-Policy still
//! names its inline scripts when the browser accepts brotli.

use std::collections::HashMap;
use std::io::{Read as _, Write as _};
use std::path::Path;

use base64::Engine as _;
use sha2::{Digest, Sha256};
use tandem_testkit::{TempDir, TestServer};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

const JS: &str = "/tandem-client-0123456789abcdef.js";
const WASM: &str = "/tandem-client-0123456789abcdef_bg.wasm";
const CSS: &str = "/tandem-fedcba9876543210.css";
const IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// The page's one inline script (the service worker's registration).
const REGISTER: &str = "navigator.serviceWorker.register('/sw.js');";

/// A response: status, headers (names lower-cased) and body bytes.
struct Answer {
    status: u16,
    headers: HashMap<String, String>,
    body: Vec<u8>,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(String::as_str)
    }
}

/// Writes a client like Trunk's output into `dir`, with `.br` and `.gz`
/// copies of its assets as `cargo xtask build` makes them. The page gets
/// copies too, as a tool that compresses everything would make: the server
/// must still send the page as is.
fn write_client(dir: &Path) -> HashMap<&'static str, Vec<u8>> {
    let js = "export function greet(name) { return `hello ${name}`; }\n".repeat(400);
    let css = ".editor { color: var(--ink); padding: 1rem; }\n".repeat(300);
    let wasm: Vec<u8> = b"\0asm\x01\0\0\0"
        .iter()
        .copied()
        .chain((0..20_000u32).map(|i| (i % 7) as u8))
        .collect();
    let page = format!(
        "<!doctype html>\n<html><head>\n<script type=\"module\" src=\"{JS}\"></script>\n\
         <link rel=\"stylesheet\" href=\"{CSS}\">\n</head>\n\
         <body><script>{REGISTER}</script></body></html>\n"
    );
    let sw = "self.addEventListener('fetch', () => {});\n".repeat(50);
    let files: HashMap<&'static str, Vec<u8>> = HashMap::from([
        (JS, js.into_bytes()),
        (CSS, css.into_bytes()),
        (WASM, wasm),
        ("/index.html", page.into_bytes()),
        ("/sw.js", sw.into_bytes()),
    ]);
    for (path, bytes) in &files {
        let file = dir.join(&path[1..]);
        std::fs::write(&file, bytes).expect("write a file");
        std::fs::write(format!("{}.br", file.display()), brotli(bytes)).expect("write .br");
        std::fs::write(format!("{}.gz", file.display()), gzip(bytes)).expect("write .gz");
    }
    std::fs::create_dir(dir.join("public")).expect("create public/");
    std::fs::write(dir.join("public/tandem.css"), "body {}\n").expect("write a plain file");
    files
}

fn brotli(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let params = brotli::enc::BrotliEncoderParams {
        quality: 11,
        ..Default::default()
    };
    brotli::BrotliCompress(&mut &bytes[..], &mut out, &params).expect("brotli");
    out
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    encoder.write_all(bytes).expect("gzip");
    encoder.finish().expect("gzip")
}

/// The body as the browser reads it, after undoing `Content-Encoding`.
fn decoded(answer: &Answer) -> Vec<u8> {
    let mut out = Vec::new();
    match answer.header("content-encoding") {
        None => out.clone_from(&answer.body),
        Some("br") => {
            brotli::Decompressor::new(&answer.body[..], 4096)
                .read_to_end(&mut out)
                .expect("valid brotli");
        }
        Some("gzip") => {
            flate2::read::GzDecoder::new(&answer.body[..])
                .read_to_end(&mut out)
                .expect("valid gzip");
        }
        Some(other) => panic!("unexpected Content-Encoding {other}"),
    }
    out
}

/// `GET path` with `Accept-Encoding: accept` (none when `None`).
async fn get(server: &TestServer, path: &str, accept: Option<&str>) -> Answer {
    let mut stream = tokio::net::TcpStream::connect(server.addr)
        .await
        .expect("connect");
    let accept = accept.map_or(String::new(), |a| format!("Accept-Encoding: {a}\r\n"));
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {}\r\n{accept}Connection: close\r\n\r\n",
        server.addr
    );
    stream.write_all(request.as_bytes()).await.expect("write");
    let mut response = Vec::new();
    tokio::time::timeout(tandem_testkit::DEADLINE, stream.read_to_end(&mut response))
        .await
        .expect("an answer within the deadline")
        .expect("read");
    let split = response
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a head");
    let head = String::from_utf8_lossy(&response[..split]).into_owned();
    let body = response[split + 4..].to_vec();
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|line| line.split_whitespace().nth(1))
        .and_then(|code| code.parse().ok())
        .expect("a status line");
    let headers: HashMap<String, String> = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.trim().to_ascii_lowercase(), value.trim().to_owned()))
        .collect();
    assert!(
        !headers.contains_key("transfer-encoding"),
        "{path}: files are sent with a length: {headers:?}"
    );
    assert_eq!(
        headers.get("content-length").map(String::as_str),
        Some(body.len().to_string().as_str()),
        "{path}: the whole body"
    );
    Answer {
        status,
        headers,
        body,
    }
}

async fn serve_client() -> (TestServer, TempDir, HashMap<&'static str, Vec<u8>>) {
    let dir = TempDir::new("static-files");
    let files = write_client(dir.path());
    let static_dir = dir.path().to_path_buf();
    let (server, _) = TestServer::memory_with(|c| c.static_dir = static_dir).await;
    (server, dir, files)
}

#[tokio::test]
async fn assets_are_sent_in_the_best_encoding_the_request_accepts() {
    let (server, dir, files) = serve_client().await;
    for path in [JS, WASM, CSS, "/sw.js"] {
        let on_disk = |suffix: &str| {
            std::fs::read(format!("{}{suffix}", dir.path().join(&path[1..]).display()))
                .expect("read a file")
        };
        for (accept, encoding, bytes) in [
            (Some("br"), Some("br"), on_disk(".br")),
            (Some("gzip, deflate, br, zstd"), Some("br"), on_disk(".br")),
            (Some("gzip"), Some("gzip"), on_disk(".gz")),
            (Some("br;q=0, gzip"), Some("gzip"), on_disk(".gz")),
            (None, None, on_disk("")),
            (Some("identity"), None, on_disk("")),
        ] {
            let answer = get(&server, path, accept).await;
            assert_eq!(answer.status, 200, "{path} {accept:?}");
            assert_eq!(
                answer.header("content-encoding"),
                encoding,
                "{path} {accept:?}"
            );
            assert!(
                answer.body == bytes,
                "{path} {accept:?}: the stored copy, byte for byte"
            );
            assert!(
                decoded(&answer) == files[path],
                "{path} {accept:?}: decodes to the file"
            );
            let vary = answer
                .header("vary")
                .unwrap_or_default()
                .to_ascii_lowercase();
            assert!(
                vary.contains("accept-encoding"),
                "{path} {accept:?}: {vary}"
            );
            assert!(
                !answer.header("content-type").unwrap_or_default().is_empty(),
                "{path}: the type of the file, not of its copy"
            );
        }
    }
    let js = get(&server, JS, Some("br")).await;
    assert!(
        js.header("content-type")
            .is_some_and(|t| t.contains("javascript"))
    );
}

#[tokio::test]
async fn hashed_assets_are_immutable_and_the_rest_revalidated() {
    let (server, _dir, _) = serve_client().await;
    for accept in [None, Some("br"), Some("gzip")] {
        for path in [JS, WASM, CSS] {
            let answer = get(&server, path, accept).await;
            assert_eq!(answer.status, 200, "{path}");
            assert_eq!(
                answer.header("cache-control"),
                Some(IMMUTABLE),
                "{path} {accept:?}"
            );
        }
        for path in [
            "/",
            "/index.html",
            "/d/team-notes",
            "/sw.js",
            "/public/tandem.css",
        ] {
            let answer = get(&server, path, accept).await;
            assert_eq!(answer.status, 200, "{path}");
            assert_eq!(
                answer.header("cache-control"),
                Some("no-cache"),
                "{path} {accept:?}"
            );
        }
    }
    // A hashed name that is not there must not be cached for a year.
    let missing = get(&server, "/tandem-client-ffffffffffffffff.js", Some("br")).await;
    assert_eq!(missing.status, 404);
    assert_ne!(missing.header("cache-control"), Some(IMMUTABLE));
}

#[tokio::test]
async fn the_page_is_sent_as_is_with_its_policy_when_brotli_is_accepted() {
    let (server, _dir, files) = serve_client().await;
    let expected = format!(
        "'sha256-{}'",
        base64::engine::general_purpose::STANDARD.encode(Sha256::digest(REGISTER.as_bytes()))
    );
    for path in ["/", "/index.html", "/d/team-notes"] {
        for accept in ["br", "gzip", "gzip, deflate, br, zstd"] {
            let answer = get(&server, path, Some(accept)).await;
            assert_eq!(answer.status, 200, "{path} {accept}");
            assert_eq!(answer.header("content-encoding"), None, "{path} {accept}");
            assert!(
                answer.body == files["/index.html"],
                "{path} {accept}: the page's own bytes"
            );
            let policy = answer
                .header("content-security-policy")
                .unwrap_or_else(|| panic!("{path} has a policy"));
            let scripts = policy
                .split(';')
                .map(str::trim)
                .find(|d| d.starts_with("script-src "))
                .unwrap_or_else(|| panic!("{path}: a script-src in {policy}"));
            assert_eq!(
                scripts,
                format!("script-src 'self' 'wasm-unsafe-eval' {expected}"),
                "{path} {accept}"
            );
        }
    }
}
