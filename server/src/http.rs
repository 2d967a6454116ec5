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
//! | `GET /healthz` | liveness and a few gauges, as JSON |
//! | `GET /metrics` | Prometheus metrics (see [`crate::metrics`]) |
//! | anything else | a file of the built client, or `index.html` for client routes such as `/d/{room}` |
//!
//! Every response carries the security headers of [`headers`]; HTML pages
//! also a Content-Security-Policy that allows exactly their inline scripts.

mod headers;

use std::convert::Infallible;
use std::path::PathBuf;

use axum::Json;
use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tower::ServiceExt;
use tower_http::services::{ServeDir, ServeFile};
use tower_http::trace::TraceLayer;

use crate::AppState;

/// The whole HTTP application.
pub fn app(state: AppState) -> Router {
    let static_dir = state.config.static_dir.clone();
    let index = static_dir.join("index.html");
    let files = ServeDir::new(&static_dir).fallback(tower::service_fn(move |req: Request| {
        spa_index(index.clone(), req)
    }));
    Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .route("/ws/{room}", get(crate::ws::ws_handler))
        .route("/yjs/{room}", get(crate::ws::yjs_handler))
        .route("/api/rooms", axum::routing::post(crate::api::create_room))
        .route("/api/rooms/{room}/text", get(crate::api::export_text))
        .fallback_service(files)
        .layer(axum::middleware::from_fn(headers::harden))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

/// Client routes (`/`, `/d/quiet-otter`) get `index.html`, and the app routes
/// itself; a missing asset (a path whose last segment has an extension) is a
/// plain 404 rather than an HTML page the browser would try to parse.
async fn spa_index(index: PathBuf, req: Request) -> Result<Response, Infallible> {
    let last_segment = req.uri().path().rsplit('/').next().unwrap_or_default();
    if last_segment.contains('.') {
        return Ok((StatusCode::NOT_FOUND, "not found\n").into_response());
    }
    match ServeFile::new(index).oneshot(req).await {
        Ok(response) if response.status() == StatusCode::NOT_FOUND => Ok((
            StatusCode::SERVICE_UNAVAILABLE,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            "The Tandem web client is not built. Run `cargo xtask run`, or point --static-dir at a `trunk build` output.\n",
        )
            .into_response()),
        Ok(response) => Ok(response.map(Body::new)),
        Err(err) => match err {},
    }
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
