//! The links API: a protected document's share links, managed by its
//! editors (see `crate::links` for the records and their rules).
//!
//! | route | answer |
//! |---|---|
//! | `GET /api/rooms/{room}/links` | 200, every link oldest first (`LinkEntry` JSON), revoked and expired ones included |
//! | `POST /api/rooms/{room}/links` `{"right", "label"?, "expires_in"?, "created_by"?}` | 201, the new link, its key included |
//! | `PATCH /api/rooms/{room}/links/{id}` `{"label"?, "right"?, "expires_in"?}` | 200, the link as changed |
//! | `DELETE /api/rooms/{room}/links/{id}` | 204: the link is revoked (and stays listed) |
//!
//! Every route needs the key of an active edit link, as
//! `Authorization: Bearer {key}` (what the page sends) or `?key=`. The
//! check and the change are one store transaction, so a key revoked a
//! moment before cannot still change anything. Once committed, a change
//! reaches every connection admitted with the link, on every node (see
//! [`announce`]). Refusals are JSON
//! `{"error": "…"}`: 400 a bad room name or body; 403 no key, a key that is
//! not valid, revoked, expired or view-only; 404 no such link; 409 a room
//! opened by name (it has no links), a link already revoked or expired, a
//! change that would leave no lasting edit link, too many links; 413 a body
//! over 4 KiB; 500 storage.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use tandem_shared::RoomId;
use tandem_shared::links::{
    LinkEntry, LinkId, LinkPatch, NewLink, Right, check_creator, check_expires_in, check_label,
};

use super::{KeyParam, MAX_NAME_BODY, Refusal, bearer_key, room_of};
use crate::AppState;
use crate::access::Keys;
use crate::links::{self, Creation, Link, LinkError};

/// `GET /api/rooms/{room}/links`: every link of the room, oldest first.
pub async fn list_links(
    Path(room): Path<String>,
    Query(params): Query<KeyParam>,
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Response {
    let answer = async {
        let room = room_of(room)?;
        let key = editor_key(&state, &room, &headers, params.key.as_deref())?;
        let (store, keys) = (state.store.clone(), state.keys.clone());
        let entries = blocking(move || {
            let stored = store.links(&room).map_err(storage_failure)?;
            if !stored.protected {
                return Err(conflict(LinkError::NotProtected));
            }
            let now = links::now_ms();
            let standing = links::standing(stored.links);
            authorise(&keys, &room, &key, &standing, now)?;
            Ok(standing
                .iter()
                .map(|link| link.entry(&keys, &room, now))
                .collect::<Vec<LinkEntry>>())
        })
        .await?;
        Ok::<_, Refusal>(Json(entries).into_response())
    };
    answer.await.unwrap_or_else(IntoResponse::into_response)
}

/// `POST /api/rooms/{room}/links`: a new link; 201 with it and its key.
pub async fn create_link(
    Path(room): Path<String>,
    Query(params): Query<KeyParam>,
    State(state): State<AppState>,
    headers: HeaderMap,
    body: bytes::Bytes,
) -> Response {
    let answer = async {
        let room = room_of(room)?;
        let key = editor_key(&state, &room, &headers, params.key.as_deref())?;
        let new: NewLink = body_of(&body)?;
        check_new(&new)?;
        let mut random = [0u8; 8];
        getrandom::fill(&mut random).map_err(|err| {
            tracing::error!(error = %err, "no randomness for a link id");
            Refusal::new(StatusCode::INTERNAL_SERVER_ERROR, "no randomness")
        })?;
        let creation = Creation {
            id: LinkId::from_random(random),
            new,
        };
        let link = edit(&state, &room, key, move |stored, now| {
            links::create(stored, creation.clone(), now)
        })
        .await?;
        announce(&state, &room).await;
        let entry = link.entry(&state.keys, &room, links::now_ms());
        Ok::<_, Refusal>((StatusCode::CREATED, Json(entry)).into_response())
    };
    answer.await.unwrap_or_else(IntoResponse::into_response)
}

/// `PATCH /api/rooms/{room}/links/{id}`: a new label, right or expiry.
pub async fn change_link(
    Path((room, id)): Path<(String, String)>,
    Query(params): Query<KeyParam>,
    State(state): State<AppState>,
    headers: HeaderMap,
    body: bytes::Bytes,
) -> Response {
    let answer = async {
        let room = room_of(room)?;
        let key = editor_key(&state, &room, &headers, params.key.as_deref())?;
        let id = link_of(&id)?;
        let patch: LinkPatch = body_of(&body)?;
        check_patch(&patch)?;
        let link = edit(&state, &room, key, move |stored, now| {
            links::patch(stored, &id, &patch, now)
        })
        .await?;
        announce(&state, &room).await;
        Ok::<_, Refusal>(Json(link.entry(&state.keys, &room, links::now_ms())).into_response())
    };
    answer.await.unwrap_or_else(IntoResponse::into_response)
}

/// `DELETE /api/rooms/{room}/links/{id}`: revokes the link; 204.
pub async fn revoke_link(
    Path((room, id)): Path<(String, String)>,
    Query(params): Query<KeyParam>,
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Response {
    let answer = async {
        let room = room_of(room)?;
        let key = editor_key(&state, &room, &headers, params.key.as_deref())?;
        let id = link_of(&id)?;
        edit(&state, &room, key, move |stored, now| {
            links::revoke(stored, &id, now)
        })
        .await?;
        announce(&state, &room).await;
        Ok::<_, Refusal>(StatusCode::NO_CONTENT.into_response())
    };
    answer.await.unwrap_or_else(IntoResponse::into_response)
}

/// Tells every copy of `room` that its links changed, once the change is
/// committed: this node's (if it has the room loaded) at once, the other
/// nodes' through the bus. Each reads the links again from the store and
/// brings its connections in line; a copy loaded later reads them anyway.
async fn announce(state: &AppState, room: &RoomId) {
    if let Some(handle) = state.registry.get(room) {
        // Gone: it unloaded meanwhile, and its next load reads the links.
        let _ = handle.links_changed().await;
    }
    if let Some(bus) = state.registry.bus() {
        bus.publish_links(room);
    }
}

/// The request's key, if its tag is the server's for `room`: whether its
/// link still stands, and edits, is checked against the records.
fn editor_key(
    state: &AppState,
    room: &RoomId,
    headers: &HeaderMap,
    query: Option<&str>,
) -> Result<String, Refusal> {
    let key = bearer_key(headers).or(query).ok_or_else(|| {
        Refusal::new(
            StatusCode::FORBIDDEN,
            "managing links needs the key of an edit link",
        )
    })?;
    if state.keys.authenticate(room, key).is_none() {
        return Err(Refusal::new(
            StatusCode::FORBIDDEN,
            "this key is not valid for this document",
        ));
    }
    Ok(key.to_owned())
}

/// Whether `key` is an active edit link's among `links` at `now`.
fn authorise(
    keys: &Keys,
    room: &RoomId,
    key: &str,
    links: &[Link],
    now: i64,
) -> Result<(), Refusal> {
    let grant = links::resolve(keys, room, key, links, now)
        .map_err(|refusal| Refusal::new(StatusCode::FORBIDDEN, &refusal.to_string()))?;
    match grant.right {
        Right::Edit => Ok(()),
        Right::View => Err(Refusal::new(
            StatusCode::FORBIDDEN,
            "only editors may manage links; this link is view-only",
        )),
        Right::Comment => Err(Refusal::new(
            StatusCode::FORBIDDEN,
            "only editors may manage links; this link may only comment",
        )),
    }
}

/// Runs `change` on the room's links in one store transaction, after
/// checking that the room has links and `key` may change them; the link
/// it changed.
async fn edit(
    state: &AppState,
    room: &RoomId,
    key: String,
    mut change: impl FnMut(&mut Vec<Link>, i64) -> Result<Link, LinkError> + Send + 'static,
) -> Result<Link, Refusal> {
    let (store, keys, room) = (state.store.clone(), state.keys.clone(), room.clone());
    blocking(move || {
        let mut outcome = Err(Refusal::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "storage failure",
        ));
        store
            .edit_links(&room, &mut |protected, stored| {
                let now = links::now_ms();
                outcome = decide(&keys, &room, &key, protected, stored, now, &mut change);
                outcome.is_ok()
            })
            .map_err(storage_failure)?;
        outcome
    })
    .await
}

/// The decision inside the transaction: the room has links, the key may
/// change them (checked against the links as they stand right now), and
/// the change keeps the rules.
fn decide(
    keys: &Keys,
    room: &RoomId,
    key: &str,
    protected: bool,
    stored: &mut Vec<Link>,
    now: i64,
    change: &mut impl FnMut(&mut Vec<Link>, i64) -> Result<Link, LinkError>,
) -> Result<Link, Refusal> {
    if !protected {
        return Err(conflict(LinkError::NotProtected));
    }
    authorise(keys, room, key, &links::standing(stored.clone()), now)?;
    change(stored, now).map_err(|err| match err {
        LinkError::NotFound => Refusal::new(StatusCode::NOT_FOUND, &err.to_string()),
        other => conflict(other),
    })
}

fn conflict(err: LinkError) -> Refusal {
    Refusal::new(StatusCode::CONFLICT, &err.to_string())
}

fn storage_failure(err: crate::store::StoreError) -> Refusal {
    tracing::error!(error = %err, "a links request failed in the store");
    Refusal::new(StatusCode::INTERNAL_SERVER_ERROR, "storage failure")
}

/// Runs a store call on a blocking thread.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, Refusal> + Send + 'static,
) -> Result<T, Refusal> {
    tokio::task::spawn_blocking(work)
        .await
        .unwrap_or_else(|err| {
            tracing::error!(error = %err, "a links request's storage task failed");
            Err(Refusal::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "storage failure",
            ))
        })
}

/// A link id from a path; anything else names no link (404).
fn link_of(id: &str) -> Result<LinkId, Refusal> {
    LinkId::new(id).map_err(|_| Refusal::new(StatusCode::NOT_FOUND, "no such link"))
}

/// A JSON body of at most 4 KiB.
fn body_of<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, Refusal> {
    if body.len() > MAX_NAME_BODY {
        return Err(Refusal::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "the body is larger than 4 KiB",
        ));
    }
    serde_json::from_slice(body).map_err(|err| {
        Refusal(
            StatusCode::BAD_REQUEST,
            format!("the body does not describe a link: {err}"),
        )
    })
}

/// A new link's fields against the rules of `tandem_shared::links`.
fn check_new(new: &NewLink) -> Result<(), Refusal> {
    let why = new
        .label
        .as_deref()
        .and_then(check_label)
        .or_else(|| new.created_by.as_deref().and_then(check_creator))
        .or_else(|| new.expires_in.and_then(check_expires_in));
    why.map_or(Ok(()), |why| Err(Refusal(StatusCode::BAD_REQUEST, why)))
}

/// A patch's fields against the same rules; an empty patch is refused.
fn check_patch(patch: &LinkPatch) -> Result<(), Refusal> {
    if patch.is_empty() {
        return Err(Refusal::new(
            StatusCode::BAD_REQUEST,
            "the body changes nothing: give a label, right or expires_in",
        ));
    }
    let why = patch
        .label
        .as_ref()
        .and_then(|label| label.as_deref().and_then(check_label))
        .or_else(|| patch.expires_in.flatten().and_then(check_expires_in));
    why.map_or(Ok(()), |why| Err(Refusal(StatusCode::BAD_REQUEST, why)))
}
