//! What the server's tests add to the one HTTP helper,
//! `tandem_testkit::http`: the headers of a WebSocket upgrade request, to
//! see exactly what the server answers before (or instead of) an upgrade.

/// The headers of a WebSocket upgrade request, with an optional
/// `Sec-WebSocket-Protocol` and `Origin`.
pub fn upgrade_headers<'a>(
    protocol: Option<&'a str>,
    origin: Option<&'a str>,
) -> Vec<(&'static str, &'a str)> {
    let mut headers = vec![
        ("Upgrade", "websocket"),
        ("Connection", "Upgrade"),
        ("Sec-WebSocket-Version", "13"),
        ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="),
    ];
    if let Some(protocol) = protocol {
        headers.push(("Sec-WebSocket-Protocol", protocol));
    }
    if let Some(origin) = origin {
        headers.push(("Origin", origin));
    }
    headers
}

/// `GET path` as a WebSocket upgrade request (with `protocol`, `origin`
/// and `extra` headers): the status and body of the server's answer.
pub async fn upgrade_request(
    server: &tandem_testkit::TestServer,
    path: &str,
    protocol: Option<&str>,
    origin: Option<&str>,
    extra: &[(&str, &str)],
) -> (u16, String) {
    let mut headers = upgrade_headers(protocol, origin);
    headers.extend_from_slice(extra);
    let response = tandem_testkit::http::request(server.addr, "GET", path, &headers, b"").await;
    (response.status, response.text())
}
