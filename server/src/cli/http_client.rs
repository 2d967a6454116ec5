//! One HTTP/1.1 request from the command line to a Tandem server (hyper's
//! client over a fresh TCP connection): what `tandem rooms` sends to the
//! admin API and to `POST /api/rooms`.
//!
//! Plain `http://` only: the binary carries no TLS stack. On the server's
//! machine, ask the node's own address (`http://127.0.0.1:8080`), which is
//! where the admin API is meant to be asked anyway (`deploy/nginx.conf`
//! does not pass it on).

use std::time::Duration;

use anyhow::Context as _;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode, Uri, header};
use bytes::Bytes;
use hyper_util::rt::TokioIo;
use serde::de::DeserializeOwned;

/// Longest a request may take, connection included.
const TIMEOUT: Duration = Duration::from_secs(60);
/// Largest answer read (a whole document's text, for an export).
const MAX_ANSWER: usize = 256 * 1024 * 1024;

/// A server's `http://host:port`.
#[derive(Debug, Clone)]
pub(super) struct ServerUrl {
    /// `host:port`, to connect to and send as `Host`.
    authority: String,
    /// `http://host:port`, without a trailing slash.
    base: String,
}

impl ServerUrl {
    /// `http://host[:port][/]`; anything else is refused with the reason.
    pub(super) fn parse(url: &str) -> anyhow::Result<Self> {
        let uri: Uri = url
            .parse()
            .with_context(|| format!("{url:?} is not a URL"))?;
        match uri.scheme_str() {
            Some("http") => {}
            Some("https") => anyhow::bail!(
                "{url}: https is not supported by tandem's own client; use the node's plain \
                 address on its machine (e.g. http://127.0.0.1:8080)"
            ),
            _ => anyhow::bail!("{url}: expected http://host:port"),
        }
        let host = uri.host().with_context(|| format!("{url}: no host"))?;
        let port = uri.port_u16().unwrap_or(80);
        let authority = if host.contains(':') && !host.starts_with('[') {
            format!("[{host}]:{port}")
        } else {
            format!("{host}:{port}")
        };
        let named = uri.authority().map_or(authority.as_str(), |a| a.as_str());
        Ok(Self {
            base: format!("http://{named}"),
            authority,
        })
    }

    /// `http://host:port`.
    pub(super) fn base(&self) -> &str {
        &self.base
    }

    /// Sends `method path` with `bearer` as `Authorization: Bearer` and
    /// `json` as the body: the status and the body of the answer.
    pub(super) async fn send(
        &self,
        method: Method,
        path: &str,
        bearer: Option<&str>,
        json: Option<&serde_json::Value>,
    ) -> anyhow::Result<(StatusCode, Bytes)> {
        let attempt = async {
            let tcp = tokio::net::TcpStream::connect(&self.authority)
                .await
                .with_context(|| format!("cannot reach {}", self.base))?;
            let (mut sender, connection) =
                hyper::client::conn::http1::handshake(TokioIo::new(tcp)).await?;
            // Drives the connection until the answer is read; ends with it.
            let driver = tokio::spawn(connection);
            let mut request = Request::builder()
                .method(method.clone())
                .uri(path)
                .header(header::HOST, &self.authority);
            if let Some(token) = bearer {
                request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
            }
            let body = match json {
                Some(json) => {
                    request = request.header(header::CONTENT_TYPE, "application/json");
                    Body::from(serde_json::to_vec(json)?)
                }
                None => Body::empty(),
            };
            let response = sender.send_request(request.body(body)?).await?;
            let status = response.status();
            let bytes = axum::body::to_bytes(Body::new(response.into_body()), MAX_ANSWER).await?;
            driver.abort();
            Ok::<_, anyhow::Error>((status, bytes))
        };
        tokio::time::timeout(TIMEOUT, attempt)
            .await
            .with_context(|| format!("{method} {}{path}: no answer within {TIMEOUT:?}", self.base))?
            .with_context(|| format!("{method} {}{path}", self.base))
    }

    /// [`ServerUrl::send`], expecting `expected` and JSON of type `T`; any
    /// other status is an error carrying the server's `{"error": …}`.
    pub(super) async fn json<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        bearer: Option<&str>,
        body: Option<&serde_json::Value>,
        expected: StatusCode,
    ) -> anyhow::Result<T> {
        let (status, bytes) = self.send(method.clone(), path, bearer, body).await?;
        if status != expected {
            anyhow::bail!("{}", refusal(status, &bytes));
        }
        serde_json::from_slice(&bytes)
            .with_context(|| format!("{method} {path}: the answer is not the JSON expected"))
    }
}

/// `409: this document is open…`: a refusal as the server phrased it.
pub(super) fn refusal(status: StatusCode, body: &[u8]) -> String {
    let reason = serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|v| v.get("error").and_then(|e| e.as_str()).map(str::to_owned))
        .unwrap_or_else(|| String::from_utf8_lossy(body).trim().to_owned());
    format!("the server answered {}: {reason}", status.as_u16())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_http_urls() {
        let url = ServerUrl::parse("http://127.0.0.1:8080/").expect("parse");
        assert_eq!(url.base(), "http://127.0.0.1:8080");
        assert_eq!(
            ServerUrl::parse("http://docs.example")
                .expect("parse")
                .base(),
            "http://docs.example"
        );
        let https = ServerUrl::parse("https://docs.example").expect_err("no TLS");
        assert!(https.to_string().contains("127.0.0.1"), "{https}");
        assert!(ServerUrl::parse("ws://x").is_err());
        assert!(ServerUrl::parse("not a url").is_err());
    }

    #[test]
    fn refusals_read_the_servers_reason() {
        assert_eq!(
            refusal(
                StatusCode::CONFLICT,
                br#"{"error":"this document is open"}"#
            ),
            "the server answered 409: this document is open"
        );
        assert_eq!(
            refusal(StatusCode::BAD_GATEWAY, b"bad gateway\n"),
            "the server answered 502: bad gateway"
        );
    }
}
