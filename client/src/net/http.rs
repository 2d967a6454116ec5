//! The JSON API next to the WebSocket (the server's `api` module):
//! `POST /api/rooms` creates a protected document and answers with its
//! share keys; `GET /api/rooms/{room}/text` downloads a document as text.

use serde::Deserialize;
use tandem_shared::RoomId;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{Request, RequestInit, Response};

use crate::error::ClientError;

pub(crate) use tandem_shared::CreatedRoom;

/// The body of the server's refusals: `{"error": "…"}`.
#[derive(Debug, Deserialize)]
struct Refusal {
    /// A short reason meant for people.
    error: String,
}

/// The file types the download offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ExportFormat {
    /// Plain text, `.txt`.
    Txt,
    /// Markdown, `.md` (the same text; only the name and type differ).
    Md,
    /// The Markdown rendered as a standalone HTML page (`/html`).
    Html,
    /// Who wrote what (issue 28): the text, its runs of one author each and
    /// the authors, as JSON (`/authors`).
    Authors,
}

impl ExportFormat {
    /// The `format` query value and file extension.
    pub(crate) fn extension(self) -> &'static str {
        match self {
            Self::Txt => "txt",
            Self::Md => "md",
            Self::Html => "html",
            Self::Authors => "authors.json",
        }
    }
}

/// Creates a protected document with a fresh name.
pub(crate) async fn create_room() -> Result<CreatedRoom, ClientError> {
    let response = fetch("POST", "/api/rooms", Some("{}"), None).await?;
    let text = read_text(&response).await?;
    serde_json::from_str(&text).map_err(|e| ClientError::BadResponse(e.to_string()))
}

/// Downloads `room` as a file: the server's file name (from
/// `Content-Disposition`), else one made from `title`.
pub(crate) async fn download_text(
    room: &RoomId,
    key: Option<&str>,
    format: ExportFormat,
    title: &str,
) -> Result<(), ClientError> {
    let response = fetch("GET", &export_path(room, format), None, key).await?;
    let name = response
        .headers()
        .get("content-disposition")
        .ok()
        .flatten()
        .and_then(|header| file_name_from_disposition(&header))
        .unwrap_or_else(|| fallback_file_name(title, room, format));
    let blob: web_sys::Blob = await_js(response.blob().map_err(js_error)?)
        .await?
        .dyn_into()
        .map_err(js_error)?;
    save_blob(&blob, &name)
}

/// `/api/rooms/{room}/text?format=…`. The key, if any, goes in the
/// request's `Authorization` header, never in the URL (which gets logged).
pub(crate) fn export_path(room: &RoomId, format: ExportFormat) -> String {
    match format {
        ExportFormat::Html => return format!("/api/rooms/{room}/html"),
        ExportFormat::Authors => return format!("/api/rooms/{room}/authors"),
        ExportFormat::Txt | ExportFormat::Md => {}
    }
    format!("/api/rooms/{room}/text?format={}", format.extension())
}

/// The file name in a `Content-Disposition` header: `filename*=UTF-8''…`
/// (RFC 6266) when present, else `filename="…"`. A browser hands header
/// values to pages as Latin-1, so UTF-8 bytes in a plain `filename` arrive
/// as mojibake ("Ã©" for "é"); they are decoded back. Path separators are
/// dropped: the name is only ever a name.
pub(crate) fn file_name_from_disposition(header: &str) -> Option<String> {
    let params: Vec<(String, String)> = header
        .split(';')
        .filter_map(|part| {
            let (key, value) = part.split_once('=')?;
            Some((key.trim().to_ascii_lowercase(), value.trim().to_owned()))
        })
        .collect();
    let extended = params
        .iter()
        .find(|(k, _)| k == "filename*")
        .and_then(|(_, v)| {
            let (charset, rest) = v.split_once('\'')?;
            let (_, encoded) = rest.split_once('\'')?;
            charset
                .eq_ignore_ascii_case("utf-8")
                .then(|| percent_decode(encoded))
                .flatten()
        });
    let name = extended.or_else(|| {
        params.iter().find(|(k, _)| k == "filename").map(|(_, v)| {
            let unquoted = v
                .strip_prefix('"')
                .and_then(|v| v.strip_suffix('"'))
                .unwrap_or(v);
            repair_latin1(&unquoted.replace("\\\"", "\""))
        })
    })?;
    let name: String = name
        .chars()
        .filter(|c| !matches!(c, '/' | '\\') && !c.is_control())
        .collect();
    let name = name.trim().trim_start_matches('.').to_owned();
    (!name.is_empty()).then_some(name)
}

/// A file name when the server gives none: the title (or the room name).
pub(crate) fn fallback_file_name(title: &str, room: &RoomId, format: ExportFormat) -> String {
    let stem: String = title
        .chars()
        .filter(|c| c.is_alphanumeric() || matches!(c, ' ' | '-' | '_'))
        .take(80)
        .collect();
    let stem = stem.trim();
    let stem = if stem.is_empty() { room.as_str() } else { stem };
    format!("{stem}.{}", format.extension())
}

/// `text` read as Latin-1 bytes and decoded as UTF-8, when that works and
/// changes something; `text` itself otherwise.
fn repair_latin1(text: &str) -> String {
    if text.is_ascii() || text.chars().any(|c| u32::from(c) > 0xFF) {
        return text.to_owned();
    }
    let bytes: Vec<u8> = text.chars().map(|c| u32::from(c) as u8).collect();
    String::from_utf8(bytes).unwrap_or_else(|_| text.to_owned())
}

fn percent_decode(text: &str) -> Option<String> {
    let mut bytes = Vec::with_capacity(text.len());
    let mut rest = text.as_bytes();
    while let Some((&byte, tail)) = rest.split_first() {
        if byte == b'%' {
            let hex = std::str::from_utf8(tail.get(..2)?).ok()?;
            bytes.push(u8::from_str_radix(hex, 16).ok()?);
            rest = &tail[2..];
        } else {
            bytes.push(byte);
            rest = tail;
        }
    }
    String::from_utf8(bytes).ok()
}

/// `fetch(url, {method, body})`, with the share `key` as `Authorization:
/// Bearer` if given: a response with a 2xx status, or why not.
pub(crate) async fn fetch(
    method: &str,
    url: &str,
    json_body: Option<&str>,
    key: Option<&str>,
) -> Result<Response, ClientError> {
    let window = web_sys::window().ok_or_else(|| ClientError::Network("no window".into()))?;
    let init = RequestInit::new();
    init.set_method(method);
    if let Some(body) = json_body {
        init.set_body(&JsValue::from_str(body));
    }
    let request = Request::new_with_str_and_init(url, &init).map_err(js_error)?;
    if json_body.is_some() {
        request
            .headers()
            .set("content-type", "application/json")
            .map_err(js_error)?;
    }
    if let Some(key) = key {
        request
            .headers()
            .set("authorization", &format!("Bearer {key}"))
            .map_err(js_error)?;
    }
    let response: Response = JsFuture::from(window.fetch_with_request(&request))
        .await
        .map_err(|e| ClientError::Network(format!("{e:?}")))?
        .dyn_into()
        .map_err(js_error)?;
    if response.ok() {
        return Ok(response);
    }
    let status = response.status();
    let message = read_text(&response)
        .await
        .ok()
        .and_then(|text| serde_json::from_str::<Refusal>(&text).ok())
        .map(|refusal| refusal.error);
    Err(ClientError::Http { status, message })
}

/// The body of `response`, as text.
pub(crate) async fn read_text(response: &Response) -> Result<String, ClientError> {
    await_js(response.text().map_err(js_error)?)
        .await?
        .as_string()
        .ok_or_else(|| ClientError::BadResponse("body is not text".into()))
}

async fn await_js(promise: js_sys::Promise) -> Result<JsValue, ClientError> {
    JsFuture::from(promise)
        .await
        .map_err(|e| ClientError::Network(format!("{e:?}")))
}

/// Saves `blob` as a download named `name`, through a temporary link.
fn save_blob(blob: &web_sys::Blob, name: &str) -> Result<(), ClientError> {
    let document = web_sys::window()
        .and_then(|w| w.document())
        .ok_or_else(|| ClientError::BadResponse("no document".into()))?;
    let url = web_sys::Url::create_object_url_with_blob(blob).map_err(js_error)?;
    let link: web_sys::HtmlAnchorElement = document
        .create_element("a")
        .map_err(js_error)?
        .dyn_into()
        .map_err(js_error)?;
    link.set_href(&url);
    link.set_download(name);
    link.click();
    // The download has started from the URL; it can go once this task yields.
    wasm_bindgen_futures::spawn_local(async move {
        gloo_timers::future::TimeoutFuture::new(1_000).await;
        let _ = web_sys::Url::revoke_object_url(&url);
    });
    Ok(())
}

fn js_error(e: impl std::fmt::Debug) -> ClientError {
    ClientError::BadResponse(format!("{e:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn room() -> RoomId {
        "quiet-otter".parse().expect("valid room")
    }

    #[test]
    fn export_paths_carry_the_format_and_never_the_key() {
        assert_eq!(
            export_path(&room(), ExportFormat::Txt),
            "/api/rooms/quiet-otter/text?format=txt"
        );
        assert_eq!(
            export_path(&room(), ExportFormat::Md),
            "/api/rooms/quiet-otter/text?format=md"
        );
        assert_eq!(
            export_path(&room(), ExportFormat::Authors),
            "/api/rooms/quiet-otter/authors"
        );
        assert_eq!(
            fallback_file_name("Plan", &room(), ExportFormat::Authors),
            "Plan.authors.json"
        );
    }

    #[test]
    fn file_names_from_the_server() {
        assert_eq!(
            file_name_from_disposition(r#"attachment; filename="Trip plan.md""#).as_deref(),
            Some("Trip plan.md")
        );
        assert_eq!(
            file_name_from_disposition("attachment; filename=notes.txt").as_deref(),
            Some("notes.txt")
        );
        // UTF-8 sent raw, read by the browser as Latin-1.
        assert_eq!(
            file_name_from_disposition("attachment; filename=\"CafÃ© notes.txt\"").as_deref(),
            Some("Café notes.txt")
        );
        // RFC 6266's extended form wins.
        assert_eq!(
            file_name_from_disposition(
                "attachment; filename=\"Cafe.txt\"; filename*=UTF-8''Caf%C3%A9%20%F0%9F%93%9D.txt"
            )
            .as_deref(),
            Some("Café 📝.txt")
        );
        assert_eq!(
            file_name_from_disposition(r#"attachment; filename="../../etc/passwd""#).as_deref(),
            Some("etcpasswd")
        );
        assert_eq!(file_name_from_disposition("attachment"), None);
        assert_eq!(
            file_name_from_disposition(r#"attachment; filename="""#),
            None
        );
    }

    #[test]
    fn fallback_names_use_the_title_or_the_room() {
        assert_eq!(
            fallback_file_name("Plan: v2/final", &room(), ExportFormat::Md),
            "Plan v2final.md"
        );
        assert_eq!(
            fallback_file_name("  ", &room(), ExportFormat::Txt),
            "quiet-otter.txt"
        );
    }
}
