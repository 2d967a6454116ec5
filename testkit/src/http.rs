//! The one HTTP request helper of the tests: a plain HTTP/1.1 client over a
//! fresh TCP connection, so a test sees exactly what the server answers
//! (status, headers, body as sent), upgrades and refusals included.
//!
//! [`request`] sends one request and reads one response: its head, then a
//! body framed by `Content-Length`, by chunks, or by the end of the stream;
//! the answer to a `HEAD`, a `204`, a `304` and a `101 Switching Protocols`
//! end at their head (after a `101`, what follows is the socket's). [`http`] is the short form most tests use: a method, a path, a
//! share key and a JSON body in, status and text out. Both fail the test if
//! the server cannot be reached or does not answer within [`DEADLINE`].

use std::net::SocketAddr;

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

use crate::DEADLINE;

/// An HTTP response as the server sent it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// The status code.
    pub status: u16,
    /// Every header line, names as sent.
    pub headers: Vec<(String, String)>,
    /// The body, de-chunked (empty for a `101`).
    pub body: Vec<u8>,
}

impl Response {
    /// The value of header `name` (any case), if sent.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body as text (invalid UTF-8 replaced).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// Sends `method path` to `addr` with `headers` and `body` over a fresh
/// connection and reads the response. `Host` is added, `Content-Length`
/// too when there is a body (or the method is not `GET`), and
/// `Connection: close` unless `headers` name a `Connection` (an upgrade).
pub async fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Response {
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\n");
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    if !headers
        .iter()
        .any(|(n, _)| n.eq_ignore_ascii_case("connection"))
    {
        head.push_str("Connection: close\r\n");
    }
    if !body.is_empty() || !matches!(method, "GET" | "HEAD") {
        head.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    head.push_str("\r\n");
    let exchange = async {
        let mut stream = TcpStream::connect(addr).await?;
        stream.write_all(head.as_bytes()).await?;
        stream.write_all(body).await?;
        read_response(&mut stream, method == "HEAD").await
    };
    match tokio::time::timeout(DEADLINE, exchange).await {
        Ok(Ok(response)) => response,
        Ok(Err(err)) => panic!("{method} http://{addr}{path} failed: {err}"),
        Err(_) => panic!("{method} http://{addr}{path} got no answer within {DEADLINE:?}"),
    }
}

/// One request with the share `key` as `Authorization: Bearer` if given
/// and `body` as JSON (on every method but a bodiless `GET`): the status
/// and the body as text.
pub async fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    key: Option<&str>,
    body: &str,
) -> (u16, String) {
    let bearer = key.map(|k| format!("Bearer {k}"));
    let mut headers: Vec<(&str, &str)> = Vec::new();
    if let Some(bearer) = &bearer {
        headers.push(("Authorization", bearer));
    }
    if !(method == "GET" && body.is_empty()) {
        headers.push(("Content-Type", "application/json"));
    }
    let response = request(addr, method, path, &headers, body.as_bytes()).await;
    (response.status, response.text())
}

/// Reads one response from `stream` (see the module doc for its framing);
/// the answer to a `HEAD` (`head_only`) has no body whatever its headers say.
async fn read_response(stream: &mut TcpStream, head_only: bool) -> std::io::Result<Response> {
    let mut bytes = Vec::new();
    let mut buf = [0u8; 8192];
    let head_end = loop {
        if let Some(at) = bytes.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            return Err(invalid(&bytes, "the connection closed inside the head"));
        }
        bytes.extend_from_slice(&buf[..n]);
    };
    let (status, headers) = parse_head(&bytes[..head_end])
        .ok_or_else(|| invalid(&bytes, "not an HTTP response head"))?;
    let mut rest = bytes[head_end..].to_vec();
    let find = |name: &str| {
        headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.trim().to_ascii_lowercase())
    };
    let body = if head_only || status == 101 || status == 204 || status == 304 {
        Vec::new()
    } else if find("transfer-encoding").is_some_and(|v| v == "chunked") {
        loop {
            if let Some(body) = dechunk(&rest) {
                break body;
            }
            let n = stream.read(&mut buf).await?;
            if n == 0 {
                return Err(invalid(
                    &rest,
                    "the connection closed inside a chunked body",
                ));
            }
            rest.extend_from_slice(&buf[..n]);
        }
    } else if let Some(length) = find("content-length") {
        let length: usize = length
            .parse()
            .map_err(|_| invalid(&bytes, "a Content-Length that is not a number"))?;
        while rest.len() < length {
            let n = stream.read(&mut buf).await?;
            if n == 0 {
                return Err(invalid(&rest, "the connection closed inside the body"));
            }
            rest.extend_from_slice(&buf[..n]);
        }
        rest.truncate(length);
        rest
    } else {
        stream.read_to_end(&mut rest).await?;
        rest
    };
    Ok(Response {
        status,
        headers,
        body,
    })
}

fn invalid(seen: &[u8], why: &str) -> std::io::Error {
    std::io::Error::new(
        std::io::ErrorKind::InvalidData,
        format!("{why}: {:?}", String::from_utf8_lossy(seen)),
    )
}

/// The status and headers of a response head.
fn parse_head(head: &[u8]) -> Option<(u16, Vec<(String, String)>)> {
    let head = std::str::from_utf8(head).ok()?;
    let mut lines = head.lines();
    let status = lines.next()?.split_whitespace().nth(1)?.parse().ok()?;
    let headers = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.trim().to_owned(), value.trim().to_owned()))
        .collect();
    Some((status, headers))
}

/// A whole chunked body, de-chunked; `None` while incomplete.
fn dechunk(mut body: &[u8]) -> Option<Vec<u8>> {
    let mut decoded = Vec::new();
    loop {
        let line_end = body.windows(2).position(|w| w == b"\r\n")?;
        let size = std::str::from_utf8(&body[..line_end]).ok()?;
        let size = usize::from_str_radix(size.split(';').next()?.trim(), 16).ok()?;
        body = &body[line_end + 2..];
        if size == 0 {
            return Some(decoded);
        }
        decoded.extend_from_slice(body.get(..size)?);
        body = body.get(size + 2..)?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_head_and_a_chunked_body() {
        let (status, headers) =
            parse_head(b"HTTP/1.1 403 Forbidden\r\nTransfer-Encoding: chunked\r\n\r\n")
                .expect("a head");
        assert_eq!(status, 403);
        assert_eq!(
            headers,
            [("Transfer-Encoding".to_owned(), "chunked".to_owned())]
        );
        assert_eq!(
            dechunk(b"3\r\nhel\r\n2\r\nlo\r\n0\r\n\r\n"),
            Some(b"hello".to_vec())
        );
        assert_eq!(dechunk(b"3\r\nhel\r\n2\r\nl"), None, "incomplete");
        assert_eq!(parse_head(b"garbage"), None);
    }
}
