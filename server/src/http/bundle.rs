//! The web client held in memory: the copy compiled into the binary by
//! `cargo xtask dist` (see `server/build.rs`), or, for tests and tools, one
//! read from a directory once.
//!
//! It is served the way tower-http's `ServeDir` serves `dist/` with
//! `precompressed_br()` and `precompressed_gzip()` (what
//! [`super::static_files`] does with `--static-dir`), so a page cannot tell
//! the two apart: the same path rules (percent-decoded, `..` refused, a
//! directory answered with its `index.html` or redirected to its `/`
//! form), the same choice of copy (the highest `q` of `Accept-Encoding`
//! among `br`, `gzip` and `identity`, `br` first on a tie, the next one
//! when a copy is missing), the same headers (`Content-Type` of the file,
//! not of its copy; `Content-Encoding`; `Last-Modified` from the file's
//! time at build; `Accept-Ranges: bytes`; `Content-Length`), the same
//! answers to `If-Modified-Since` (304), `If-Unmodified-Since` (412) and
//! `Range` (206, or 416), 405 for methods other than GET and HEAD. The
//! cache and page policy around it is [`super::static_files`]'s, shared by
//! both. `server/tests/static_files.rs` and `server/tests/headers.rs` run
//! their checks against both.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::body::Body;
use axum::extract::Request;
use axum::http::header::{
    ACCEPT_ENCODING, ACCEPT_RANGES, ALLOW, CONTENT_ENCODING, CONTENT_LENGTH, CONTENT_RANGE,
    CONTENT_TYPE, IF_MODIFIED_SINCE, IF_UNMODIFIED_SINCE, LAST_MODIFIED, LOCATION, RANGE,
};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::Response;
use bytes::Bytes;
use httpdate::HttpDate;

/// One file as `build.rs` writes it into the binary.
struct EmbeddedFile {
    /// Its path under `dist/`, with `/`.
    path: &'static str,
    /// Its bytes.
    bytes: &'static [u8],
    /// When it was last modified, in seconds since the Unix epoch.
    modified: u64,
}

// `FILES`: the table `build.rs` generated (empty when nothing was embedded).
include!(concat!(env!("OUT_DIR"), "/embedded_client.rs"));

/// A built client in memory.
#[derive(Clone)]
pub struct ClientBundle {
    /// Every file by its path under the client's root (`index.html`,
    /// `public/tandem.css`, `tandem-client-….js.br`).
    files: HashMap<String, BundleFile>,
    /// Every directory holding a file (`public`), for the directory rules.
    dirs: HashSet<String>,
}

/// One file of a bundle.
#[derive(Clone)]
struct BundleFile {
    /// Its bytes; cloning shares them.
    bytes: Bytes,
    /// Its `Last-Modified`.
    modified: HttpDate,
}

impl std::fmt::Debug for ClientBundle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientBundle")
            .field("files", &self.files.len())
            .field("bytes", &self.bytes())
            .finish()
    }
}

/// What the bundle makes of a request.
pub(super) enum Answer {
    /// The answer: the file, a redirect, 304, 405, 412 or 416.
    Found(Response),
    /// No such file: the caller's fallback answers.
    Missing,
}

/// A precompressed copy the bundle may hold, ordered from least to most
/// preferred (as tower-http orders them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Encoding {
    /// The file itself.
    Identity,
    /// The `.gz` copy.
    Gzip,
    /// The `.br` copy.
    Brotli,
}

impl Encoding {
    /// The suffix of its copy and its `Content-Encoding`.
    fn copy(self) -> Option<(&'static str, &'static str)> {
        match self {
            Self::Identity => None,
            Self::Gzip => Some((".gz", "gzip")),
            Self::Brotli => Some((".br", "br")),
        }
    }
}

impl ClientBundle {
    /// The client compiled into this binary, if `cargo xtask dist` built it.
    pub fn embedded() -> Option<Self> {
        if FILES.is_empty() {
            return None;
        }
        Some(Self::from_files(FILES.iter().map(|file| {
            (
                file.path.to_owned(),
                Bytes::from_static(file.bytes),
                UNIX_EPOCH + Duration::from_secs(file.modified),
            )
        })))
    }

    /// Every file under `dir`, read into memory now.
    pub fn read_dir(dir: &Path) -> std::io::Result<Self> {
        let mut files = Vec::new();
        let mut pending = vec![dir.to_path_buf()];
        while let Some(current) = pending.pop() {
            for entry in std::fs::read_dir(&current)? {
                let path = entry?.path();
                let meta = std::fs::metadata(&path)?;
                if meta.is_dir() {
                    pending.push(path);
                    continue;
                }
                let relative = path
                    .strip_prefix(dir)
                    .map_err(std::io::Error::other)?
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy().into_owned())
                    .collect::<Vec<_>>()
                    .join("/");
                let bytes = Bytes::from(std::fs::read(&path)?);
                files.push((relative, bytes, meta.modified()?));
            }
        }
        Ok(Self::from_files(files))
    }

    fn from_files(files: impl IntoIterator<Item = (String, Bytes, SystemTime)>) -> Self {
        let mut bundle = Self {
            files: HashMap::new(),
            dirs: HashSet::new(),
        };
        for (path, bytes, modified) in files {
            let mut dir = path.as_str();
            while let Some((parent, _)) = dir.rsplit_once('/') {
                bundle.dirs.insert(parent.to_owned());
                dir = parent;
            }
            let modified = HttpDate::from(modified);
            bundle.files.insert(path, BundleFile { bytes, modified });
        }
        bundle
    }

    /// How many files it holds (compressed copies included).
    pub fn len(&self) -> usize {
        self.files.len()
    }

    /// Whether it holds no file.
    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    /// Their bytes in all.
    pub fn bytes(&self) -> usize {
        self.files.values().map(|f| f.bytes.len()).sum()
    }

    /// Whether it holds the page (`index.html`): a built client does.
    pub fn has_page(&self) -> bool {
        self.files.contains_key("index.html")
    }

    /// The answer to a request for one of its files, as `ServeDir` with
    /// precompressed brotli and gzip would give it from a directory.
    pub(super) fn respond(&self, request: &Request) -> Answer {
        if let Some(refused) = refuse_method(request.method()) {
            return Answer::Found(refused);
        }
        let Some(mut key) = file_key(request.uri().path()) else {
            return Answer::Missing;
        };
        if key.is_empty() || self.dirs.contains(&key) {
            if !request.uri().path().ends_with('/') {
                return Answer::Found(redirect_to_slash(request));
            }
            key = if key.is_empty() {
                "index.html".to_owned()
            } else {
                format!("{key}/index.html")
            };
        }
        self.respond_file(&key, request, accepted(request.headers()))
    }

    /// The page for a client route, as `ServeFile` on `index.html` gives
    /// it (no precompressed copy); `Missing` if the bundle has no page.
    pub(super) fn respond_page(&self, request: &Request) -> Answer {
        if let Some(refused) = refuse_method(request.method()) {
            return Answer::Found(refused);
        }
        self.respond_file("index.html", request, Vec::new())
    }

    /// `key` (or its preferred copy among `encodings`) as the answer to
    /// `request`.
    fn respond_file(
        &self,
        key: &str,
        request: &Request,
        mut encodings: Vec<(Encoding, u16)>,
    ) -> Answer {
        // The preferred encoding whose copy exists, dropping the ones
        // whose copy is missing, as `ServeDir` does.
        let (file, encoding) = loop {
            let preferred = encodings
                .iter()
                .filter(|(_, q)| *q > 0)
                .max_by_key(|&&(encoding, q)| (q, encoding))
                .map(|&(encoding, _)| encoding);
            match preferred.and_then(Encoding::copy) {
                Some((suffix, _)) => match self.files.get(&format!("{key}{suffix}")) {
                    Some(file) => break (file, preferred),
                    None => encodings.retain(|(e, _)| Some(*e) != preferred),
                },
                None => match self.files.get(key) {
                    Some(file) => break (file, preferred),
                    None => return Answer::Missing,
                },
            }
        };
        Answer::Found(file_response(file, key, encoding, request))
    }
}

/// 405 for anything but GET and HEAD.
fn refuse_method(method: &Method) -> Option<Response> {
    if method == Method::GET || method == Method::HEAD {
        return None;
    }
    let mut response = status(StatusCode::METHOD_NOT_ALLOWED);
    response
        .headers_mut()
        .insert(ALLOW, HeaderValue::from_static("GET,HEAD"));
    Some(response)
}

/// The bundle key of a request path: percent-decoded, `.` and empty
/// segments dropped; `None` for a path that is not UTF-8 or climbs (`..`).
fn file_key(path: &str) -> Option<String> {
    let decoded = percent_encoding::percent_decode_str(path.trim_start_matches('/'))
        .decode_utf8()
        .ok()?;
    let mut segments = Vec::new();
    for segment in decoded.split('/') {
        match segment {
            "" | "." => {}
            ".." => return None,
            segment => segments.push(segment),
        }
    }
    Some(segments.join("/"))
}

/// 307 to the same path with a `/` appended (and the query kept).
fn redirect_to_slash(request: &Request) -> Response {
    let uri = request.uri();
    let location = match uri.query() {
        Some(query) => format!("{}/?{query}", uri.path()),
        None => format!("{}/", uri.path()),
    };
    match HeaderValue::from_str(&location) {
        Ok(location) => {
            let mut response = status(StatusCode::TEMPORARY_REDIRECT);
            response.headers_mut().insert(LOCATION, location);
            response
        }
        Err(_) => status(StatusCode::INTERNAL_SERVER_ERROR),
    }
}

/// The encodings `Accept-Encoding` allows among the bundle's copies, with
/// their q-values in thousandths (unknown codings and bad q-values skipped,
/// as tower-http skips them).
fn accepted(headers: &HeaderMap) -> Vec<(Encoding, u16)> {
    headers
        .get_all(ACCEPT_ENCODING)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .filter_map(|item| {
            let mut parts = item.splitn(2, ';');
            let name = parts.next()?.trim();
            let encoding = if name.eq_ignore_ascii_case("br") {
                Encoding::Brotli
            } else if name.eq_ignore_ascii_case("gzip") || name.eq_ignore_ascii_case("x-gzip") {
                Encoding::Gzip
            } else if name.eq_ignore_ascii_case("identity") {
                Encoding::Identity
            } else {
                return None;
            };
            let q = match parts.next() {
                Some(q) => q_value(q.trim())?,
                None => 1000,
            };
            Some((encoding, q))
        })
        .collect()
}

/// A q-value (`q=0.5`) in thousandths, as RFC 9110 writes it: `0` or `1`,
/// then at most three decimals, at most 1.
fn q_value(text: &str) -> Option<u16> {
    let value = text
        .strip_prefix("q=")
        .or_else(|| text.strip_prefix("Q="))?;
    let (whole, fraction) = value.split_once('.').unwrap_or((value, ""));
    let whole: u16 = match whole {
        "0" => 0,
        "1" => 1000,
        _ => return None,
    };
    if fraction.len() > 3 || !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let mut thousandths = 0u16;
    for (i, digit) in fraction.bytes().enumerate() {
        thousandths += u16::from(digit - b'0') * [100, 10, 1][i];
    }
    let q = whole + thousandths;
    (q <= 1000).then_some(q)
}

/// The answer for `file` (the copy for `encoding` of `key`).
fn file_response(
    file: &BundleFile,
    key: &str,
    encoding: Option<Encoding>,
    request: &Request,
) -> Response {
    let headers = request.headers();
    let since = |name| {
        headers
            .get(name)
            .and_then(|v: &HeaderValue| v.to_str().ok())
            .and_then(|v| httpdate::parse_http_date(v).ok())
            .map(HttpDate::from)
    };
    if let Some(since) = since(IF_UNMODIFIED_SINCE)
        && since < file.modified
    {
        return status(StatusCode::PRECONDITION_FAILED);
    }
    if let Some(since) = since(IF_MODIFIED_SINCE)
        && since >= file.modified
    {
        return status(StatusCode::NOT_MODIFIED);
    }

    let mime = mime_guess::from_path(key)
        .first_raw()
        .unwrap_or("application/octet-stream");
    let mut builder = Response::builder()
        .header(CONTENT_TYPE, mime)
        .header(ACCEPT_RANGES, "bytes");
    if let Some((_, name)) = encoding.and_then(Encoding::copy) {
        builder = builder.header(CONTENT_ENCODING, name);
    }
    builder = builder.header(LAST_MODIFIED, file.modified.to_string());

    let head = request.method() == Method::HEAD;
    let size = file.bytes.len() as u64;
    let range = headers
        .get(RANGE)
        .and_then(|v| v.to_str().ok())
        .map(|v| http_range_header::parse_range_header(v).and_then(|r| r.validate(size)));
    let built = match range {
        None => builder
            .header(CONTENT_LENGTH, size)
            .body(body(head, file.bytes.clone())),
        Some(Ok(ranges)) if ranges.len() == 1 => {
            let (start, end) = (*ranges[0].start(), *ranges[0].end());
            let length = if size == 0 { 0 } else { end - start + 1 };
            let slice = if size == 0 {
                Bytes::new()
            } else {
                file.bytes.slice(start as usize..=end as usize)
            };
            builder
                .status(StatusCode::PARTIAL_CONTENT)
                .header(CONTENT_RANGE, format!("bytes {start}-{end}/{size}"))
                .header(CONTENT_LENGTH, length)
                .body(body(head, slice))
        }
        Some(Ok(_)) => builder
            .status(StatusCode::RANGE_NOT_SATISFIABLE)
            .header(CONTENT_RANGE, format!("bytes */{size}"))
            .body(Body::from("Cannot serve multipart range requests")),
        Some(Err(_)) => builder
            .status(StatusCode::RANGE_NOT_SATISFIABLE)
            .header(CONTENT_RANGE, format!("bytes */{size}"))
            .body(Body::empty()),
    };
    built.unwrap_or_else(|_| status(StatusCode::INTERNAL_SERVER_ERROR))
}

/// The body to send: none for HEAD (its length is in the headers).
fn body(head: bool, bytes: Bytes) -> Body {
    if head {
        Body::empty()
    } else {
        Body::from(bytes)
    }
}

/// An empty answer with `code`.
fn status(code: StatusCode) -> Response {
    let mut response = Response::new(Body::empty());
    *response.status_mut() = code;
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bundle() -> ClientBundle {
        let at = UNIX_EPOCH + Duration::from_secs(1_790_000_000);
        ClientBundle::from_files([
            ("index.html".to_owned(), Bytes::from_static(b"<html>"), at),
            ("app.js".to_owned(), Bytes::from_static(b"0123456789"), at),
            ("app.js.br".to_owned(), Bytes::from_static(b"BR"), at),
            ("app.js.gz".to_owned(), Bytes::from_static(b"GZ"), at),
            ("only-gz.css".to_owned(), Bytes::from_static(b"css"), at),
            ("only-gz.css.gz".to_owned(), Bytes::from_static(b"GZ"), at),
            (
                "public/a b.svg".to_owned(),
                Bytes::from_static(b"<svg>"),
                at,
            ),
        ])
    }

    fn request(method: &str, path: &str, headers: &[(&str, &str)]) -> Request {
        let mut builder = Request::builder().method(method).uri(path);
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        builder.body(Body::empty()).expect("a request")
    }

    fn answer(path: &str, headers: &[(&str, &str)]) -> Option<Response> {
        match bundle().respond(&request("GET", path, headers)) {
            Answer::Found(response) => Some(response),
            Answer::Missing => None,
        }
    }

    fn encoding_of(accept: &str, path: &str) -> Option<String> {
        let response = answer(path, &[("accept-encoding", accept)]).expect("found");
        response
            .headers()
            .get(CONTENT_ENCODING)
            .map(|v| v.to_str().expect("ascii").to_owned())
    }

    #[test]
    fn the_best_accepted_copy_that_exists_is_chosen() {
        assert_eq!(encoding_of("br", "/app.js").as_deref(), Some("br"));
        assert_eq!(
            encoding_of("gzip, deflate, br, zstd", "/app.js").as_deref(),
            Some("br")
        );
        assert_eq!(encoding_of("gzip", "/app.js").as_deref(), Some("gzip"));
        assert_eq!(
            encoding_of("br;q=0, gzip", "/app.js").as_deref(),
            Some("gzip")
        );
        assert_eq!(
            encoding_of("br;q=0.5, gzip;q=0.8", "/app.js").as_deref(),
            Some("gzip")
        );
        assert_eq!(encoding_of("identity", "/app.js"), None);
        assert_eq!(
            encoding_of("br;q=2, gzip", "/app.js").as_deref(),
            Some("gzip")
        );
        // No brotli copy: the gzip one.
        assert_eq!(
            encoding_of("br, gzip", "/only-gz.css").as_deref(),
            Some("gzip")
        );
        assert_eq!(encoding_of("br", "/only-gz.css"), None);
    }

    #[test]
    fn paths_are_decoded_and_never_climb() {
        assert!(answer("/public/a%20b.svg", &[]).is_some());
        assert!(answer("/public/../index.html", &[]).is_none());
        assert!(answer("/%2e%2e/index.html", &[]).is_none());
        assert!(answer("/nothing.js", &[]).is_none());
        let root = answer("/", &[]).expect("the page");
        assert_eq!(root.headers()[CONTENT_TYPE], "text/html");
        let dir = answer("/public?x=1", &[]).expect("a redirect");
        assert_eq!(dir.status(), StatusCode::TEMPORARY_REDIRECT);
        assert_eq!(dir.headers()[LOCATION], "/public/?x=1");
        // A directory without a page falls through to the fallback.
        assert!(answer("/public/", &[]).is_none());
    }

    #[test]
    fn conditional_and_range_requests() {
        let modified = answer("/app.js", &[]).expect("found").headers()[LAST_MODIFIED].clone();
        let modified = modified.to_str().expect("ascii");
        let unchanged = answer("/app.js", &[("if-modified-since", modified)]).expect("found");
        assert_eq!(unchanged.status(), StatusCode::NOT_MODIFIED);
        let stale = answer(
            "/app.js",
            &[("if-unmodified-since", "Thu, 01 Jan 1970 00:00:00 GMT")],
        )
        .expect("found");
        assert_eq!(stale.status(), StatusCode::PRECONDITION_FAILED);
        let part = answer("/app.js", &[("range", "bytes=2-4")]).expect("found");
        assert_eq!(part.status(), StatusCode::PARTIAL_CONTENT);
        assert_eq!(part.headers()[CONTENT_RANGE], "bytes 2-4/10");
        assert_eq!(part.headers()[CONTENT_LENGTH], "3");
        let bad = answer("/app.js", &[("range", "bytes=20-30")]).expect("found");
        assert_eq!(bad.status(), StatusCode::RANGE_NOT_SATISFIABLE);
        let post = bundle().respond(&request("POST", "/app.js", &[]));
        let Answer::Found(post) = post else {
            panic!("405")
        };
        assert_eq!(post.status(), StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(post.headers()[ALLOW], "GET,HEAD");
    }

    #[test]
    fn q_values_follow_the_rfc() {
        assert_eq!(q_value("q=1"), Some(1000));
        assert_eq!(q_value("q=0.5"), Some(500));
        assert_eq!(q_value("Q=0.125"), Some(125));
        assert_eq!(q_value("q=1.000"), Some(1000));
        assert_eq!(q_value("q=1.5"), None);
        assert_eq!(q_value("q=0.1234"), None);
        assert_eq!(q_value("q=x"), None);
    }
}
