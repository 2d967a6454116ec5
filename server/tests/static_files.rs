//! The built client as browsers get it: a hashed asset in brotli, gzip or
//! as is, whichever the request's `Accept-Encoding` allows first, all the
//! same file; hashed assets cached for a year, everything else revalidated;
//! and the page always sent as is, so its Content-Security-Policy still
//! names its inline scripts when the browser accepts brotli. Every check runs
//! twice: with the client in a directory (`--static-dir`) and in memory, as
//! the binary `cargo xtask dist` builds carries it (`ClientBundle`).

use std::collections::HashMap;
use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use base64::Engine as _;
use sha2::{Digest, Sha256};
use tandem_server::http::ClientBundle;
use tandem_testkit::http::Response;
use tandem_testkit::{TempDir, TestServer};

const JS: &str = "/tandem-client-0123456789abcdef.js";
const WASM: &str = "/tandem-client-0123456789abcdef_bg.wasm";
const CSS: &str = "/tandem-fedcba9876543210.css";
const IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// The page's one inline script (the service worker's registration).
const REGISTER: &str = "navigator.serviceWorker.register('/sw.js');";

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
fn decoded(answer: &Response) -> Vec<u8> {
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
/// Files are always sent with a length, never chunked.
async fn get(server: &TestServer, path: &str, accept: Option<&str>) -> Response {
    let headers: Vec<(&str, &str)> = accept.map(|a| ("Accept-Encoding", a)).into_iter().collect();
    let response = tandem_testkit::http::request(server.addr, "GET", path, &headers, b"").await;
    assert_eq!(
        response.header("transfer-encoding"),
        None,
        "{path}: files are sent with a length: {:?}",
        response.headers
    );
    assert_eq!(
        response.header("content-length"),
        Some(response.body.len().to_string().as_str()),
        "{path}: the whole body"
    );
    response
}

/// Where the server takes the client from.
#[derive(Debug, Clone, Copy)]
enum Served {
    /// `--static-dir`.
    Directory,
    /// Memory, as the one-file build serves the copy inside it.
    Memory,
}

async fn serve_client(from: Served) -> (TestServer, TempDir, HashMap<&'static str, Vec<u8>>) {
    let dir = TempDir::new("static-files");
    let files = write_client(dir.path());
    let server = serve(from, dir.path()).await;
    (server, dir, files)
}

/// A server of the client in `dir`, from there or from memory.
async fn serve(from: Served, dir: &Path) -> TestServer {
    let static_dir = dir.to_path_buf();
    let (server, _) = TestServer::memory_with(|c| match from {
        Served::Directory => c.static_dir = static_dir,
        Served::Memory => {
            let bundle = ClientBundle::read_dir(&static_dir).expect("read the client");
            c.embedded_client = Some(Arc::new(bundle));
            // Nothing may come from a directory.
            c.static_dir = PathBuf::from("/nonexistent");
        }
    })
    .await;
    server
}

#[tokio::test]
async fn assets_are_sent_in_the_best_encoding_the_request_accepts_from_a_directory() {
    assets_are_sent_in_the_best_encoding_the_request_accepts(Served::Directory).await;
}

#[tokio::test]
async fn assets_are_sent_in_the_best_encoding_the_request_accepts_from_memory() {
    assets_are_sent_in_the_best_encoding_the_request_accepts(Served::Memory).await;
}

async fn assets_are_sent_in_the_best_encoding_the_request_accepts(from: Served) {
    let (server, dir, files) = serve_client(from).await;
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
async fn hashed_assets_are_immutable_and_the_rest_revalidated_from_a_directory() {
    hashed_assets_are_immutable_and_the_rest_revalidated(Served::Directory).await;
}

#[tokio::test]
async fn hashed_assets_are_immutable_and_the_rest_revalidated_from_memory() {
    hashed_assets_are_immutable_and_the_rest_revalidated(Served::Memory).await;
}

async fn hashed_assets_are_immutable_and_the_rest_revalidated(from: Served) {
    let (server, _dir, _) = serve_client(from).await;
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
async fn the_page_is_sent_as_is_with_its_policy_when_brotli_is_accepted_from_a_directory() {
    the_page_is_sent_as_is_with_its_policy_when_brotli_is_accepted(Served::Directory).await;
}

#[tokio::test]
async fn the_page_is_sent_as_is_with_its_policy_when_brotli_is_accepted_from_memory() {
    the_page_is_sent_as_is_with_its_policy_when_brotli_is_accepted(Served::Memory).await;
}

async fn the_page_is_sent_as_is_with_its_policy_when_brotli_is_accepted(from: Served) {
    let (server, _dir, files) = serve_client(from).await;
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

/// Beyond the checks above, the copy in memory answers every request as
/// the directory does, header for header (the date aside) and byte for
/// byte: HEAD, ranges, conditional requests, other methods, missing
/// files, directories, paths that climb, odd `Accept-Encoding`s.
#[tokio::test]
async fn memory_answers_as_the_directory_does() {
    let dir = TempDir::new("static-files-alike");
    write_client(dir.path());
    let from_dir = serve(Served::Directory, dir.path()).await;
    let from_memory = serve(Served::Memory, dir.path()).await;
    let modified = get(&from_dir, JS, None)
        .await
        .header("last-modified")
        .expect("a Last-Modified")
        .to_owned();
    // Method, path, request headers.
    type Asked<'a> = (&'a str, &'a str, Vec<(&'a str, &'a str)>);
    let requests: Vec<Asked> = vec![
        ("HEAD", "/", vec![]),
        ("HEAD", WASM, vec![("Accept-Encoding", "br")]),
        ("GET", JS, vec![("Range", "bytes=0-9")]),
        (
            "GET",
            JS,
            vec![("Range", "bytes=0-9"), ("Accept-Encoding", "br")],
        ),
        ("GET", JS, vec![("Range", "bytes=5-1")]),
        ("GET", JS, vec![("Range", "bytes=0-1,4-5")]),
        ("GET", JS, vec![("Range", "bytes=999999-")]),
        ("GET", JS, vec![("If-Modified-Since", &modified)]),
        (
            "GET",
            JS,
            vec![("If-Modified-Since", "Thu, 01 Jan 1970 00:00:00 GMT")],
        ),
        (
            "GET",
            JS,
            vec![("If-Unmodified-Since", "Thu, 01 Jan 1970 00:00:00 GMT")],
        ),
        (
            "GET",
            CSS,
            vec![("Accept-Encoding", "br;q=0.5, gzip;q=0.9")],
        ),
        ("GET", CSS, vec![("Accept-Encoding", "x-gzip")]),
        ("GET", CSS, vec![("Accept-Encoding", "br;q=1.5, gzip")]),
        ("GET", CSS, vec![("Accept-Encoding", "*")]),
        ("GET", "/public/tandem.css", vec![("Accept-Encoding", "br")]),
        ("GET", "/public", vec![]),
        ("GET", "/public/", vec![]),
        ("GET", "/public/?x=1", vec![]),
        ("GET", "/%70ublic/tandem.css", vec![]),
        ("GET", "/public/../sw.js", vec![]),
        ("GET", "/nothing.js", vec![]),
        ("GET", "/d/team-notes", vec![("Accept-Encoding", "br")]),
        ("POST", "/sw.js", vec![]),
        ("DELETE", "/", vec![]),
    ];
    for (method, path, headers) in &requests {
        let a = tandem_testkit::http::request(from_dir.addr, method, path, headers, b"").await;
        let b = tandem_testkit::http::request(from_memory.addr, method, path, headers, b"").await;
        let headers_of = |r: &Response| {
            let mut kept: Vec<(String, String)> = r
                .headers
                .iter()
                .filter(|(name, _)| !name.eq_ignore_ascii_case("date"))
                .map(|(name, value)| (name.to_ascii_lowercase(), value.clone()))
                .collect();
            kept.sort();
            kept
        };
        assert_eq!(a.status, b.status, "{method} {path} {headers:?}");
        assert_eq!(
            headers_of(&a),
            headers_of(&b),
            "{method} {path} {headers:?}: the directory's headers, then memory's"
        );
        assert!(
            a.body == b.body,
            "{method} {path} {headers:?}: the same bytes"
        );
    }
}
