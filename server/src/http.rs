//! The HTTP surface: the router, the built web client, and health.
//!
//! Routes:
//!
//! | route | what |
//! |---|---|
//! | `GET /ws/{room}` | WebSocket upgrade (see `ws` and docs/PROTOCOL.md) |
//! | `GET /yjs/{room}` | WebSocket upgrade for stock Yjs clients (y-websocket dialect) |
//! | `POST /api/rooms` | create a protected document and get its share keys (see [`crate::api`]) |
//! | `GET /api/rooms/{room}/text` | the document as plain text, for download |
//! | `GET /api/rooms/{room}/html` | the document rendered from Markdown, a standalone page |
//! | `GET`, `POST /api/rooms/{room}/versions` | list versions; name the current one (see [`crate::api`]) |
//! | `GET /api/rooms/{room}/versions/{id}/text` | one version's text |
//! | `POST /api/rooms/{room}/versions/{id}/restore` | restore a version as a forward edit |
//! | `PUT /api/rooms/{room}/versions/{id}/label`, `DELETE /api/rooms/{room}/versions/{id}` | name an existing version; delete one |
//! | `GET`, `POST /api/rooms/{room}/links` | list a protected document's share links; create one (editors; see [`crate::api::links`]) |
//! | `PATCH`, `DELETE /api/rooms/{room}/links/{id}` | change a link's label, right or expiry; revoke it |
//! | `GET`, `DELETE /api/admin/rooms…` | the admin API of `tandem rooms`, behind the admin token (see [`crate::admin`]) |
//! | `GET /healthz` | liveness and a few gauges, as JSON |
//! | `GET /metrics` | Prometheus metrics (see [`crate::metrics`]) |
//! | anything else | a file of the built client, or `index.html` for client routes such as `/d/{room}` |
//!
//! Every response carries the security headers of [`headers`]; HTML pages
//! also a Content-Security-Policy that allows exactly their inline scripts.
//! The client's files (from `--static-dir`, or the copy in the binary:
//! [`ClientBundle`]) are sent compressed and cached as [`static_files`] says.

mod bundle;
mod headers;
mod static_files;

pub use bundle::ClientBundle;

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tower_http::trace::TraceLayer;

use crate::AppState;

/// The whole HTTP application.
pub fn app(state: AppState) -> Router {
    let files = static_files::service(&state.config);
    Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .route("/ws/{room}", get(crate::ws::ws_handler))
        .route("/yjs/{room}", get(crate::ws::yjs_handler))
        .route("/api/rooms", axum::routing::post(crate::api::create_room))
        .route("/api/rooms/{room}/text", get(crate::api::export_text))
        .route("/api/rooms/{room}/html", get(crate::api::export_html))
        .route(
            "/api/rooms/{room}/authors",
            get(crate::api::authors::authors),
        )
        .route(
            "/api/rooms/{room}/versions/{id}/authors",
            get(crate::api::authors::version_authors),
        )
        .route(
            "/api/rooms/{room}/versions",
            get(crate::api::list_versions).post(crate::api::name_version),
        )
        .route(
            "/api/rooms/{room}/versions/{id}",
            axum::routing::delete(crate::api::delete_version),
        )
        .route(
            "/api/rooms/{room}/versions/{id}/text",
            get(crate::api::version_text),
        )
        .route(
            "/api/rooms/{room}/versions/{id}/label",
            axum::routing::put(crate::api::label_version),
        )
        .route(
            "/api/rooms/{room}/versions/{id}/restore",
            axum::routing::post(crate::api::restore_version),
        )
        .route(
            "/api/rooms/{room}/links",
            get(crate::api::links::list_links).post(crate::api::links::create_link),
        )
        .route(
            "/api/rooms/{room}/links/{id}",
            axum::routing::patch(crate::api::links::change_link)
                .delete(crate::api::links::revoke_link),
        )
        .merge(crate::admin::routes(state.clone()))
        .fallback_service(files)
        .layer(axum::middleware::from_fn(headers::harden))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

/// `GET /metrics`: Prometheus text format (see [`crate::metrics`]).
async fn metrics(State(state): State<AppState>) -> Response {
    metrics::gauge!(crate::metrics::ROOMS_LOADED).set(state.registry.loaded() as f64);
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        state.metrics.render(),
    )
        .into_response()
}

/// `GET /healthz`: 200 with a few gauges while the server runs, 503 once it is
/// shutting down (so a load balancer stops sending new clients).
async fn healthz(State(state): State<AppState>) -> Response {
    let status = if state.shutdown.is_cancelled() {
        StatusCode::SERVICE_UNAVAILABLE
    } else {
        StatusCode::OK
    };
    let body = serde_json::json!({
        "status": if status == StatusCode::OK { "ok" } else { "shutting_down" },
        "version": env!("CARGO_PKG_VERSION"),
        "rooms": state.registry.loaded(),
        "connections": state.connections.len(),
    });
    (status, Json(body)).into_response()
}
