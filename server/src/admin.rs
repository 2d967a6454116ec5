//! The admin API: what `tandem rooms` asks a running server.
//!
//! It lives in the server, not in a tool that opens the store, because only
//! the server knows which rooms are open: a room it has loaded is in its
//! registry, and in a cluster the other nodes' connections are counted in
//! Redis (`bus/tracking.rs`). So it can refuse to delete a document someone
//! has open, where a tool on the store could only race them.
//!
//! Every route needs `Authorization: Bearer {admin token}`, the token
//! [`Keys::admin_token`](crate::access::Keys::admin_token) derives from the
//! server's secret: whoever can read the secret (`{data-dir}/secret.key` or
//! `--secret`) can ask, as they could sign an edit key for any room anyway.
//! `tandem rooms` derives it the same way on the server's machine.
//! `deploy/nginx.conf` does not pass `/api/admin/` on, so it is asked on a
//! node's own address.
//!
//! | route | answer |
//! |---|---|
//! | `GET /api/admin/rooms` | 200, every stored room ([`AdminRoom`]) |
//! | `GET /api/admin/rooms/{room}/text` | 200, `{"room","title","body"}` |
//! | `DELETE /api/admin/rooms/{room}` | 200, what the room held ([`RoomSummary`]) |
//!
//! Refusals are JSON `{"error": "…"}`: 400 bad room name, 401 no token, 403
//! a wrong token, 404 no such room, 409 the room is open (loaded on this
//! node, or with connections on another), 500 storage, 503 shutting down or
//! Redis not answering. Importing needs no admin route: `tandem rooms
//! import` creates a protected room through `POST /api/rooms` and types the
//! file into it as any editor would.

use axum::Json;
use axum::Router;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::{Deserialize, Serialize};
use tandem_shared::RoomId;
use tandem_shared::doc::{CONTENT, TITLE};
use yrs::{GetString as _, ReadTxn as _, Transact as _};

use crate::AppState;
use crate::access::Right;
use crate::store::RoomSummary;

/// A room as the list shows it: what the store holds and whether it is open.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AdminRoom {
    /// What the store holds.
    #[serde(flatten)]
    pub summary: RoomSummary,
    /// Whether this node has it in memory: someone has it open here, or
    /// left it less than `--room-idle` ago.
    pub loaded_here: bool,
    /// Connections to it on the other nodes of a cluster; `None` on a
    /// single server, or when Redis did not answer.
    pub connections_elsewhere: Option<u64>,
}

/// A document's text, as `GET /api/admin/rooms/{room}/text` answers it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdminText {
    /// The room.
    pub room: RoomId,
    /// Its title (may be empty).
    pub title: String,
    /// Its body.
    pub body: String,
}

/// The admin routes, each behind the token check.
pub fn routes(state: AppState) -> Router<AppState> {
    Router::new()
        .route("/api/admin/rooms", get(list_rooms))
        .route(
            "/api/admin/rooms/{room}",
            axum::routing::delete(delete_room),
        )
        .route("/api/admin/rooms/{room}/text", get(room_text))
        .route_layer(axum::middleware::from_fn_with_state(state, require_token))
}

fn refuse(status: StatusCode, error: &str) -> Response {
    (status, Json(serde_json::json!({ "error": error }))).into_response()
}

/// Lets a request through only with the admin token.
async fn require_token(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let token = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
        .map(str::trim);
    match token {
        None => {
            let mut refused = refuse(
                StatusCode::UNAUTHORIZED,
                "the admin API needs `Authorization: Bearer <admin token>` (`tandem rooms` sends it)",
            );
            refused.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"tandem-admin\""),
            );
            refused
        }
        Some(token) if state.keys.verify_admin(token) => next.run(request).await,
        Some(_) => refuse(
            StatusCode::FORBIDDEN,
            "not the admin token of this server's secret",
        ),
    }
}

/// The room named in a path, or the 400 for it (boxed: a `Response` is large).
fn room_of(name: String) -> Result<RoomId, Box<Response>> {
    RoomId::new(name).map_err(|err| Box::new(refuse(StatusCode::BAD_REQUEST, &err.to_string())))
}

/// A store call on a blocking thread; a failure is logged and answered 500.
async fn on_store<T: Send + 'static>(
    state: &AppState,
    call: impl FnOnce(&dyn crate::store::Store) -> Result<T, crate::store::StoreError> + Send + 'static,
) -> Result<T, Response> {
    let store = state.store.clone();
    let failed = |why: String| {
        tracing::error!(error = %why, "admin request: storage failure");
        refuse(StatusCode::INTERNAL_SERVER_ERROR, "storage failure")
    };
    match tokio::task::spawn_blocking(move || call(store.as_ref())).await {
        Ok(Ok(answer)) => Ok(answer),
        Ok(Err(err)) => Err(failed(err.to_string())),
        Err(join) => Err(failed(join.to_string())),
    }
}

/// `GET /api/admin/rooms`.
async fn list_rooms(State(state): State<AppState>) -> Response {
    let summaries = match on_store(&state, |store| store.list_rooms()).await {
        Ok(summaries) => summaries,
        Err(refused) => return refused,
    };
    let bus = state.registry.bus();
    // One question per room; after a failure Redis is not asked again.
    let mut redis_answers = bus.is_some();
    let mut rooms = Vec::with_capacity(summaries.len());
    for summary in summaries {
        let mut connections_elsewhere = None;
        if let Some(bus) = bus
            && redis_answers
        {
            match bus.connections_elsewhere(&summary.room).await {
                Ok(count) => connections_elsewhere = Some(count),
                Err(err) => {
                    tracing::warn!(error = %err, "cannot count the rooms' connections on other nodes");
                    redis_answers = false;
                }
            }
        }
        rooms.push(AdminRoom {
            loaded_here: state.registry.is_loaded(&summary.room),
            summary,
            connections_elsewhere,
        });
    }
    Json(rooms).into_response()
}

/// `GET /api/admin/rooms/{room}/text`: from the room's actor when it is
/// loaded (so edits not yet committed are in it), else from the store
/// without loading it (an export of every room must not load them all).
async fn room_text(Path(room): Path<String>, State(state): State<AppState>) -> Response {
    let room = match room_of(room) {
        Ok(room) => room,
        Err(refused) => return *refused,
    };
    if state.registry.is_loaded(&room)
        && let Some(handle) = state.registry.get_or_create(&room)
        && let Ok(Some(exported)) = handle.export(Some(Right::Edit)).await
    {
        return Json(AdminText {
            room,
            title: exported.title,
            body: exported.body,
        })
        .into_response();
    }
    let read = room.clone();
    let stored = match on_store(&state, move |store| {
        let exists = store.load(&read)?;
        Ok(exists)
    })
    .await
    {
        Ok(stored) => stored,
        Err(refused) => return refused,
    };
    if stored == crate::store::StoredRoom::default() {
        return refuse(StatusCode::NOT_FOUND, "no such document");
    }
    let (doc, skipped) = stored.to_doc();
    if !skipped.is_empty() {
        tracing::warn!(%room, skipped = ?skipped, "export: stored entries that do not apply were skipped");
    }
    let txn = doc.transact();
    let text = |name| {
        txn.get_text(name)
            .map(|t| t.get_string(&txn))
            .unwrap_or_default()
    };
    Json(AdminText {
        title: text(TITLE),
        body: text(CONTENT),
        room,
    })
    .into_response()
}

/// `DELETE /api/admin/rooms/{room}`: refused while the room is open on
/// any node, so nobody's open page is left with a document that no longer
/// exists.
async fn delete_room(Path(room): Path<String>, State(state): State<AppState>) -> Response {
    let room = match room_of(room) {
        Ok(room) => room,
        Err(refused) => return *refused,
    };
    if state.shutdown.is_cancelled() {
        return refuse(StatusCode::SERVICE_UNAVAILABLE, "server is shutting down");
    }
    if state.registry.is_loaded(&room) {
        return refuse(
            StatusCode::CONFLICT,
            "this document is open on this server (or was closed less than --room-idle ago); \
             nobody was disconnected and nothing was deleted: try again once everyone has left",
        );
    }
    if let Some(bus) = state.registry.bus() {
        match bus.connections_elsewhere(&room).await {
            Ok(0) => {}
            Ok(count) => {
                return refuse(
                    StatusCode::CONFLICT,
                    &format!(
                        "this document is open on another server ({count} connection(s)); \
                         nothing was deleted: try again once everyone has left"
                    ),
                );
            }
            Err(err) => {
                tracing::warn!(error = %err, "cannot count the room's connections on other nodes");
                return refuse(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "cannot check the other servers; try again",
                );
            }
        }
    }
    let target = room.clone();
    match on_store(&state, move |store| store.delete_room(&target)).await {
        Ok(Some(summary)) => {
            tracing::info!(%room, updates = summary.updates, versions = summary.versions, "room deleted");
            Json(summary).into_response()
        }
        Ok(None) => refuse(StatusCode::NOT_FOUND, "no such document"),
        Err(refused) => refused,
    }
}
