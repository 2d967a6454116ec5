//! The WebSocket opening handshake (RFC 6455 section 4.2), done here rather
//! than by axum's `WebSocketUpgrade`, because the connection needs what that
//! extractor hides: the `Sec-WebSocket-Extensions` answer (permessage-deflate,
//! see [`super::deflate`]), the TCP socket's control (its send buffer and,
//! for a cut client, a reset on close: [`SocketControl`]) and the raw
//! upgraded stream, which the connection frames itself ([`super::frame`]).
//!
//! The refusals keep axum's statuses and wording: 405 for a method other
//! than GET, 400 for a missing or wrong `Connection`, `Upgrade`,
//! `Sec-WebSocket-Version` or `Sec-WebSocket-Key`, 426 when the connection
//! cannot be upgraded. Only HTTP/1.1 upgrades are served.

use std::future::Future;
use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderName, HeaderValue, Method, StatusCode, Version, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use hyper::upgrade::OnUpgrade;
use hyper_util::rt::TokioIo;
use sha1::{Digest, Sha1};
use tracing::debug;

use super::deflate;
use super::socket::SocketControl;
use super::wire::Io;

/// A request that asked to become a WebSocket.
#[derive(Debug)]
pub(crate) struct Upgrade {
    key: HeaderValue,
    on_upgrade: OnUpgrade,
    /// The `Sec-WebSocket-Protocol` lines (clones share the request's bytes).
    protocols: Vec<HeaderValue>,
    /// The client offered permessage-deflate in a form this server speaks.
    deflate_offered: bool,
    /// The TCP socket's control, when the server runs on a
    /// [`SocketListener`](super::socket::SocketListener).
    control: Option<Arc<SocketControl>>,
}

/// Why a request could not be upgraded.
#[derive(Debug, Clone, Copy, thiserror::Error)]
pub(crate) enum UpgradeRefused {
    #[error("Request method must be `GET`")]
    MethodNotGet,
    #[error("Connection header did not include 'upgrade'")]
    Connection,
    #[error("`Upgrade` header did not include 'websocket'")]
    UpgradeHeader,
    #[error("`Sec-WebSocket-Version` header did not include '13'")]
    Version,
    #[error("`Sec-WebSocket-Key` header missing")]
    Key,
    #[error("WebSocket request couldn't be upgraded since no upgrade state was present")]
    NotUpgradable,
}

impl IntoResponse for UpgradeRefused {
    fn into_response(self) -> Response {
        let status = match self {
            Self::MethodNotGet => StatusCode::METHOD_NOT_ALLOWED,
            Self::NotUpgradable => StatusCode::UPGRADE_REQUIRED,
            _ => StatusCode::BAD_REQUEST,
        };
        (status, self.to_string()).into_response()
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Upgrade {
    type Rejection = UpgradeRefused;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        if parts.method != Method::GET || parts.version > Version::HTTP_11 {
            return Err(UpgradeRefused::MethodNotGet);
        }
        let has = |name: HeaderName, token: &str| {
            parts.headers.get_all(name).iter().any(|value| {
                value.to_str().is_ok_and(|value| {
                    value
                        .split(',')
                        .any(|t| t.trim().eq_ignore_ascii_case(token))
                })
            })
        };
        if !has(header::CONNECTION, "upgrade") {
            return Err(UpgradeRefused::Connection);
        }
        if !has(header::UPGRADE, "websocket") {
            return Err(UpgradeRefused::UpgradeHeader);
        }
        if parts
            .headers
            .get(header::SEC_WEBSOCKET_VERSION)
            .is_none_or(|v| v.as_bytes() != b"13")
        {
            return Err(UpgradeRefused::Version);
        }
        let key = parts
            .headers
            .get(header::SEC_WEBSOCKET_KEY)
            .cloned()
            .ok_or(UpgradeRefused::Key)?;
        let on_upgrade = parts
            .extensions
            .remove::<OnUpgrade>()
            .ok_or(UpgradeRefused::NotUpgradable)?;
        Ok(Self {
            key,
            on_upgrade,
            // Only what the upgrade needs: a copy of the whole header map
            // would be freed right after, and such short-lived blocks among
            // each connection's long-lived ones fragment the heap.
            protocols: parts
                .headers
                .get_all(header::SEC_WEBSOCKET_PROTOCOL)
                .iter()
                .cloned()
                .collect(),
            deflate_offered: deflate::accept_offer(
                parts
                    .headers
                    .get_all(header::SEC_WEBSOCKET_EXTENSIONS)
                    .iter()
                    .filter_map(|value| value.to_str().ok()),
            ),
            control: parts.extensions.get::<Arc<SocketControl>>().cloned(),
        })
    }
}

/// How an accepted upgrade is set up.
#[derive(Debug, Clone, Copy)]
pub(super) struct SocketOptions {
    /// The subprotocol to echo.
    pub protocol: Option<&'static str>,
    /// Agree to permessage-deflate when offered.
    pub deflate: bool,
    /// The kernel's send buffer for this socket (`SO_SNDBUF`); 0 leaves the
    /// kernel's autotuning.
    pub send_buffer: usize,
}

/// What the connection gets besides the socket.
#[derive(Debug)]
pub(super) struct Upgraded {
    pub io: Io,
    /// Compression was agreed.
    pub deflate: bool,
    /// The TCP socket's control, if the listener provides it.
    pub control: Option<Arc<SocketControl>>,
}

/// The GUID RFC 6455 section 4.2.2 appends to the client's key.
const ACCEPT_GUID: &[u8] = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/// `Sec-WebSocket-Accept` for a client's `Sec-WebSocket-Key`: base64 of the
/// SHA-1 of the key and [`ACCEPT_GUID`].
fn accept_key(key: &[u8]) -> String {
    let digest = Sha1::new()
        .chain_update(key)
        .chain_update(ACCEPT_GUID)
        .finalize();
    base64::engine::general_purpose::STANDARD.encode(digest)
}

impl Upgrade {
    /// The subprotocols the client asked for.
    pub(super) fn requested_protocols(&self) -> impl Iterator<Item = &[u8]> {
        self.protocols
            .iter()
            .flat_map(|value| value.as_bytes().split(|&b| b == b','))
            .map(<[u8]>::trim_ascii)
    }

    /// Answers 101 and runs `callback`'s future on the upgraded connection,
    /// in a task of its own (without the request's span).
    pub(super) fn respond<F, Fut>(self, options: SocketOptions, callback: F) -> Response
    where
        F: FnOnce(Upgraded) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let deflate = options.deflate && self.deflate_offered;
        let mut response = (
            StatusCode::SWITCHING_PROTOCOLS,
            [
                (header::CONNECTION, HeaderValue::from_static("upgrade")),
                (header::UPGRADE, HeaderValue::from_static("websocket")),
            ],
        )
            .into_response();
        let headers = response.headers_mut();
        if let Ok(accept) = HeaderValue::from_str(&accept_key(self.key.as_bytes())) {
            headers.insert(header::SEC_WEBSOCKET_ACCEPT, accept);
        }
        if let Some(protocol) = options.protocol {
            headers.insert(
                header::SEC_WEBSOCKET_PROTOCOL,
                HeaderValue::from_static(protocol),
            );
        }
        if deflate {
            headers.insert(
                header::SEC_WEBSOCKET_EXTENSIONS,
                HeaderValue::from_static(deflate::AGREED),
            );
        }
        let on_upgrade = self.on_upgrade;
        let control = self.control;
        // Not `in_current_span`: the request's span would then live as long
        // as the connection.
        tokio::spawn(async move {
            let upgraded = match on_upgrade.await {
                Ok(upgraded) => upgraded,
                Err(err) => {
                    debug!(error = %err, "upgrade failed");
                    return;
                }
            };
            if let Some(control) = &control {
                control.bound_send_buffer(options.send_buffer);
            }
            // A task of its own: this one's state (the upgrade's future,
            // the callback's captures) is freed now rather than kept for the
            // connection's life.
            tokio::spawn(callback(Upgraded {
                io: TokioIo::new(upgraded),
                deflate,
                control,
            }));
        });
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_accept_key_is_rfc_6455s() {
        // The example of RFC 6455 section 1.3.
        assert_eq!(
            accept_key(b"dGhlIHNhbXBsZSBub25jZQ=="),
            "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
        );
    }
}
