//! A WebSocket client written frame by frame, for the transport tests: it
//! sends exactly the bytes a test builds (bad masks, reserved bits, broken
//! compressed messages) and shows exactly what the server sent (RSV1 set or
//! not, the close code and reason). No WebSocket library sits in between.

#![allow(dead_code, unreachable_pub)] // each test binary uses a different part

use std::net::SocketAddr;

use tandem_testkit::{DEADLINE, TestServer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio::time::timeout;

/// Chromium's offer, as DevTools shows it in the request headers.
pub const CHROMIUM_OFFER: &str = "permessage-deflate; client_max_window_bits";

pub const TEXT: u8 = 0x1;
pub const BINARY: u8 = 0x2;
pub const CLOSE: u8 = 0x8;
pub const PING: u8 = 0x9;
pub const PONG: u8 = 0xA;
pub const FIN: u8 = 0x80;
pub const RSV1: u8 = 0x40;

/// One frame as the server sent it.
#[derive(Debug, Clone)]
pub struct Frame {
    pub first: u8,
    pub payload: Vec<u8>,
}

impl Frame {
    pub fn opcode(&self) -> u8 {
        self.first & 0x0f
    }

    pub fn rsv1(&self) -> bool {
        self.first & RSV1 != 0
    }

    pub fn fin(&self) -> bool {
        self.first & FIN != 0
    }

    /// The close code and reason of a close frame.
    pub fn close(&self) -> (u16, String) {
        assert_eq!(self.opcode(), CLOSE, "not a close frame: {self:?}");
        if self.payload.len() < 2 {
            return (1005, String::new());
        }
        let code = u16::from_be_bytes([self.payload[0], self.payload[1]]);
        (
            code,
            String::from_utf8_lossy(&self.payload[2..]).into_owned(),
        )
    }
}

/// A client frame: `first` is the FIN/RSV/opcode byte, masked with a fixed
/// key unless `masked` is false.
pub fn frame(first: u8, payload: &[u8], masked: bool) -> Vec<u8> {
    let key = [0x37, 0xfa, 0x21, 0x3d];
    let mask_bit = if masked { 0x80 } else { 0 };
    let mut out = vec![first];
    match payload.len() {
        len @ 0..=125 => out.push(mask_bit | len as u8),
        len @ 126..=65535 => {
            out.push(mask_bit | 126);
            out.extend_from_slice(&(len as u16).to_be_bytes());
        }
        len => {
            out.push(mask_bit | 127);
            out.extend_from_slice(&(len as u64).to_be_bytes());
        }
    }
    if masked {
        out.extend_from_slice(&key);
        out.extend(payload.iter().enumerate().map(|(i, b)| b ^ key[i % 4]));
    } else {
        out.extend_from_slice(payload);
    }
    out
}

/// The `hello` of a client without a key.
pub const HELLO: &[u8] = br#"{"type":"hello","key":null}"#;

/// A connection that completed the upgrade.
#[derive(Debug)]
pub struct Wire {
    pub stream: TcpStream,
    /// The response head, lower-cased.
    pub head: String,
    buf: Vec<u8>,
}

/// How to open a [`Wire`].
#[derive(Debug, Default, Clone)]
pub struct Open<'a> {
    /// `Sec-WebSocket-Extensions` to send.
    pub extensions: Option<&'a str>,
    /// A small receive buffer, for a client that stops reading.
    pub recv_buffer: Option<u32>,
}

impl Wire {
    /// Upgrades `path` (e.g. `/ws/room`) on `server`.
    pub async fn open(server: &TestServer, path: &str, open: Open<'_>) -> Self {
        Self::open_addr(server.addr, path, open).await
    }

    pub async fn open_addr(addr: SocketAddr, path: &str, open: Open<'_>) -> Self {
        let socket = TcpSocket::new_v4().expect("socket");
        if let Some(bytes) = open.recv_buffer {
            socket.set_recv_buffer_size(bytes).expect("SO_RCVBUF");
        }
        let mut stream = socket.connect(addr).await.expect("connect");
        let mut request = format!(
            "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\
             Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
             Sec-WebSocket-Protocol: tandem.v1\r\n"
        );
        if let Some(extensions) = open.extensions {
            request.push_str(&format!("Sec-WebSocket-Extensions: {extensions}\r\n"));
        }
        request.push_str("\r\n");
        stream.write_all(request.as_bytes()).await.expect("write");
        let mut buf = Vec::new();
        let mut chunk = [0u8; 4096];
        let end = loop {
            if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break end + 4;
            }
            let n = timeout(DEADLINE, stream.read(&mut chunk))
                .await
                .expect("response in time")
                .expect("read");
            assert!(n > 0, "closed before the response ended");
            buf.extend_from_slice(&chunk[..n]);
        };
        let head = String::from_utf8_lossy(&buf[..end]).to_lowercase();
        assert!(head.starts_with("http/1.1 101"), "{head}");
        buf.drain(..end);
        Self { stream, head, buf }
    }

    /// The `Sec-WebSocket-Extensions` answer, if any.
    pub fn extensions(&self) -> Option<String> {
        self.head.lines().find_map(|line| {
            line.strip_prefix("sec-websocket-extensions:")
                .map(|v| v.trim().to_string())
        })
    }

    /// Writes raw bytes.
    pub async fn send(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).await.expect("write");
    }

    /// Sends the hello and reads up to the welcome.
    pub async fn join(&mut self) {
        self.send(&frame(FIN | TEXT, HELLO, true)).await;
        let welcome = self.read().await.expect("welcome");
        assert!(
            String::from_utf8_lossy(&welcome.payload).contains("welcome"),
            "{welcome:?}"
        );
    }

    /// The next frame, or `None` at the end of the stream (or a reset).
    pub async fn read(&mut self) -> Option<Frame> {
        loop {
            if let Some((frame, used)) = parse(&self.buf) {
                self.buf.drain(..used);
                return Some(frame);
            }
            let mut chunk = [0u8; 16 * 1024];
            let n = timeout(DEADLINE, self.stream.read(&mut chunk))
                .await
                .expect("a frame in time")
                .ok()?;
            if n == 0 {
                return None;
            }
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }

    /// Reads until a close frame, skipping anything else; `None` when the
    /// stream ends first.
    pub async fn close(&mut self) -> Option<(u16, String)> {
        while let Some(frame) = self.read().await {
            if frame.opcode() == CLOSE {
                return Some(frame.close());
            }
        }
        None
    }
}

/// A server frame (unmasked) at the front of `buf`, and its length.
fn parse(buf: &[u8]) -> Option<(Frame, usize)> {
    let first = *buf.first()?;
    let second = *buf.get(1)?;
    assert_eq!(second & 0x80, 0, "the server masked a frame");
    let (len, header) = match second & 0x7f {
        126 => (
            usize::from(u16::from_be_bytes(buf.get(2..4)?.try_into().ok()?)),
            4,
        ),
        127 => (
            usize::try_from(u64::from_be_bytes(buf.get(2..10)?.try_into().ok()?)).ok()?,
            10,
        ),
        short => (usize::from(short), 2),
    };
    let payload = buf.get(header..header + len)?.to_vec();
    Some((Frame { first, payload }, header + len))
}
