//! Which server is on the other end, and how its rooms are addressed.
//!
//! | kind | room URL | first frames | extras |
//! |---|---|---|---|
//! | Tandem | `ws://host:p/ws/{room}`, subprotocol `tandem.v1` | (after our `hello`) text `welcome`, then sync step 1 | `saved` acknowledgements; no echo to the sender |
//! | Yjs reference server | `ws://host:p/{room}` | sync step 1, awareness | echoes updates to the sender too |
//! | y-sweet 0.9 | `ws://host:p/d/{room}/ws/{room}` (y-websocket appends the room to the base URL `…/d/{room}/ws`) | sync step 1 | the doc must exist first: `POST /doc/new {"docId": room}` |

use std::fmt;
use std::net::SocketAddr;
use std::time::Duration;

use anyhow::{Context, bail};
use tandem_shared::RoomId;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The server implementation behind an address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, clap::ValueEnum)]
pub enum ServerKind {
    /// Tandem (`tandem.v1`).
    Tandem,
    /// The Yjs reference server, `@y/websocket-server`.
    Yjs,
    /// y-sweet (Rust: axum + yrs).
    Ysweet,
}

impl ServerKind {
    /// Every kind, in the order reports list them.
    pub const ALL: [ServerKind; 3] = [Self::Tandem, Self::Yjs, Self::Ysweet];

    /// Its name on command lines and in file names.
    pub fn id(self) -> &'static str {
        match self {
            Self::Tandem => "tandem",
            Self::Yjs => "yjs",
            Self::Ysweet => "ysweet",
        }
    }

    /// The name reports use.
    pub fn label(self) -> &'static str {
        match self {
            Self::Tandem => "Tandem",
            Self::Yjs => "Yjs ref. server",
            Self::Ysweet => "y-sweet",
        }
    }
}

impl fmt::Display for ServerKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// A running server: its kind and where it listens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Target {
    /// Which dialect to speak.
    pub kind: ServerKind,
    /// Its listening address (loopback).
    pub addr: SocketAddr,
}

impl Target {
    /// The WebSocket URL of `room`.
    pub fn room_url(&self, room: &str) -> anyhow::Result<String> {
        let addr = self.addr;
        Ok(match self.kind {
            ServerKind::Tandem => RoomId::new(room)
                .map_err(|err| anyhow::anyhow!("`{room}`: {err}"))?
                .ws_url(&format!("ws://{addr}")),
            ServerKind::Yjs => format!("ws://{addr}/{room}"),
            ServerKind::Ysweet => format!("ws://{addr}/d/{room}/ws/{room}"),
        })
    }

    /// Does what the server needs before a room can be joined: y-sweet
    /// creates documents explicitly; the others create rooms on first join.
    pub async fn prepare_room(&self, room: &str) -> anyhow::Result<()> {
        if self.kind != ServerKind::Ysweet {
            return Ok(());
        }
        let body = serde_json::json!({ "docId": room }).to_string();
        let status = http_post(self.addr, "/doc/new", &body).await?;
        if !(200..300).contains(&status) {
            bail!("y-sweet answered HTTP {status} to POST /doc/new for {room}");
        }
        Ok(())
    }

    /// Parses a room URL into its target and room name. `kind` forces the
    /// dialect; without it the path decides (`/ws/R` Tandem, `/d/R/ws` or
    /// `/d/R/ws/R` y-sweet, `/R` the Yjs server).
    pub fn parse_url(url: &str, kind: Option<ServerKind>) -> anyhow::Result<(Target, String)> {
        let rest = url
            .strip_prefix("ws://")
            .context("only ws:// URLs are supported (loopback benchmarks need no TLS)")?;
        let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
        let addr: SocketAddr = authority
            .parse()
            .with_context(|| format!("`{authority}` is not an IP:port address"))?;
        let path = path.split(['?', '#']).next().unwrap_or_default();
        let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        let (guessed, room) = match segments.as_slice() {
            ["ws", room] => (ServerKind::Tandem, *room),
            ["d", room, "ws"] => (ServerKind::Ysweet, *room),
            ["d", room, "ws", again] if again == room => (ServerKind::Ysweet, *room),
            [room] => (ServerKind::Yjs, *room),
            _ => bail!("cannot find a room in `{url}`: expected /ws/ROOM, /d/ROOM/ws or /ROOM"),
        };
        let kind = kind.unwrap_or(guessed);
        Ok((Target { kind, addr }, room.to_string()))
    }
}

/// A minimal HTTP/1.1 POST on loopback; returns the status code. Enough for
/// y-sweet's document creation without pulling in an HTTP client.
async fn http_post(addr: SocketAddr, path: &str, json: &str) -> anyhow::Result<u16> {
    let exchange = async {
        let mut stream = TcpStream::connect(addr).await?;
        let request = format!(
            "POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n{json}",
            json.len()
        );
        stream.write_all(request.as_bytes()).await?;
        let mut response = Vec::new();
        stream.read_to_end(&mut response).await?;
        anyhow::Ok(response)
    };
    let response = tokio::time::timeout(Duration::from_secs(10), exchange)
        .await
        .context("HTTP request timed out")??;
    let head = String::from_utf8_lossy(&response[..response.len().min(64)]).into_owned();
    head.split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .with_context(|| format!("not an HTTP response: {head:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_name_their_dialect() {
        let (t, room) = Target::parse_url("ws://127.0.0.1:8080/ws/notes", None).expect("tandem");
        assert_eq!((t.kind, room.as_str()), (ServerKind::Tandem, "notes"));
        assert_eq!(
            t.room_url("notes").expect("a room name"),
            "ws://127.0.0.1:8080/ws/notes"
        );
        let (t, room) = Target::parse_url("ws://127.0.0.1:9/d/doc-1/ws", None).expect("y-sweet");
        assert_eq!((t.kind, room.as_str()), (ServerKind::Ysweet, "doc-1"));
        assert_eq!(
            t.room_url("doc-1").expect("any name"),
            "ws://127.0.0.1:9/d/doc-1/ws/doc-1"
        );
        let (t, _) = Target::parse_url("ws://127.0.0.1:9/d/x/ws/x", None).expect("y-sweet");
        assert_eq!(t.kind, ServerKind::Ysweet);
        assert!(Target::parse_url("ws://127.0.0.1:9/d/x/ws/y", None).is_err());
        let (t, room) = Target::parse_url("ws://127.0.0.1:9/abc?x=1", None).expect("yjs");
        assert_eq!((t.kind, room.as_str()), (ServerKind::Yjs, "abc"));
        let (t, _) =
            Target::parse_url("ws://127.0.0.1:9/abc", Some(ServerKind::Tandem)).expect("forced");
        assert_eq!(t.kind, ServerKind::Tandem);
        assert!(Target::parse_url("wss://127.0.0.1:9/abc", None).is_err());
        assert!(Target::parse_url("ws://localhost:9/abc", None).is_err());
        assert!(Target::parse_url("ws://127.0.0.1:9/", None).is_err());
    }
}
