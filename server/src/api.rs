//! The small JSON API next to the WebSocket.
//!
//! `POST /api/rooms` creates a protected document: body `{}` for a fresh
//! random name or `{"name": "…"}` to claim a name nobody has written to yet.
//! The answer (201) carries the share keys:
//! `{"room": "…", "edit_key": "e.…", "view_key": "v.…"}`. A name that already
//! has content answers 409: only its editors can share it.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use tandem_shared::RoomId;

use crate::AppState;
use crate::access::Right;

/// Body of `POST /api/rooms`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateRoom {
    /// The name to claim; a fresh random one when absent.
    pub name: Option<String>,
}

/// Answer of `POST /api/rooms`.
#[derive(Debug, Serialize, Deserialize)]
pub struct CreatedRoom {
    /// The room's name.
    pub room: RoomId,
    /// Key of the edit link.
    pub edit_key: String,
    /// Key of the view link.
    pub view_key: String,
}

fn refuse(status: StatusCode, error: &str) -> Response {
    (status, Json(serde_json::json!({ "error": error }))).into_response()
}

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
    if state.registry.is_loaded(&room) {
        return refuse(
            StatusCode::CONFLICT,
            "this document is open; ask its editors for a link",
        );
    }
    let store = state.registry.store();
    let claimed = {
        let room = room.clone();
        tokio::task::spawn_blocking(move || store.claim(&room)).await
    };
    match claimed {
        Ok(Ok(true)) => {
            let created = CreatedRoom {
                edit_key: state.keys.key_for(&room, Right::Edit),
                view_key: state.keys.key_for(&room, Right::View),
                room,
            };
            (StatusCode::CREATED, Json(created)).into_response()
        }
        Ok(Ok(false)) => refuse(
            StatusCode::CONFLICT,
            "this document already exists; ask its editors for a link",
        ),
        Ok(Err(err)) => {
            tracing::error!(error = %err, "claiming a room failed");
            refuse(StatusCode::INTERNAL_SERVER_ERROR, "storage failure")
        }
        Err(err) => {
            tracing::error!(error = %err, "claim task failed");
            refuse(StatusCode::INTERNAL_SERVER_ERROR, "internal error")
        }
    }
}
