//! One file to deploy (issue 31): `cargo xtask dist` builds
//! `target/dist/tandem` with the web client inside. Copied alone into an
//! empty directory and run there with no flag but `--listen` (no
//! `--static-dir`, no `dist/` anywhere near it), it serves the page, its
//! assets in brotli when asked (with the same headers as from `dist/`),
//! and a document opens and syncs between two browsers.
//!
//! The binary is `TANDEM_E2E_ONE_FILE` when set, else
//! `<target>/dist/tandem`; `cargo xtask test` builds it before the browser
//! tests.

use std::net::SocketAddr;
use std::path::PathBuf;

use tandem_e2e::{DEADLINE, ServerProcess, run_test, tid};
use tandem_testkit::http::{Response, request};

/// The one-file build.
fn one_file() -> PathBuf {
    if let Some(path) = std::env::var_os("TANDEM_E2E_ONE_FILE").filter(|v| !v.is_empty()) {
        return PathBuf::from(path);
    }
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target"),
        PathBuf::from,
    );
    target.join("dist/tandem")
}

/// `GET path` with `Accept-Encoding: accept`.
async fn get(server: &ServerProcess, path: &str, accept: &str) -> Response {
    let addr: SocketAddr = server
        .url()
        .trim_start_matches("http://")
        .parse()
        .expect("the server's address");
    request(addr, "GET", path, &[("Accept-Encoding", accept)], b"").await
}

/// The first name in `page` that looks like `{prefix}<hash in hex>{suffix}`.
fn asset(page: &str, prefix: &str, suffix: &str) -> String {
    page.match_indices(prefix)
        .find_map(|(at, _)| {
            let rest = &page[at + prefix.len()..];
            let digits = rest.bytes().take_while(u8::is_ascii_hexdigit).count();
            (digits > 0 && rest[digits..].starts_with(suffix))
                .then(|| format!("/{prefix}{}{suffix}", &rest[..digits]))
        })
        .unwrap_or_else(|| panic!("no {prefix}…{suffix} in the page:\n{page}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_one_file_build_serves_the_client_from_inside_itself() {
    run_test(
        "the_one_file_build_serves_the_client_from_inside_itself",
        async |ctx| {
            let server = ServerProcess::start_alone(&one_file(), &[]).await;
            let home = server.home().expect("a directory of its own").to_owned();
            let entries: Vec<String> = std::fs::read_dir(&home)
                .expect("its directory")
                .map(|e| {
                    e.expect("an entry")
                        .file_name()
                        .to_string_lossy()
                        .into_owned()
                })
                .collect();
            assert!(
                !entries.iter().any(|e| e == "dist"),
                "nothing but the binary and its data: {entries:?}"
            );

            // The page: as is, with its policy, even when brotli is accepted.
            let page = get(&server, "/", "gzip, deflate, br, zstd").await;
            assert_eq!(page.status, 200);
            assert_eq!(page.header("content-encoding"), None);
            assert_eq!(page.header("cache-control"), Some("no-cache"));
            let policy = page.header("content-security-policy").unwrap_or_default();
            assert!(
                policy.contains("'sha256-"),
                "the page's scripts are allowed: {policy}"
            );
            let html = page.text();

            // Its assets: brotli when asked, gzip or as is otherwise, all
            // cached for a year (their names change with each build).
            for path in [
                asset(&html, "tandem-client-", "_bg.wasm"),
                asset(&html, "tandem-client-", ".js"),
            ] {
                for (accept, encoding) in [
                    ("gzip, deflate, br, zstd", Some("br")),
                    ("gzip", Some("gzip")),
                    ("identity", None),
                ] {
                    let answer = get(&server, &path, accept).await;
                    assert_eq!(answer.status, 200, "{path} {accept}");
                    assert_eq!(
                        answer.header("content-encoding"),
                        encoding,
                        "{path} {accept}"
                    );
                    assert_eq!(
                        answer.header("cache-control"),
                        Some("public, max-age=31536000, immutable"),
                        "{path}"
                    );
                    assert!(
                        answer
                            .header("vary")
                            .is_some_and(|v| v.to_ascii_lowercase().contains("accept-encoding")),
                        "{path}"
                    );
                    assert!(!answer.body.is_empty(), "{path} {accept}");
                }
            }
            let wasm = asset(&html, "tandem-client-", "_bg.wasm");
            let types = get(&server, &wasm, "br").await;
            assert_eq!(types.header("content-type"), Some("application/wasm"));

            // A document opens and syncs between two browsers.
            let editor = tid("editor");
            let a = ctx.page_on(server.url()).await;
            a.open_editor("/d/one-file").await;
            a.type_into(&editor, "Served from inside the binary.").await;
            a.wait_for_attr(&tid("save-state"), "data-state", "saved", DEADLINE)
                .await;
            let b = ctx.page_on(server.url()).await;
            b.open_editor("/d/one-file").await;
            b.wait_for_value(&editor, "Served from inside the binary.", DEADLINE)
                .await;
            let end = "Served from inside the binary.".len() as u32;
            b.type_at(&editor, end, " Both ways.").await;
            a.wait_for_value(
                &editor,
                "Served from inside the binary. Both ways.",
                DEADLINE,
            )
            .await;
            assert!(
                home.join("data/tandem.db").is_file(),
                "its documents are in ./data beside it"
            );
        },
    )
    .await;
}
