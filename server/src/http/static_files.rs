//! The built web client: its files, compressed copies chosen by
//! `Accept-Encoding`, the page for client routes, and how long each may be
//! cached.
//!
//! `cargo xtask build` writes a `.br` and a `.gz` beside each file of
//! `dist/` (see `xtask/src/compress.rs`); [`ServeDir`] sends the brotli copy
//! when the request accepts `br`, else the gzip one, else the file itself,
//! with `Vary: Accept-Encoding`. Nothing is compressed per request.
//!
//! The files come from `--static-dir`, or from memory: a binary built by
//! `cargo xtask dist` carries `dist/` inside it ([`ClientBundle`], served
//! the way `ServeDir` serves a directory), and serves that copy unless
//! `--static-dir` is given. Either way the policy below is the same.
//!
//! | what | `Cache-Control` | why |
//! |---|---|---|
//! | Trunk's hashed assets (`*-<hash>.js`, `*-<hash>_bg.wasm`, `*-<hash>.css`) | `public, max-age=31536000, immutable` | a new build gives them new names |
//! | the page (`/`, `/index.html`, client routes), `sw.js`, anything else | `no-cache` | revalidated, so a new build reaches the browser and its service worker on the next load |

use std::convert::Infallible;
use std::path::PathBuf;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::Request;
use axum::http::header::{ACCEPT_ENCODING, CACHE_CONTROL, CONTENT_TYPE, VARY};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use tower::ServiceExt;
use tower::util::BoxCloneSyncService;
use tower_http::services::{ServeDir, ServeFile};

use super::bundle::{Answer, ClientBundle};
use crate::Config;

/// For files whose name changes with their content.
const IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// For everything else: the browser may keep it but asks before using it.
const REVALIDATE: &str = "no-cache";

/// What answers a request for a file of the client, before the policy.
type Files = BoxCloneSyncService<Request, Response, Infallible>;

/// A service that answers every request the router has no route for from
/// the client the configuration names: the one in memory
/// ([`Config::embedded_client`], the binary's own copy) or the directory
/// `--static-dir` (see the module doc).
pub(super) fn service(config: &Config) -> Files {
    let files = match &config.embedded_client {
        Some(bundle) => from_bundle(bundle.clone()),
        None => from_dir(config.static_dir.clone()),
    };
    BoxCloneSyncService::new(tower::service_fn(move |request: Request| {
        serve(files.clone(), request)
    }))
}

/// The files of `dir`, with `index.html` for client routes.
fn from_dir(dir: PathBuf) -> Files {
    let index = dir.join("index.html");
    let files = ServeDir::new(&dir)
        .precompressed_br()
        .precompressed_gzip()
        .fallback(tower::service_fn(move |request: Request| {
            spa_index(index.clone(), request)
        }));
    BoxCloneSyncService::new(files.map_response(IntoResponse::into_response))
}

/// The files of `bundle`, with its `index.html` for client routes.
fn from_bundle(bundle: Arc<ClientBundle>) -> Files {
    BoxCloneSyncService::new(tower::service_fn(move |request: Request| {
        let bundle = bundle.clone();
        async move {
            let answer = match bundle.respond(&request) {
                Answer::Found(response) => response,
                Answer::Missing if !is_client_route(&request) => not_found(),
                Answer::Missing => match bundle.respond_page(&request) {
                    Answer::Found(response) => response,
                    Answer::Missing => not_built(),
                },
            };
            Ok::<_, Infallible>(answer)
        }
    }))
}

/// One request for a file of the client: negotiated, with its cache policy.
async fn serve(files: Files, mut request: Request) -> Result<Response, Infallible> {
    let path = request.uri().path().to_owned();
    let negotiated = !serves_page(&path);
    if !negotiated {
        // The page is always sent as is: the security middleware
        // (`headers.rs`) hashes the inline scripts of the bytes it sends, and
        // compressed bytes have none, so the page would be left blank by its
        // own policy. It is ~2 KiB; compressing it would save little.
        request.headers_mut().remove(ACCEPT_ENCODING);
    }
    let mut response = files.oneshot(request).await?;
    let found = response.status().is_success() || response.status() == StatusCode::NOT_MODIFIED;
    let cache = if found && is_hashed_asset(&path) {
        IMMUTABLE
    } else {
        REVALIDATE
    };
    let headers = response.headers_mut();
    headers.insert(CACHE_CONTROL, HeaderValue::from_static(cache));
    if negotiated {
        headers.append(VARY, HeaderValue::from_static("accept-encoding"));
    }
    Ok(response)
}

/// Whether `path` is answered with the page: a directory (`/`, served its
/// `index.html`), an `.html` file, or a client route (a last segment with
/// no extension, see [`spa_index`]).
fn serves_page(path: &str) -> bool {
    let last = path.rsplit('/').next().unwrap_or_default();
    match last.rsplit_once('.') {
        Some((_, extension)) => extension.eq_ignore_ascii_case("html"),
        None => true,
    }
}

/// Whether the file at `path` is named for its content by Trunk:
/// `tandem-client-577b7710162a3ff2.js`, `…-577b7710162a3ff2_bg.wasm`,
/// `tandem-efc50d0ba5e8d68d.css`: a 64-bit hash in hex after the last `-`.
/// Trunk writes it without leading zeros (`tandem-client-797bfc5b3d6ae13.js`
/// is one), so it takes 13 to 16 digits: fewer than 13 is a chance of one
/// in 16⁴ per build, and a plain name never looks like one.
fn is_hashed_asset(path: &str) -> bool {
    let last = path.rsplit('/').next().unwrap_or_default();
    let Some((stem, _extension)) = last.split_once('.') else {
        return false;
    };
    let stem = stem.strip_suffix("_bg").unwrap_or(stem);
    stem.rsplit_once('-').is_some_and(|(name, hash)| {
        !name.is_empty()
            && (13..=16).contains(&hash.len())
            && hash.bytes().all(|b| b.is_ascii_hexdigit())
    })
}

/// Client routes (`/`, `/d/quiet-otter`) get `index.html`, and the app routes
/// itself; a missing asset (a path whose last segment has an extension) is a
/// plain 404 rather than an HTML page the browser would try to parse.
fn is_client_route(request: &Request) -> bool {
    let last_segment = request.uri().path().rsplit('/').next().unwrap_or_default();
    !last_segment.contains('.')
}

/// The answer for a missing asset.
fn not_found() -> Response {
    (StatusCode::NOT_FOUND, "not found\n").into_response()
}

/// The answer while no client is built.
fn not_built() -> Response {
    (
        StatusCode::SERVICE_UNAVAILABLE,
        [(CONTENT_TYPE, "text/plain; charset=utf-8")],
        "The Tandem web client is not built. Run `cargo xtask run`, or point --static-dir at a `trunk build` output.\n",
    )
        .into_response()
}

/// [`is_client_route`] for a client in a directory: its `index.html`.
async fn spa_index(index: PathBuf, request: Request) -> Result<Response, Infallible> {
    if !is_client_route(&request) {
        return Ok(not_found());
    }
    // No precompressed copies here: the page is sent as is (see `serve`).
    match ServeFile::new(index).oneshot(request).await {
        Ok(response) if response.status() == StatusCode::NOT_FOUND => Ok(not_built()),
        Ok(response) => Ok(response.map(Body::new)),
        Err(err) => match err {},
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trunks_hashed_names_are_recognised() {
        for hashed in [
            "/tandem-client-577b7710162a3ff2.js",
            "/tandem-client-577b7710162a3ff2_bg.wasm",
            "/tandem-efc50d0ba5e8d68d.css",
            // A hash with a leading zero, as Trunk writes it (seen in a build).
            "/tandem-client-797bfc5b3d6ae13.js",
            "/tandem-client-797bfc5b3d6ae13_bg.wasm",
        ] {
            assert!(is_hashed_asset(hashed), "{hashed}");
        }
        for plain in [
            "/",
            "/index.html",
            "/sw.js",
            "/public/tandem.css",
            "/public/favicon.svg",
            "/d/quiet-otter",
            "/x-577b7710162.js",
            "/x-577b7710162a3ff2a.js",
            "/-577b7710162a3ff2.js",
            "/x-577b7710162a3ffg.js",
        ] {
            assert!(!is_hashed_asset(plain), "{plain}");
        }
    }

    #[test]
    fn pages_are_the_directories_html_files_and_client_routes() {
        for page in ["/", "/index.html", "/d/team-notes", "/docs/"] {
            assert!(serves_page(page), "{page}");
        }
        for file in [
            "/sw.js",
            "/tandem-client-577b7710162a3ff2_bg.wasm",
            "/public/favicon.svg",
        ] {
            assert!(!serves_page(file), "{file}");
        }
    }
}
