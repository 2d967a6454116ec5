//! The small JSON API next to the WebSocket.
//!
//! `POST /api/rooms` creates a protected document: body `{}` for a fresh
//! random name or `{"name": "…"}` to claim a name nobody has written to,
//! has open, or claimed before.
//! The answer (201) carries the share keys:
//! `{"room": "…", "edit_key": "e.…", "view_key": "v.…"}`. Any other name
//! answers 409: only its editors can share it.
//!
//! `GET /api/rooms/{room}/text?format=txt|md` downloads the document as
//! plain text (the title names the file). A protected room needs a key (edit
//! or view), as `Authorization: Bearer {key}` (what the web client sends, so
//! the key stays out of URLs and the logs that record them) or, for scripts,
//! `?key=…`; an invalid key is 403.
//!
//! `GET /api/rooms/{room}/html` (keys as for `/text`) downloads the document
//! rendered from Markdown as a standalone HTML page: the preview's own
//! rendering (`tandem_shared::markdown`), sanitised, with a policy of its own.
//!
//! Version history (keys as for the download; see README "Version history"):
//!
//! | route | answer |
//! |---|---|
//! | `GET /api/rooms/{room}/versions` | 200, the versions newest first (`VersionEntry` JSON) |
//! | `GET /api/rooms/{room}/versions/{id}/text` | 200, that version's body as plain text |
//! | `POST /api/rooms/{room}/versions` `{"label": "…"}` | 201, the new named version (editors only) |
//! | `POST /api/rooms/{room}/versions/{id}/restore` | 200, the version recording the restore (editors only) |
//! | `PUT /api/rooms/{room}/versions/{id}/label` `{"label": "…"}` | 200, that version, named (editors only) |
//! | `DELETE /api/rooms/{room}/versions/{id}` | 204 (editors only) |
//!
//! Refusals are JSON `{"error": "…"}`: 400 bad room, body or label; 403 no
//! or invalid key, or a view key changing history; 404 no such version;
//! 413 body over 4 KiB or a restore past the size limit; 500 storage.
//!
//! Share links (`/api/rooms/{room}/links…`, editors only): see [`links`].
//! Who wrote what (`/api/rooms/{room}/authors`, keys as for `/text`): see
//! [`authors`].

pub mod authors;
pub mod links;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use tandem_shared::RoomId;

use crate::AppState;
use crate::access::Right;
use crate::room::history::{self, HistoryCmd};
use crate::room::{Claim, Exported, HistoryError};

/// Body of `POST /api/rooms`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateRoom {
    /// The name to claim; a fresh random one when absent.
    pub name: Option<String>,
}

pub use tandem_shared::CreatedRoom;

fn refuse(status: StatusCode, error: &str) -> Response {
    (status, Json(serde_json::json!({ "error": error }))).into_response()
}

/// The refusal of a claim on a room someone has open.
const IN_USE: &str = "this document is open; ask its editors for a link";

/// `POST /api/rooms`.
pub async fn create_room(
    State(state): State<AppState>,
    body: Option<Json<CreateRoom>>,
) -> Response {
    let room = match body.and_then(|Json(body)| body.name) {
        Some(name) => match RoomId::new(name) {
            Ok(room) => room,
            Err(err) => return refuse(StatusCode::BAD_REQUEST, &err.to_string()),
        },
        None => RoomId::generate(fastrand::u64(..)),
    };
    // In a cluster, people may have the room open on another node, where
    // this node's actor cannot see them: the connection tracking can.
    if let Some(bus) = state.registry.bus() {
        match bus.connections_elsewhere(&room).await {
            Ok(0) => {}
            Ok(_) => return refuse(StatusCode::CONFLICT, IN_USE),
            Err(err) => {
                tracing::warn!(error = %err, "cannot count the room's connections on other nodes");
                return refuse(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "cannot check the other servers; try again",
                );
            }
        }
    }
    // The room's actor decides, between its joins: nobody can open the room
    // in the middle of a claim and keep rights the claim takes away.
    let mut claim = None;
    for _ in 0..3 {
        let Some(handle) = state.registry.get_or_create(&room) else {
            return refuse(StatusCode::SERVICE_UNAVAILABLE, "server is shutting down");
        };
        if let Ok(answer) = handle.claim().await {
            claim = Some(answer);
            break;
        }
    }
    match claim {
        Some(Claim::Claimed) => {
            let created = CreatedRoom {
                edit_key: state.keys.key_for(&room, Right::Edit),
                view_key: state.keys.key_for(&room, Right::View),
                room,
            };
            (StatusCode::CREATED, Json(created)).into_response()
        }
        Some(Claim::InUse) => refuse(StatusCode::CONFLICT, IN_USE),
        Some(Claim::Taken) => refuse(
            StatusCode::CONFLICT,
            "this document already exists; ask its editors for a link",
        ),
        Some(Claim::Failed(err)) => {
            tracing::error!(error = %err, "claiming a room failed");
            refuse(StatusCode::INTERNAL_SERVER_ERROR, "storage failure")
        }
        None => refuse(
            StatusCode::SERVICE_UNAVAILABLE,
            "the document could not be opened; try again",
        ),
    }
}

/// The key of an `Authorization: Bearer {key}` header, if the request has one.
fn bearer_key(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
        .map(str::trim)
}

/// Query of `GET /api/rooms/{room}/text`.
#[derive(Debug, Deserialize)]
pub struct ExportParams {
    /// A share-link key; needed for protected rooms unless the request
    /// carries it in `Authorization: Bearer`.
    pub key: Option<String>,
    /// `txt` (default) or `md`: only the file name changes.
    pub format: Option<String>,
}

/// `GET /api/rooms/{room}/text`: the document as plain text, for download.
/// The title becomes the file name; the body is the content.
pub async fn export_text(
    Path(room): Path<String>,
    Query(params): Query<ExportParams>,
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Response {
    let extension = match params.format.as_deref() {
        None | Some("txt") => "txt",
        Some("md") => "md",
        Some(_) => return refuse(StatusCode::BAD_REQUEST, "format must be txt or md"),
    };
    let (room, doc) = match exported(room, params.key.as_deref(), &state, &headers).await {
        Ok(found) => found,
        Err(refusal) => return refusal,
    };
    let content_type = if extension == "md" {
        "text/markdown; charset=utf-8"
    } else {
        "text/plain; charset=utf-8"
    };
    download(&room, &doc.title, extension, content_type, doc.body)
}

/// `GET /api/rooms/{room}/html`: the document rendered from Markdown as a
/// standalone HTML page (`tandem_shared::markdown::standalone_page`, the
/// preview's own rendering), for download. Keys as for `/text`.
pub async fn export_html(
    Path(room): Path<String>,
    Query(params): Query<KeyParam>,
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Response {
    let (room, doc) = match exported(room, params.key.as_deref(), &state, &headers).await {
        Ok(found) => found,
        Err(refusal) => return refusal,
    };
    let title = doc.title.clone();
    // Rendering is linear in the document, which may be large: off the runtime.
    let rendered = tokio::task::spawn_blocking(move || {
        tandem_shared::markdown::standalone_page(&doc.title, &doc.body)
    })
    .await;
    match rendered {
        Ok(page) => download(&room, &title, "html", "text/html; charset=utf-8", page),
        Err(err) => {
            tracing::error!(error = %err, "rendering a document failed");
            refuse(
                StatusCode::INTERNAL_SERVER_ERROR,
                "could not render the document",
            )
        }
    }
}

/// The document of `room` for an export with `key` (from the query, unless
/// the request carries one in `Authorization: Bearer`), or the refusal.
async fn exported(
    room: String,
    key: Option<&str>,
    state: &AppState,
    headers: &HeaderMap,
) -> Result<(RoomId, Exported), Response> {
    let Ok(room) = RoomId::new(room) else {
        return Err(refuse(StatusCode::BAD_REQUEST, "invalid room name"));
    };
    let key = request_key(state, &room, headers, key)
        .await
        .map_err(IntoResponse::into_response)?;
    let mut exported = None;
    for _ in 0..3 {
        let Some(handle) = state.registry.get_or_create(&room) else {
            return Err(refuse(
                StatusCode::SERVICE_UNAVAILABLE,
                "server is shutting down",
            ));
        };
        if let Ok(answer) = handle.export(key).await {
            exported = Some(answer);
            break;
        }
    }
    match exported {
        None => Err(refuse(
            StatusCode::SERVICE_UNAVAILABLE,
            "the document could not be opened; try again",
        )),
        Some(None) => Err(refuse(
            StatusCode::FORBIDDEN,
            "this document needs a link with a key",
        )),
        Some(Some(doc)) => Ok((room, doc)),
    }
}

/// A download of `body`, named after the title (or the room).
fn download(
    room: &RoomId,
    title: &str,
    extension: &str,
    content_type: &str,
    body: String,
) -> Response {
    let name = file_name(title).unwrap_or_else(|| room.to_string());
    let disposition = content_disposition(&format!("{name}.{extension}"));
    (
        [
            (header::CONTENT_TYPE, content_type.to_string()),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        body,
    )
        .into_response()
}

/// Largest body `POST /api/rooms/{room}/versions` reads.
const MAX_NAME_BODY: usize = 4 * 1024;

/// A refused history request: its status and reason, small to pass
/// around (a `Response` is too large for an `Err`).
#[derive(Debug)]
struct Refusal(StatusCode, String);

impl Refusal {
    fn new(status: StatusCode, reason: &str) -> Self {
        Self(status, reason.to_string())
    }
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        refuse(self.0, &self.1)
    }
}

/// Query of the version-history routes.
#[derive(Debug, Deserialize)]
pub struct KeyParam {
    /// A share-link key, unless the request carries it in `Authorization: Bearer`.
    pub key: Option<String>,
}

/// The right a request's key grants now (`None` without a key), or the
/// 403 for a key that is not valid for `room`, or whose link was revoked
/// or has expired (the link's record decides, see [`crate::links`]).
async fn request_key(
    state: &AppState,
    room: &RoomId,
    headers: &HeaderMap,
    query: Option<&str>,
) -> Result<Option<Right>, Refusal> {
    let Some(key) = bearer_key(headers).or(query) else {
        return Ok(None);
    };
    let Some(id) = state.keys.authenticate(room, key) else {
        return Err(Refusal::new(
            StatusCode::FORBIDDEN,
            "this key is not valid for this document",
        ));
    };
    let (store, name) = (state.store.clone(), room.clone());
    let stored = match tokio::task::spawn_blocking(move || store.links(&name)).await {
        Ok(Ok(stored)) => stored,
        Ok(Err(err)) => {
            tracing::error!(error = %err, "reading a room's links failed");
            return Err(Refusal::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "storage failure",
            ));
        }
        Err(err) => {
            tracing::error!(error = %err, "reading a room's links failed");
            return Err(Refusal::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "storage failure",
            ));
        }
    };
    let standing = crate::links::standing(stored.links);
    crate::links::grant_of(&standing, &id, crate::links::now_ms())
        .map(|grant| Some(grant.right))
        .map_err(|refusal| Refusal::new(StatusCode::FORBIDDEN, &refusal.to_string()))
}

/// The room named in a path, or a 400.
fn room_of(name: String) -> Result<RoomId, Refusal> {
    RoomId::new(name).map_err(|_| Refusal::new(StatusCode::BAD_REQUEST, "invalid room name"))
}

/// A version id from a path; anything but a number names no version (404).
fn version_of(id: &str) -> Result<u64, Refusal> {
    id.parse()
        .map_err(|_| Refusal::new(StatusCode::NOT_FOUND, "no such version"))
}

/// Asks `room`'s actor a history question, loading the room if needed and
/// looking it up again if it unloads in between (as the download does).
async fn ask<T>(
    state: &AppState,
    room: &RoomId,
    command: impl Fn(tokio::sync::oneshot::Sender<Result<T, HistoryError>>) -> HistoryCmd,
) -> Result<T, Refusal> {
    for _ in 0..3 {
        let Some(handle) = state.registry.get_or_create(room) else {
            return Err(Refusal::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "server is shutting down",
            ));
        };
        let (reply, answer) = tokio::sync::oneshot::channel();
        if handle.history(command(reply)).await.is_err() {
            continue;
        }
        if let Ok(answer) = answer.await {
            return answer.map_err(history_refusal);
        }
    }
    Err(Refusal::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "the document could not be opened; try again",
    ))
}

/// The answer to a refused history request. Storage details go to the log.
fn history_refusal(err: HistoryError) -> Refusal {
    let status = match &err {
        HistoryError::NoAccess | HistoryError::ReadOnly => StatusCode::FORBIDDEN,
        HistoryError::NotFound => StatusCode::NOT_FOUND,
        HistoryError::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        HistoryError::Damaged | HistoryError::Store(_) => {
            tracing::error!(error = %err, "version history request failed");
            return Refusal::new(StatusCode::INTERNAL_SERVER_ERROR, "storage failure");
        }
    };
    Refusal(status, err.to_string())
}

/// `GET /api/rooms/{room}/versions`: the room's versions, newest first.
pub async fn list_versions(
    Path(room): Path<String>,
    Query(params): Query<KeyParam>,
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Response {
    let answer = async {
        let room = room_of(room)?;
        let key = request_key(&state, &room, &headers, params.key.as_deref()).await?;
        let versions = ask(&state, &room, |reply| HistoryCmd::List { key, reply }).await?;
        let entries: Vec<_> = versions.iter().map(history::entry).collect();
        Ok::<_, Refusal>(Json(entries).into_response())
    };
    answer.await.unwrap_or_else(IntoResponse::into_response)
}

/// `GET /api/rooms/{room}/versions/{id}/text`: one version's body.
pub async fn version_text(
    Path((room, id)): Path<(String, String)>,
    Query(params): Query<KeyParam>,
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Response {
    let answer = async {
        let room = room_of(room)?;
        let key = request_key(&state, &room, &headers, params.key.as_deref()).await?;
        let id = version_of(&id)?;
        let text = ask(&state, &room, |reply| HistoryCmd::Text { key, id, reply }).await?;
        Ok::<_, Refusal>(
            (
                [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
                text.body,
            )
                .into_response(),
        )
    };
    answer.await.unwrap_or_else(IntoResponse::into_response)
}

/// `POST /api/rooms/{room}/versions` with `{"label": "…"}`: names the
/// current state (editors only).
pub async fn name_version(
    Path(room): Path<String>,
    Query(params): Query<KeyParam>,
    State(state): State<AppState>,
    headers: HeaderMap,
    body: bytes::Bytes,
) -> Response {
    let answer = async {
        let room = room_of(room)?;
        let key = request_key(&state, &room, &headers, params.key.as_deref()).await?;
        let label = label_of(&body)?;
        let version = ask(&state, &room, |reply| HistoryCmd::Name {
            key,
            label: label.clone(),
            reply,
        })
        .await?;
        Ok::<_, Refusal>((StatusCode::CREATED, Json(history::entry(&version))).into_response())
    };
    answer.await.unwrap_or_else(IntoResponse::into_response)
}

/// The label of a `{"label": "…"}` body, checked and trimmed, or why not.
fn label_of(body: &[u8]) -> Result<String, Refusal> {
    if body.len() > MAX_NAME_BODY {
        return Err(Refusal::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "the body is larger than 4 KiB",
        ));
    }
    let named: tandem_shared::history::NameVersion =
        serde_json::from_slice(body).map_err(|err| {
            Refusal(
                StatusCode::BAD_REQUEST,
                format!("the body must be {{\"label\": \"…\"}}: {err}"),
            )
        })?;
    if let Some(why) = tandem_shared::history::check_label(&named.label) {
        return Err(Refusal(StatusCode::BAD_REQUEST, why));
    }
    Ok(named.label.trim().to_string())
}

/// `PUT /api/rooms/{room}/versions/{id}/label` with `{"label": "…"}`: names
/// an existing version, which retention then keeps (editors only).
pub async fn label_version(
    Path((room, id)): Path<(String, String)>,
    Query(params): Query<KeyParam>,
    State(state): State<AppState>,
    headers: HeaderMap,
    body: bytes::Bytes,
) -> Response {
    let answer = async {
        let room = room_of(room)?;
        let key = request_key(&state, &room, &headers, params.key.as_deref()).await?;
        let id = version_of(&id)?;
        let label = label_of(&body)?;
        let version = ask(&state, &room, |reply| HistoryCmd::Label {
            key,
            id,
            label: label.clone(),
            reply,
        })
        .await?;
        Ok::<_, Refusal>(Json(history::entry(&version)).into_response())
    };
    answer.await.unwrap_or_else(IntoResponse::into_response)
}

/// `DELETE /api/rooms/{room}/versions/{id}`: deletes a version, named or
/// not (editors only); 204.
pub async fn delete_version(
    Path((room, id)): Path<(String, String)>,
    Query(params): Query<KeyParam>,
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Response {
    let answer = async {
        let room = room_of(room)?;
        let key = request_key(&state, &room, &headers, params.key.as_deref()).await?;
        let id = version_of(&id)?;
        ask(&state, &room, |reply| HistoryCmd::Delete { key, id, reply }).await?;
        Ok::<_, Refusal>(StatusCode::NO_CONTENT.into_response())
    };
    answer.await.unwrap_or_else(IntoResponse::into_response)
}

/// `POST /api/rooms/{room}/versions/{id}/restore`: makes the document's
/// text that version's again, as a forward edit every client receives
/// (editors only). Answers the version recording the restore.
pub async fn restore_version(
    Path((room, id)): Path<(String, String)>,
    Query(params): Query<KeyParam>,
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Response {
    let answer = async {
        let room = room_of(room)?;
        let key = request_key(&state, &room, &headers, params.key.as_deref()).await?;
        let id = version_of(&id)?;
        let version = ask(&state, &room, |reply| HistoryCmd::Restore {
            key,
            id,
            reply,
        })
        .await?;
        Ok::<_, Refusal>(Json(history::entry(&version)).into_response())
    };
    answer.await.unwrap_or_else(IntoResponse::into_response)
}

/// `Content-Disposition` for a download named `name` (RFC 6266): an ASCII
/// `filename` for old clients and the exact UTF-8 name as `filename*`.
fn content_disposition(name: &str) -> String {
    let ascii: String = name
        .chars()
        .map(|c| if c.is_ascii() { c } else { '_' })
        .collect();
    let encoded: String = name
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect();
    format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}")
}

/// A safe file name from a title: letters, digits, spaces, `-` and `_`,
/// at most 80 characters; `None` if nothing is left.
fn file_name(title: &str) -> Option<String> {
    let name: String = title
        .chars()
        .filter(|c| c.is_alphanumeric() || matches!(c, ' ' | '-' | '_'))
        .take(80)
        .collect();
    let name = name.trim().to_string();
    (!name.is_empty()).then_some(name)
}

#[cfg(test)]
mod tests {
    use super::{content_disposition, file_name};

    #[test]
    fn downloads_keep_their_unicode_name() {
        assert_eq!(
            content_disposition("Café notes.md"),
            "attachment; filename=\"Caf_ notes.md\"; filename*=UTF-8''Caf%C3%A9%20notes.md"
        );
    }

    #[test]
    fn file_names_are_safe() {
        assert_eq!(
            file_name("Trip plan: Oslo/Bergen \"2027\""),
            Some("Trip plan OsloBergen 2027".into())
        );
        assert_eq!(file_name("../../etc/passwd"), Some("etcpasswd".into()));
        assert_eq!(file_name("  \r\n "), None);
        assert_eq!(
            file_name(&"é".repeat(200)).map(|n| n.chars().count()),
            Some(80)
        );
    }
}
