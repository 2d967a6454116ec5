//! The security headers every response carries, and the page's
//! Content-Security-Policy.
//!
//! | header | value | why |
//! |---|---|---|
//! | `X-Content-Type-Options` | `nosniff` | a file is only ever what its type says |
//! | `Referrer-Policy` | `same-origin` | document names stay off other sites' logs |
//! | `X-Frame-Options` | `DENY` | no framing (older browsers; newer read `frame-ancestors`) |
//! | `Content-Security-Policy` | [`policy`], on HTML pages | only this origin's scripts, styles and sockets |
//!
//! The app needs `'self'` and `'wasm-unsafe-eval'` (to compile its wasm),
//! plus exactly the inline scripts of the page itself: Trunk writes the
//! loader of the wasm into `index.html` as an inline `<script
//! type="module">`, and the page registers its service worker inline too.
//! A policy without them leaves the page blank; one with `'unsafe-inline'`
//! would let any injected script run. So each HTML page is sent with the
//! SHA-256 of each inline script it holds (computed from the bytes sent,
//! so a rebuilt client needs no restart). Leptos sets `style` attributes
//! (peer colours), hence `style-src-attr 'unsafe-inline'`; style sheets and
//! `<style>` elements stay `'self'` only.

use axum::body::{Body, to_bytes};
use axum::extract::Request;
use axum::http::header::{
    CONTENT_ENCODING, CONTENT_LENGTH, CONTENT_SECURITY_POLICY, CONTENT_TYPE, REFERRER_POLICY,
    X_CONTENT_TYPE_OPTIONS, X_FRAME_OPTIONS,
};
use axum::http::{HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use sha2::{Digest, Sha256};
use tracing::warn;

/// Largest page whose inline scripts are hashed; the client's is ~2 KiB.
const MAX_PAGE_BYTES: usize = 1 << 20;

/// Adds the security headers to every response, and the policy to pages.
pub(super) async fn harden(request: Request, next: Next) -> Response {
    let is_get = request.method() == Method::GET;
    let response = next.run(request).await;
    let mut response = if is_get && is_page(&response) {
        with_policy(response).await
    } else {
        response
    };
    let headers = response.headers_mut();
    headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    headers.insert(X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    response
}

/// Whether `response` is a whole HTML page. Only those get a policy: a 304
/// carries none, since its headers would replace those stored with the page
/// and its hashes.
fn is_page(response: &Response) -> bool {
    response.status() == StatusCode::OK
        && response
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .is_some_and(|value| value.starts_with("text/html"))
}

/// `response` with the policy for the page it carries.
async fn with_policy(mut response: Response) -> Response {
    if response.headers().contains_key(CONTENT_ENCODING) {
        // Compressed bytes hide the scripts; `static_files` never sends the
        // page so, and should it ever, no inline script may run.
        warn!("a page was sent compressed; its inline scripts are not allowed");
        response
            .headers_mut()
            .insert(CONTENT_SECURITY_POLICY, policy_header(&[]));
        return response;
    }
    let length = response
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok()?.parse::<usize>().ok());
    if length.is_some_and(|length| length > MAX_PAGE_BYTES) {
        // Not the client's page: none of its inline scripts may run.
        response
            .headers_mut()
            .insert(CONTENT_SECURITY_POLICY, policy_header(&[]));
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let page = match to_bytes(body, MAX_PAGE_BYTES).await {
        Ok(page) => page,
        Err(err) => {
            // Too big or failed while read: the page cannot be sent whole.
            warn!(error = %err, "could not read a page to hash its scripts");
            let mut failed = Response::new(Body::from("could not send the page\n"));
            *failed.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
            return failed;
        }
    };
    let hashes = inline_scripts(&String::from_utf8_lossy(&page))
        .iter()
        .map(|script| script_hash(script))
        .collect::<Vec<_>>();
    parts
        .headers
        .insert(CONTENT_SECURITY_POLICY, policy_header(&hashes));
    Response::from_parts(parts, Body::from(page))
}

/// [`policy`] as a header value. It always is one (hashes are base64); the
/// fallback, which lets no script run, only keeps this free of a panic.
fn policy_header(hashes: &[String]) -> HeaderValue {
    HeaderValue::from_str(&policy(hashes)).unwrap_or(HeaderValue::from_static(
        "default-src 'none'; frame-ancestors 'none'",
    ))
}

/// The Content-Security-Policy of a page whose inline scripts have `hashes`
/// (each `sha256-…`).
pub(super) fn policy(hashes: &[String]) -> String {
    let scripts: String = hashes.iter().map(|hash| format!(" '{hash}'")).collect();
    format!(
        "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'{scripts}; \
         style-src 'self'; style-src-attr 'unsafe-inline'; connect-src 'self'; \
         object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    )
}

/// `sha256-…` of an inline script's text, as CSP hash sources write it.
pub(super) fn script_hash(script: &str) -> String {
    // The HTML parser turns CR LF and lone CR into LF before a script's text
    // is hashed by the browser.
    let text = script.replace("\r\n", "\n").replace('\r', "\n");
    format!(
        "sha256-{}",
        STANDARD.encode(Sha256::digest(text.as_bytes()))
    )
}

/// The text of each inline `<script>` (one without `src`) of an HTML page,
/// in order. Comments are skipped; a script's text runs to the first
/// `</script`, as in the HTML parser.
pub(super) fn inline_scripts(html: &str) -> Vec<&str> {
    let lower = html.to_ascii_lowercase();
    let mut scripts = Vec::new();
    let mut at = 0;
    while let Some(found) = lower[at..].find('<') {
        let start = at + found;
        if lower[start..].starts_with("<!--") {
            let Some(end) = lower[start + 4..].find("-->") else {
                break;
            };
            at = start + 4 + end + 3;
            continue;
        }
        let is_script = lower[start..].starts_with("<script")
            && lower[start + 7..]
                .chars()
                .next()
                .is_some_and(|c| c == '>' || c == '/' || c.is_ascii_whitespace());
        if !is_script {
            at = start + 1;
            continue;
        }
        let Some(tag_end) = lower[start..].find('>').map(|i| start + i) else {
            break;
        };
        let body_start = tag_end + 1;
        let Some(body_end) = lower[body_start..].find("</script").map(|i| body_start + i) else {
            break;
        };
        if !has_src(&lower[start + 7..tag_end]) {
            scripts.push(&html[body_start..body_end]);
        }
        at = body_end + "</script".len();
    }
    scripts
}

/// Whether a start tag's attributes (lower-cased) include `src`.
fn has_src(attributes: &str) -> bool {
    attributes
        .split(|c: char| c.is_ascii_whitespace() || c == '/')
        .any(|attribute| attribute == "src" || attribute.starts_with("src="))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inline_scripts_are_found_and_external_ones_skipped() {
        let html = "<!doctype html><html><head>\
            <!-- <script>not this</script> -->\
            <script src=\"/app.js\"></script>\
            <SCRIPT type=\"module\">import init from '/x.js';</SCRIPT>\
            <scripts>not a script</scripts>\
            </head><body><script>\n  register();\n</script>\
            <script data-src=\"x\">kept()</script></body></html>";
        assert_eq!(
            inline_scripts(html),
            ["import init from '/x.js';", "\n  register();\n", "kept()"]
        );
        assert!(inline_scripts("<script>never closed").is_empty());
        assert!(inline_scripts("").is_empty());
    }

    #[test]
    fn hashes_are_what_browsers_compute() {
        // `echo -n "alert('hi');" | openssl dgst -sha256 -binary | base64`
        assert_eq!(
            script_hash("alert('hi');"),
            "sha256-S3glexDivN1XnfRGec5uF4Y7TT2a/rcrADlE/zj4maA="
        );
        assert_eq!(script_hash("a\r\nb\rc"), script_hash("a\nb\nc"));
    }

    #[test]
    fn the_policy_allows_this_origin_the_wasm_and_the_pages_scripts() {
        let policy = policy(&["sha256-abc=".into(), "sha256-def=".into()]);
        assert!(
            policy.contains("script-src 'self' 'wasm-unsafe-eval' 'sha256-abc=' 'sha256-def=';"),
            "{policy}"
        );
        assert!(policy.contains("frame-ancestors 'none'"), "{policy}");
        let scripts = policy
            .split("; ")
            .find(|directive| directive.starts_with("script-src "))
            .expect("a script-src");
        assert!(!scripts.contains("unsafe-inline"), "{scripts}");
    }
}
