//! Who wrote what, through the HTTP API (issue 28). Keys as for `/text`.
//!
//! | route | answer |
//! |---|---|
//! | `GET /api/rooms/{room}/authors` | 200, JSON: the body, its runs `[{from, to, author}]` (UTF-16 offsets, `author` `null` where nothing is recorded) and the room's authors, as a download (`{title}.authors.json`) |
//! | `GET /api/rooms/{room}/versions/{id}/authors` | 200, the same for that version's body |
//!
//! Refusals as for the other routes: 400 bad room name, 403 no or invalid
//! key, 404 no such version, 500 storage, 503 the room could not be opened.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::{
    KeyParam, Refusal, ask, content_disposition, file_name, request_key, room_of, version_of,
};
use crate::AppState;
use crate::room::history::HistoryCmd;

/// `GET /api/rooms/{room}/authors`: the body's runs of one author each and
/// the room's authors, as a JSON download.
pub async fn authors(
    Path(room): Path<String>,
    Query(params): Query<KeyParam>,
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Response {
    let answer = async {
        let room = room_of(room)?;
        let key = request_key(&state, &room, &headers, params.key.as_deref()).await?;
        for _ in 0..3 {
            let Some(handle) = state.registry.get_or_create(&room) else {
                return Err(Refusal::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "server is shutting down",
                ));
            };
            match handle.authors(key).await {
                Ok(Some(export)) => {
                    let name = file_name(&export.title).unwrap_or_else(|| room.to_string());
                    let disposition = content_disposition(&format!("{name}.authors.json"));
                    return Ok(([(header::CONTENT_DISPOSITION, disposition)], Json(export))
                        .into_response());
                }
                Ok(None) => {
                    return Err(Refusal::new(
                        StatusCode::FORBIDDEN,
                        "this document needs a link with a key",
                    ));
                }
                // The room unloaded meanwhile: look it up again.
                Err(_) => continue,
            }
        }
        Err(Refusal::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "the document could not be opened; try again",
        ))
    };
    answer.await.unwrap_or_else(IntoResponse::into_response)
}

/// `GET /api/rooms/{room}/versions/{id}/authors`: who wrote what in that
/// version's body, under the room's authorship.
pub async fn version_authors(
    Path((room, id)): Path<(String, String)>,
    Query(params): Query<KeyParam>,
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Response {
    let answer = async {
        let room = room_of(room)?;
        let key = request_key(&state, &room, &headers, params.key.as_deref()).await?;
        let id = version_of(&id)?;
        let export = ask(&state, &room, |reply| HistoryCmd::Authors {
            key,
            id,
            reply,
        })
        .await?;
        Ok::<_, Refusal>(Json(export).into_response())
    };
    answer.await.unwrap_or_else(IntoResponse::into_response)
}
