//! Raw HTTP/1.1 requests, to see exactly what the server answers before (or
//! instead of) a WebSocket upgrade.

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use tandem_testkit::TestServer;

/// Sends `request_head` (without the final blank line) plus `body`; returns
/// the status code and (unless it upgraded) the body.
pub async fn http_request(server: &TestServer, request_head: &str, body: &str) -> (u16, String) {
    let mut stream = tokio::net::TcpStream::connect(server.addr)
        .await
        .expect("connect");
    let request = format!("{request_head}\r\n{body}");
    stream.write_all(request.as_bytes()).await.expect("write");
    let mut response = Vec::new();
    let mut buf = [0u8; 4096];
    while !response.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = stream.read(&mut buf).await.expect("read");
        assert!(n > 0, "connection closed before the headers ended");
        response.extend_from_slice(&buf[..n]);
    }
    let head_end = response
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("end of head")
        + 4;
    let status: u16 = String::from_utf8_lossy(&response[9..12])
        .parse()
        .expect("status code");
    let head = String::from_utf8_lossy(&response[..head_end]).to_lowercase();
    let mut body = response[head_end..].to_vec();
    if status != 101 {
        if let Some(len) = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length: "))
        {
            let len: usize = len.trim().parse().expect("content length");
            while body.len() < len {
                let n = stream.read(&mut buf).await.expect("read");
                assert!(n > 0, "connection closed inside the body");
                body.extend_from_slice(&buf[..n]);
            }
        } else {
            stream.read_to_end(&mut body).await.expect("read");
        }
    }
    (status, String::from_utf8_lossy(&body).into_owned())
}

/// A GET with `extra_headers` (each ending in CRLF).
pub async fn http_get(server: &TestServer, path: &str, extra_headers: &str) -> (u16, String) {
    let connection = if extra_headers.is_empty() {
        "Connection: close\r\n"
    } else {
        ""
    };
    let head = format!(
        "GET {path} HTTP/1.1\r\nHost: {}\r\n{connection}{extra_headers}",
        server.addr
    );
    http_request(server, &head, "").await
}

/// A POST of a JSON body.
pub async fn http_post_json(server: &TestServer, path: &str, body: &str) -> (u16, String) {
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n",
        server.addr,
        body.len()
    );
    http_request(server, &head, body).await
}

/// Headers of a WebSocket upgrade request, with an optional
/// `Sec-WebSocket-Protocol` and `Origin`.
pub fn upgrade_headers(protocol: Option<&str>, origin: Option<&str>) -> String {
    let mut headers = String::from(
        "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n",
    );
    if let Some(protocol) = protocol {
        headers.push_str(&format!("Sec-WebSocket-Protocol: {protocol}\r\n"));
    }
    if let Some(origin) = origin {
        headers.push_str(&format!("Origin: {origin}\r\n"));
    }
    headers
}
