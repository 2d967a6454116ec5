//! The page's WebSocket traffic as DevTools sees it, read from Chromium's
//! performance log (`goog:loggingPrefs: {performance: "ALL"}`).
//!
//! Each log entry's `message` is a JSON string holding one DevTools event,
//! `{"message": {"method": "Network.webSocketFrameReceived", "params": {…}}}`.
//! This module turns the WebSocket ones into [`WsEvent`]s; it does no I/O.
//! Ping and pong frames never appear: browsers answer them below DevTools.

use base64::Engine as _;
use serde_json::{Map, Value};

/// Which way a frame went, seen from the page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// From the page to the server.
    Sent,
    /// From the server to the page.
    Received,
}

/// One WebSocket data frame (DevTools' Messages tab).
#[derive(Debug, Clone, PartialEq)]
pub struct Frame {
    /// DevTools' id of the socket, shared with its other events.
    pub request_id: String,
    /// Which way it went.
    pub direction: Direction,
    /// 1 = text, 2 = binary.
    pub opcode: u8,
    /// The text, or for a binary frame its bytes in base64 (as DevTools shows them).
    pub payload: String,
    /// Monotonic time in seconds, comparable between events of one page.
    pub time: f64,
}

impl Frame {
    /// Opcode of a text frame.
    pub const TEXT: u8 = 1;
    /// Opcode of a binary frame.
    pub const BINARY: u8 = 2;

    /// Whether it is a text frame.
    pub fn is_text(&self) -> bool {
        self.opcode == Self::TEXT
    }

    /// Whether it is a binary frame.
    pub fn is_binary(&self) -> bool {
        self.opcode == Self::BINARY
    }

    /// A text frame's JSON, if it is a text frame holding JSON.
    pub fn json(&self) -> Option<Value> {
        self.is_text()
            .then(|| serde_json::from_str(&self.payload).ok())
            .flatten()
    }

    /// A JSON text frame's `"type"`, e.g. `welcome`.
    pub fn msg_type(&self) -> Option<String> {
        Some(self.json()?.get("type")?.as_str()?.to_owned())
    }

    /// A binary frame's bytes.
    pub fn bytes(&self) -> Option<Vec<u8>> {
        if !self.is_binary() {
            return None;
        }
        base64::engine::general_purpose::STANDARD
            .decode(&self.payload)
            .ok()
    }
}

/// A WebSocket event of the page.
#[derive(Debug, Clone, PartialEq)]
pub enum WsEvent {
    /// The page created a socket (`new WebSocket(url)`).
    Created {
        /// The socket's id.
        request_id: String,
        /// `ws://…/ws/{room}`.
        url: String,
    },
    /// The upgrade request is about to go out.
    HandshakeRequest {
        /// The socket's id.
        request_id: String,
        /// Request headers, e.g. `Sec-WebSocket-Protocol: tandem.v1`.
        headers: Map<String, Value>,
        /// When.
        time: f64,
    },
    /// The server answered the upgrade.
    HandshakeResponse {
        /// The socket's id.
        request_id: String,
        /// 101 when the upgrade succeeded.
        status: u16,
        /// Response headers, e.g. the subprotocol the server chose.
        headers: Map<String, Value>,
        /// When.
        time: f64,
    },
    /// A data frame.
    Frame(Frame),
    /// The socket closed.
    Closed {
        /// The socket's id.
        request_id: String,
        /// When.
        time: f64,
    },
}

impl WsEvent {
    /// The header `name` (any case) of a handshake event.
    pub fn header(&self, name: &str) -> Option<&str> {
        let headers = match self {
            Self::HandshakeRequest { headers, .. } | Self::HandshakeResponse { headers, .. } => {
                headers
            }
            _ => return None,
        };
        headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .and_then(|(_, v)| v.as_str())
    }
}

/// The WebSocket events in a `POST /session/{id}/se/log` answer (the array
/// of `{level, message, timestamp}` entries), in order. Other events and
/// entries that do not parse are skipped.
pub(crate) fn parse_log(entries: &Value) -> Vec<WsEvent> {
    let Some(entries) = entries.as_array() else {
        return Vec::new();
    };
    entries
        .iter()
        .filter_map(|entry| {
            let message: Value = serde_json::from_str(entry.get("message")?.as_str()?).ok()?;
            let event = message.get("message")?;
            parse_event(event.get("method")?.as_str()?, event.get("params")?)
        })
        .collect()
}

fn parse_event(method: &str, params: &Value) -> Option<WsEvent> {
    let request_id = params.get("requestId")?.as_str()?.to_owned();
    let time = params
        .get("timestamp")
        .and_then(Value::as_f64)
        .unwrap_or(0.0);
    let headers = |key: &str| {
        params
            .get(key)
            .and_then(|r| r.get("headers"))
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default()
    };
    Some(match method {
        "Network.webSocketCreated" => WsEvent::Created {
            request_id,
            url: params.get("url")?.as_str()?.to_owned(),
        },
        "Network.webSocketWillSendHandshakeRequest" => WsEvent::HandshakeRequest {
            request_id,
            headers: headers("request"),
            time,
        },
        "Network.webSocketHandshakeResponseReceived" => WsEvent::HandshakeResponse {
            request_id,
            status: params
                .get("response")?
                .get("status")?
                .as_u64()?
                .try_into()
                .ok()?,
            headers: headers("response"),
            time,
        },
        "Network.webSocketFrameSent" | "Network.webSocketFrameReceived" => {
            let response = params.get("response")?;
            WsEvent::Frame(Frame {
                request_id,
                direction: if method.ends_with("Sent") {
                    Direction::Sent
                } else {
                    Direction::Received
                },
                opcode: response.get("opcode")?.as_u64()?.try_into().ok()?,
                payload: response.get("payloadData")?.as_str()?.to_owned(),
                time,
            })
        }
        "Network.webSocketClosed" => WsEvent::Closed { request_id, time },
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// A log entry as chromedriver returns it: the event is a JSON string.
    fn entry(method: &str, params: Value) -> Value {
        let message = json!({"message": {"method": method, "params": params}, "webview": "X"});
        json!({"level": "INFO", "message": message.to_string(), "timestamp": 1})
    }

    #[test]
    fn parses_a_session() {
        let log = json!([
            entry("Network.requestWillBeSent", json!({"requestId": "9"})),
            entry(
                "Network.webSocketCreated",
                json!({"requestId": "7", "url": "ws://h/ws/r"})
            ),
            entry(
                "Network.webSocketWillSendHandshakeRequest",
                json!({"requestId": "7", "timestamp": 1.0,
                       "request": {"headers": {"Sec-WebSocket-Protocol": "tandem.v1"}}})
            ),
            entry(
                "Network.webSocketHandshakeResponseReceived",
                json!({"requestId": "7", "timestamp": 1.5,
                       "response": {"status": 101, "headers": {"sec-websocket-protocol": "tandem.v1"}}})
            ),
            entry(
                "Network.webSocketFrameReceived",
                json!({"requestId": "7", "timestamp": 2.0,
                       "response": {"opcode": 1, "mask": false, "payloadData": "{\"type\":\"welcome\"}"}})
            ),
            entry(
                "Network.webSocketFrameReceived",
                json!({"requestId": "7", "timestamp": 2.1,
                       "response": {"opcode": 2, "mask": false, "payloadData": "AAABAA=="}})
            ),
            entry(
                "Network.webSocketFrameSent",
                json!({"requestId": "7", "timestamp": 2.2,
                       "response": {"opcode": 2, "mask": true, "payloadData": "AAE="}})
            ),
            entry(
                "Network.webSocketClosed",
                json!({"requestId": "7", "timestamp": 3.0})
            ),
        ]);
        let events = parse_log(&log);
        assert_eq!(events.len(), 7, "{events:#?}");
        assert_eq!(
            events[0],
            WsEvent::Created {
                request_id: "7".into(),
                url: "ws://h/ws/r".into()
            }
        );
        assert_eq!(
            events[2].header("Sec-WebSocket-Protocol"),
            Some("tandem.v1")
        );
        assert!(matches!(
            events[2],
            WsEvent::HandshakeResponse { status: 101, .. }
        ));

        let frames: Vec<&Frame> = events
            .iter()
            .filter_map(|e| match e {
                WsEvent::Frame(f) => Some(f),
                _ => None,
            })
            .collect();
        assert_eq!(frames[0].msg_type().as_deref(), Some("welcome"));
        assert_eq!(frames[0].direction, Direction::Received);
        assert_eq!(frames[1].bytes(), Some(vec![0, 0, 1, 0]));
        assert_eq!(frames[1].json(), None);
        assert_eq!(frames[2].direction, Direction::Sent);
        assert!(matches!(events[6], WsEvent::Closed { time: 3.0, .. }));
    }

    #[test]
    fn skips_what_it_cannot_read() {
        let log = json!([{"level": "INFO", "message": "not json"}, {"message": 3}]);
        assert!(parse_log(&log).is_empty());
        assert!(parse_log(&json!({"not": "an array"})).is_empty());
    }
}
