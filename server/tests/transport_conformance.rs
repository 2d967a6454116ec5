//! A protocol-violation suite for the WebSocket transport: the framing rules
//! of RFC 6455 section 5 (and the close and UTF-8 rules they lean on) and
//! the compression rules of RFC 7692, each sent byte for byte to the real
//! server after a `hello`, with the close the server must answer. The
//! summary is in docs/PROTOCOL.md ("Conformance"), beside the results of an
//! Autobahn|Testsuite run against `server/examples/ws_echo.rs`.

mod transport_wire;

use tandem_server::deflate::deflate;
use tandem_testkit::TestServer;
use transport_wire::{
    BINARY, CHROMIUM_OFFER, CLOSE, FIN, Open, PING, PONG, RSV1, TEXT, Wire, frame,
};

/// One violation and the close code it must get.
struct Case {
    name: &'static str,
    /// With permessage-deflate agreed.
    deflate: bool,
    bytes: Vec<u8>,
    code: u16,
}

fn close_payload(code: u16, reason: &[u8]) -> Vec<u8> {
    [&code.to_be_bytes()[..], reason].concat()
}

fn cases() -> Vec<Case> {
    let case = |name, deflate, bytes: Vec<u8>, code| Case {
        name,
        deflate,
        bytes,
        code,
    };
    vec![
        // 5.1: a client masks every frame.
        case(
            "unmasked frame",
            false,
            frame(FIN | BINARY, b"\0\0", false),
            1002,
        ),
        // 5.2: reserved bits without an extension that defines them.
        case(
            "RSV1 without the extension",
            false,
            frame(FIN | RSV1 | BINARY, b"x", true),
            1002,
        ),
        case("RSV2", true, frame(FIN | 0x20 | BINARY, b"x", true), 1002),
        case("RSV3", true, frame(FIN | 0x10 | TEXT, b"x", true), 1002),
        // 5.2: reserved opcodes.
        case(
            "reserved data opcode 3",
            false,
            frame(FIN | 0x3, b"", true),
            1002,
        ),
        case(
            "reserved control opcode 11",
            false,
            frame(FIN | 0xB, b"", true),
            1002,
        ),
        // 5.5: control frames: at most 125 bytes, never fragmented.
        case(
            "ping of 126 bytes",
            false,
            frame(FIN | PING, &[0; 126], true),
            1002,
        ),
        case("fragmented ping", false, frame(PING, b"", true), 1002),
        // 5.4: fragmentation.
        case(
            "continuation with nothing to continue",
            false,
            frame(FIN, b"x", true),
            1002,
        ),
        case(
            "a new message inside a fragmented one",
            false,
            [frame(BINARY, b"a", true), frame(FIN | BINARY, b"b", true)].concat(),
            1002,
        ),
        // 5.6 / 8.1: text is UTF-8 (1007, invalid payload).
        case(
            "text that is not UTF-8",
            false,
            frame(FIN | TEXT, &[0xc3, 0x28], true),
            1007,
        ),
        case(
            "UTF-8 broken across fragments",
            false,
            [frame(TEXT, &[0xe2, 0x82], true), frame(FIN, &[0x28], true)].concat(),
            1007,
        ),
        // 5.5.1 / 7.4: close frames.
        case(
            "close with a 1-byte body",
            false,
            frame(FIN | CLOSE, &[3], true),
            1002,
        ),
        case(
            "close with code 1005",
            false,
            frame(FIN | CLOSE, &close_payload(1005, b""), true),
            1002,
        ),
        case(
            "close with code 999",
            false,
            frame(FIN | CLOSE, &close_payload(999, b""), true),
            1002,
        ),
        // tungstenite reports it as bad UTF-8, like text: 1007 too.
        case(
            "close with a reason that is not UTF-8",
            false,
            frame(FIN | CLOSE, &close_payload(1000, &[0xff]), true),
            1007,
        ),
        // 10.4: a message over the limit (64 KiB in these tests).
        case(
            "message over the limit",
            false,
            frame(FIN | BINARY, &[0; 70_000], true),
            1009,
        ),
        // RFC 7692 section 6: RSV1 only on a data message's first frame.
        case(
            "RSV1 on a ping",
            true,
            frame(FIN | RSV1 | PING, b"", true),
            1002,
        ),
        case(
            "RSV1 on a continuation",
            true,
            [
                frame(RSV1 | BINARY, &deflate(b"ab"), true),
                frame(FIN | RSV1, b"", true),
            ]
            .concat(),
            1002,
        ),
        case(
            "compressed data that does not inflate",
            true,
            frame(FIN | RSV1 | BINARY, &[0xff; 8], true),
            1002,
        ),
        case(
            "a message that inflates past the limit",
            true,
            frame(FIN | RSV1 | BINARY, &deflate(&[0; 1 << 20]), true),
            1009,
        ),
        case(
            "a new message inside a fragmented compressed one",
            true,
            [
                frame(RSV1 | TEXT, &deflate(b"ab"), true),
                frame(FIN | TEXT, b"c", true),
            ]
            .concat(),
            1002,
        ),
    ]
}

async fn server() -> TestServer {
    TestServer::memory_with(|c| c.max_message_bytes = 64 * 1024)
        .await
        .0
}

async fn joined(server: &TestServer, deflate: bool) -> Wire {
    let open = Open {
        extensions: deflate.then_some(CHROMIUM_OFFER),
        ..Open::default()
    };
    let mut wire = Wire::open(server, "/ws/conformance", open).await;
    wire.join().await;
    wire
}

#[tokio::test]
async fn every_violation_gets_its_close() {
    let server = server().await;
    let mut wrong = Vec::new();
    for case in cases() {
        let mut wire = joined(&server, case.deflate).await;
        wire.send(&case.bytes).await;
        match wire.close().await {
            Some((code, reason)) if code == case.code && !reason.is_empty() => {}
            other => wrong.push(format!(
                "{}: expected {}, got {other:?}",
                case.name, case.code
            )),
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[tokio::test]
async fn what_the_rules_allow_is_taken() {
    let server = server().await;
    // 5.5.2: a ping is answered with a pong carrying its payload, even in
    // the middle of a fragmented message (5.4).
    let mut wire = joined(&server, true).await;
    let ping = br#"{"type":"ping"}"#;
    let (a, b) = ping.split_at(5);
    wire.send(&frame(TEXT, a, true)).await;
    wire.send(&frame(FIN | PING, b"are you there", true)).await;
    wire.send(&frame(FIN, b, true)).await;
    let mut pong = None;
    let mut app_pong = false;
    while pong.is_none() || !app_pong {
        let frame = wire.read().await.expect("an answer");
        match frame.opcode() {
            PONG => pong = Some(frame.payload),
            TEXT => app_pong |= String::from_utf8_lossy(&frame.payload).contains("pong"),
            _ => {}
        }
    }
    assert_eq!(pong.as_deref(), Some(&b"are you there"[..]));
    // The same with the text compressed and fragmented.
    let packed = deflate(ping);
    let (a, b) = packed.split_at(packed.len() / 2);
    wire.send(&frame(RSV1 | TEXT, a, true)).await;
    wire.send(&frame(FIN | PING, b"", true)).await;
    wire.send(&frame(FIN, b, true)).await;
    let mut app_pong = false;
    while !app_pong {
        let frame = wire.read().await.expect("an answer");
        app_pong =
            frame.opcode() == TEXT && String::from_utf8_lossy(&frame.payload).contains("pong");
    }
    // 5.5.1: a close is answered with a close, with the same code.
    wire.send(&frame(FIN | CLOSE, &close_payload(1000, b"bye"), true))
        .await;
    assert_eq!(wire.close().await.map(|(code, _)| code), Some(1000));
    assert!(
        wire.read().await.is_none(),
        "then the server ends the stream"
    );
}
