//! The upgrade requests: `GET /ws/{room}` (Tandem's own protocol,
//! `tandem.v1`) and `GET /yjs/{room}` (the y-websocket dialect of stock Yjs
//! clients).
//!
//! What a browser page can see in an HTTP status is checked before the
//! upgrade: the origin (403), the room name and the subprotocol (400), and
//! whether the server is shutting down (503). The capacity is decided here
//! too ([`admit`]) but answered after the upgrade, in a close frame, because
//! a browser cannot read the status of a refused upgrade; so is the key,
//! which a Tandem client sends in its first message (`hello`) and a Yjs
//! client in its URL, as stock providers can do nothing else. A `?key=` on
//! `/ws/` is refused with 400: a URL reaches server and proxy logs, and a
//! client that sends one expects rights it would silently not get.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use tandem_shared::{RoomId, SUBPROTOCOL};
use tracing::debug;

use super::admission::{admit, count_refused};
use super::connection::{Arrival, handle_socket};
use super::handshake::{SocketOptions, Upgrade};
use crate::AppState;
use crate::forwarded::client_ip;
use crate::room::Dialect;

/// Query parameters of `GET /ws/{room}` and `GET /yjs/{room}`.
#[derive(Debug, Deserialize)]
pub(crate) struct WsParams {
    /// A share-link key (see [`crate::access`]): only on `/yjs/`.
    key: Option<String>,
}

/// `GET /ws/{room}`: Tandem's own protocol (`tandem.v1`).
pub(crate) async fn ws_handler(
    room: Path<String>,
    params: Query<WsParams>,
    state: State<AppState>,
    peer: ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    ws: Upgrade,
) -> Response {
    upgrade(Dialect::Tandem, room, params, state, peer, headers, ws)
}

/// `GET /yjs/{room}`: the y-websocket dialect, for stock Yjs clients.
pub(crate) async fn yjs_handler(
    room: Path<String>,
    params: Query<WsParams>,
    state: State<AppState>,
    peer: ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    ws: Upgrade,
) -> Response {
    upgrade(Dialect::Yjs, room, params, state, peer, headers, ws)
}

/// Checks the origin, room name, subprotocol, where the key is, and the
/// capacity, then upgrades.
fn upgrade(
    dialect: Dialect,
    Path(room): Path<String>,
    Query(params): Query<WsParams>,
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    ws: Upgrade,
) -> Response {
    if !origin_allowed(&headers, &state.config.allowed_origins) {
        debug!(origin = ?headers.get(header::ORIGIN), "refused a cross-origin upgrade");
        count_refused("origin");
        return (StatusCode::FORBIDDEN, "origin not allowed\n").into_response();
    }
    let room = match RoomId::new(room) {
        Ok(room) => room,
        Err(err) => {
            count_refused("room_name");
            return (
                StatusCode::BAD_REQUEST,
                format!("invalid room name: {err}\n"),
            )
                .into_response();
        }
    };
    if !subprotocol_accepted(dialect, ws.requested_protocols()) {
        count_refused("subprotocol");
        return (
            StatusCode::BAD_REQUEST,
            format!("unsupported subprotocol: this server speaks {SUBPROTOCOL}\n"),
        )
            .into_response();
    }
    if let Some(refused) = key_in_url(dialect, &params) {
        count_refused("key_in_url");
        return refused;
    }
    let ip = match client_ip(peer.ip(), &headers, &state.config.trusted_proxies) {
        Ok(ip) => ip,
        Err(err) => {
            count_refused("forwarded_for");
            return (StatusCode::BAD_REQUEST, format!("{err}\n")).into_response();
        }
    };
    if state.shutdown.is_cancelled() {
        count_refused("shutting_down");
        return (StatusCode::SERVICE_UNAVAILABLE, "server is shutting down\n").into_response();
    }
    let admission = admit(&state.limits, ip);
    let config = &state.config;
    // No buffer is kept per connection (server/src/ws/wire.rs): reads land
    // in a per-thread scratch buffer, frames to send wait in the outbox.
    let options = SocketOptions {
        protocol: (dialect == Dialect::Tandem).then_some(SUBPROTOCOL),
        deflate: config.ws_deflate,
        send_buffer: config.ws_send_buffer,
    };
    let client = state.next_client_id();
    // Counted from the upgrade on, so shutdown waits for this connection too.
    let tracked = state.connections.token();
    debug!(%room, %client, %ip, "upgrading");
    // No span per connection (it would cost memory for the connection's
    // life): its log events carry `room` and `client` as fields.
    ws.respond(options, move |socket| {
        let arrival = Arrival {
            room,
            client,
            ip,
            dialect,
            url_key: params.key,
        };
        let connection = handle_socket(socket, state, arrival, admission);
        async move {
            connection.await;
            drop(tracked);
        }
    })
}

/// The answer to a Tandem client that put a key in its URL: 400, since the
/// key belongs in its `hello`. (`/yjs/` takes `?key=`: stock Yjs providers
/// can send it nowhere else.)
fn key_in_url(dialect: Dialect, params: &WsParams) -> Option<Response> {
    (dialect == Dialect::Tandem && params.key.is_some()).then(|| {
        (
            StatusCode::BAD_REQUEST,
            "a share key goes in the hello message, not the URL (URLs reach logs); see docs/PROTOCOL.md\n",
        )
            .into_response()
    })
}

/// The same-origin rule plus the configured list. A request without an
/// `Origin` header does not come from a browser page and cannot be a
/// cross-site hijack, so it passes; `Origin: null` does not.
fn origin_allowed(headers: &HeaderMap, allowed: &[String]) -> bool {
    let Some(origin) = headers.get(header::ORIGIN) else {
        return true;
    };
    let Ok(origin) = origin.to_str() else {
        return false;
    };
    if allowed.iter().any(|a| a == origin) {
        return true;
    }
    let Some(host) = headers.get(header::HOST).and_then(|h| h.to_str().ok()) else {
        return false;
    };
    origin
        .strip_prefix("http://")
        .or_else(|| origin.strip_prefix("https://"))
        == Some(host)
}

/// Whether the subprotocols a client `offered` suit `dialect`: a Tandem
/// client offers none or `tandem.v1` among them; Yjs providers offer
/// whatever they like, and none is chosen.
fn subprotocol_accepted<'a>(dialect: Dialect, mut offered: impl Iterator<Item = &'a [u8]>) -> bool {
    match dialect {
        Dialect::Yjs => true,
        Dialect::Tandem => {
            let mut none = true;
            let found = offered.any(|p| {
                none = false;
                p == SUBPROTOCOL.as_bytes()
            });
            found || none
        }
    }
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn headers(origin: Option<&str>, host: Option<&str>) -> HeaderMap {
        let mut headers = HeaderMap::new();
        if let Some(origin) = origin {
            headers.insert(
                header::ORIGIN,
                HeaderValue::from_str(origin).expect("ascii"),
            );
        }
        if let Some(host) = host {
            headers.insert(header::HOST, HeaderValue::from_str(host).expect("ascii"));
        }
        headers
    }

    #[test]
    fn same_origin_and_listed_origins_pass() {
        let host = Some("docs.example:8080");
        assert!(origin_allowed(&headers(None, host), &[]), "not a browser");
        assert!(origin_allowed(
            &headers(Some("http://docs.example:8080"), host),
            &[]
        ));
        assert!(origin_allowed(
            &headers(Some("https://docs.example:8080"), host),
            &[]
        ));
        let listed = ["https://app.example".to_string()];
        assert!(origin_allowed(
            &headers(Some("https://app.example"), host),
            &listed
        ));
    }

    #[test]
    fn other_origins_are_refused() {
        let host = Some("docs.example:8080");
        for origin in [
            "https://evil.example",
            "null",
            "http://docs.example",
            "ftp://docs.example:8080",
        ] {
            assert!(
                !origin_allowed(&headers(Some(origin), host), &[]),
                "{origin}"
            );
        }
        assert!(
            !origin_allowed(&headers(Some("http://docs.example:8080"), None), &[]),
            "no Host to compare with"
        );
        let mut bad = headers(None, host);
        bad.insert(
            header::ORIGIN,
            HeaderValue::from_bytes(b"\xff").expect("opaque"),
        );
        assert!(!origin_allowed(&bad, &[]), "not text");
    }

    #[test]
    fn keys_go_in_the_url_only_on_the_yjs_endpoint() {
        let with_key = || WsParams {
            key: Some("e.abc".into()),
        };
        let refused = key_in_url(Dialect::Tandem, &with_key()).expect("refused");
        assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
        let empty = WsParams {
            key: Some(String::new()),
        };
        assert!(key_in_url(Dialect::Tandem, &empty).is_some(), "even empty");
        assert!(key_in_url(Dialect::Tandem, &WsParams { key: None }).is_none());
        assert!(key_in_url(Dialect::Yjs, &with_key()).is_none());
    }

    #[test]
    fn tandem_clients_offer_no_subprotocol_or_tandem_v1() {
        let offers = |list: &[&'static str]| list.iter().map(|p| p.as_bytes()).collect::<Vec<_>>();
        let accepted = |dialect, list: &[&'static str]| {
            subprotocol_accepted(dialect, offers(list).into_iter())
        };
        assert!(accepted(Dialect::Tandem, &[]));
        assert!(accepted(Dialect::Tandem, &["chat", SUBPROTOCOL]));
        assert!(!accepted(Dialect::Tandem, &["tandem.v2"]));
        assert!(accepted(Dialect::Yjs, &["anything"]));
    }
}
