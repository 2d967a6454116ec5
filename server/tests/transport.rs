//! The WebSocket transport seen from the wire: permessage-deflate (RFC 7692)
//! is agreed only when offered and enabled, large messages go out
//! compressed and small ones as they are, compressed client messages are
//! taken, broken ones are closed with a clear code, and a client that stops
//! reading is cut without the server's kernel keeping its queue.

mod transport_wire;

use std::net::SocketAddr;

use tandem_server::deflate::{AGREED, deflate, inflate};
use tandem_shared::SyncFrame;
use tandem_shared::doc::{CONTENT, new_doc};
use tandem_testkit::{Client, DEADLINE, TestServer, edit, eventually};
use tokio::io::AsyncReadExt as _;
use transport_wire::{BINARY, CHROMIUM_OFFER, FIN, HELLO, Open, PING, RSV1, TEXT, Wire, frame};
use yrs::updates::decoder::Decode as _;
use yrs::{GetString as _, Transact as _, Update};

/// Prose-like text: compressible, as documents are.
fn prose(words: usize) -> String {
    const WORDS: [&str; 12] = [
        "the", "shared", "document", "edits", "merge", "without", "conflict", "while", "people",
        "type", "together", "live",
    ];
    let mut rng = fastrand::Rng::with_seed(7);
    (0..words)
        .map(|_| WORDS[rng.usize(..WORDS.len())])
        .collect::<Vec<_>>()
        .join(" ")
}

fn offer(extensions: &str) -> Open<'_> {
    Open {
        extensions: Some(extensions),
        ..Open::default()
    }
}

#[tokio::test]
async fn deflate_is_agreed_only_when_offered_and_enabled() {
    let (server, _) = TestServer::memory().await;
    let chromium = Wire::open(&server, "/ws/offers", offer(CHROMIUM_OFFER)).await;
    assert_eq!(chromium.extensions().as_deref(), Some(AGREED));
    let none = Wire::open(&server, "/ws/offers", Open::default()).await;
    assert_eq!(none.extensions(), None, "no offer, no extension");
    let narrow = Wire::open(
        &server,
        "/ws/offers",
        offer("permessage-deflate; server_max_window_bits=10"),
    )
    .await;
    assert_eq!(
        narrow.extensions(),
        None,
        "a window this server cannot keep"
    );
    let yjs = Wire::open(&server, "/yjs/offers", offer(CHROMIUM_OFFER)).await;
    assert_eq!(yjs.extensions().as_deref(), Some(AGREED), "Yjs clients too");

    let (off, _) = TestServer::memory_with(|c| c.ws_deflate = false).await;
    let refused = Wire::open(&off, "/ws/offers", offer(CHROMIUM_OFFER)).await;
    assert_eq!(refused.extensions(), None, "--ws-deflate false");
}

#[tokio::test]
async fn large_messages_go_out_compressed_and_small_ones_as_they_are() {
    let (server, _) = TestServer::memory().await;
    let text = prose(6_000);
    let mut writer = server.client("big-doc").await;
    writer.insert(0, &text).await;
    writer.wait_saved().await;

    let mut wire = Wire::open(&server, "/ws/big-doc", offer(CHROMIUM_OFFER)).await;
    wire.send(&frame(FIN | TEXT, HELLO, true)).await;
    let welcome = wire.read().await.expect("welcome");
    assert_eq!(welcome.opcode(), TEXT);
    assert!(!welcome.rsv1(), "a welcome is under the threshold");
    let step1 = wire.read().await.expect("step 1");
    assert!(!step1.rsv1(), "a state vector is small");
    let empty_state = SyncFrame::Step1(Default::default()).encode();
    wire.send(&frame(FIN | BINARY, &empty_state, true)).await;
    let step2 = wire.read().await.expect("step 2");
    assert_eq!(step2.opcode(), BINARY);
    assert!(step2.rsv1(), "the whole document goes out compressed");
    let inflated = inflate(&step2.payload, 64 << 20).expect("inflates");
    assert!(
        step2.payload.len() * 2 < inflated.len(),
        "{} bytes compressed from {}",
        step2.payload.len(),
        inflated.len()
    );
    let SyncFrame::Step2(update) = SyncFrame::decode(&inflated).expect("y-sync") else {
        panic!("not a step 2");
    };
    let replica = new_doc();
    let body = replica.get_or_insert_text(CONTENT);
    replica
        .transact_mut()
        .apply_update(Update::decode_v1(&update).expect("update"))
        .expect("applies");
    assert!(body.get_string(&replica.transact()) == text, "intact");

    // A keystroke is relayed as it is.
    writer.insert(0, "x").await;
    let keystroke = wire.read().await.expect("relayed update");
    assert_eq!(keystroke.opcode(), BINARY);
    assert!(!keystroke.rsv1(), "{} bytes", keystroke.payload.len());
    assert!(keystroke.payload.len() < 100);
}

#[tokio::test]
async fn compressed_client_messages_are_taken_even_fragmented() {
    let (server, _) = TestServer::memory().await;
    let mut reader = server.client("from-client").await;
    let mut wire = Wire::open(&server, "/ws/from-client", offer(CHROMIUM_OFFER)).await;
    // The hello compressed, then a large update compressed and cut in two
    // frames with a ping between them, as RFC 6455 allows.
    wire.send(&frame(FIN | RSV1 | TEXT, &deflate(HELLO), true))
        .await;
    let welcome = wire.read().await.expect("welcome");
    assert!(String::from_utf8_lossy(&welcome.payload).contains("welcome"));
    let text = prose(2_000);
    let doc = new_doc();
    let body = doc.get_or_insert_text(CONTENT);
    let update = SyncFrame::Update(edit::append(&doc, &body, &text)).encode();
    let packed = deflate(&update);
    let (a, b) = packed.split_at(packed.len() / 2);
    wire.send(&frame(RSV1 | BINARY, a, true)).await;
    wire.send(&frame(FIN | PING, b"mid", true)).await;
    wire.send(&frame(FIN, b, true)).await;
    reader
        .pump_until("the compressed update", |c| c.content() == text)
        .await;
    // Compressed or not, the server answers the ping in between.
    let mut ponged = false;
    while let Some(frame) = wire.read().await {
        if frame.opcode() == 0xA {
            assert_eq!(frame.payload, b"mid");
            ponged = true;
            break;
        }
    }
    assert!(ponged);
}

/// Sends `bytes` as the first frames after the upgrade (with deflate agreed
/// when `negotiate`) and returns the close the server answers with.
async fn close_for(server: &TestServer, negotiate: bool, bytes: &[u8]) -> (u16, String) {
    let open = if negotiate {
        offer(CHROMIUM_OFFER)
    } else {
        Open::default()
    };
    let mut wire = Wire::open(server, "/ws/broken", open).await;
    wire.join().await;
    wire.send(bytes).await;
    wire.close().await.expect("a close frame")
}

#[tokio::test]
async fn broken_compressed_messages_get_a_clear_close() {
    let (server, _) = TestServer::memory_with(|c| c.max_message_bytes = 64 * 1024).await;
    let garbage = frame(FIN | RSV1 | BINARY, &[0xff, 0xfe, 0xfd, 0xfc], true);
    assert_eq!(
        close_for(&server, true, &garbage).await,
        (
            1002,
            "protocol error: compressed message does not inflate".into()
        )
    );
    let (code, reason) = close_for(
        &server,
        false,
        &frame(FIN | RSV1 | BINARY, &deflate(b"x"), true),
    )
    .await;
    assert_eq!(code, 1002, "RSV1 without the extension: {reason}");
    assert!(reason.contains("eserved bits"), "{reason}");
    let continuation = [
        frame(RSV1 | BINARY, &deflate(b"ab"), true),
        frame(FIN | RSV1, b"x", true),
    ]
    .concat();
    assert_eq!(
        close_for(&server, true, &continuation).await,
        (
            1002,
            "protocol error: RSV1 set on a continuation frame".into()
        )
    );
    let (code, reason) = close_for(&server, true, &frame(FIN | RSV1 | PING, b"", true)).await;
    assert_eq!(code, 1002, "RSV1 on a control frame: {reason}");
    let bomb = frame(FIN | RSV1 | BINARY, &deflate(&vec![0; 1 << 20]), true);
    assert_eq!(
        close_for(&server, true, &bomb).await,
        (1009, "message larger than 65536 bytes".into())
    );
}

/// The kernel's view of the server's end of a connection from the client
/// at `client`: its state and send queue, from /proc/net/tcp.
fn server_side(server: SocketAddr, client: SocketAddr) -> Option<(u8, u64)> {
    let table = std::fs::read_to_string("/proc/net/tcp").expect("/proc/net/tcp");
    let local = format!(":{:04X}", server.port());
    let remote = format!(":{:04X}", client.port());
    table.lines().skip(1).find_map(|line| {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let (l, r, st, queues) = (fields[1], fields[2], fields[3], fields[4]);
        (l.ends_with(&local) && r.ends_with(&remote)).then(|| {
            let tx = queues.split(':').next().unwrap_or("0");
            (
                u8::from_str_radix(st, 16).unwrap_or(0),
                u64::from_str_radix(tx, 16).unwrap_or(0),
            )
        })
    })
}

#[tokio::test]
async fn a_client_that_stops_reading_is_cut_and_its_socket_let_go() {
    let (server, _) = TestServer::memory_with(|c| {
        c.queue_bytes = 256 * 1024;
        c.ws_deflate = false;
        c.rate_limit = 100_000;
        c.rate_burst = 100_000;
    })
    .await;
    let mut writer = server.client("stalled").await;
    let mut stalled = Wire::open(
        &server,
        "/ws/stalled",
        Open {
            recv_buffer: Some(4096),
            ..Open::default()
        },
    )
    .await;
    stalled.join().await;
    let client = stalled.stream.local_addr().expect("local address");
    assert!(server_side(server.addr, client).is_some(), "connected");

    // 1.3 MB of incompressible updates: far more than the outbox (256 KiB)
    // and the bounded kernel buffers can hold for it.
    let mut most_queued = 0;
    let mut rng = fastrand::Rng::with_seed(3);
    for round in 0..160 {
        let chunk: String = (0..8 * 1024).map(|_| rng.alphanumeric()).collect();
        writer.insert(0, &chunk).await;
        if round % 32 == 31 {
            writer.wait_saved().await;
        }
        if let Some((_, queued)) = server_side(server.addr, client) {
            most_queued = most_queued.max(queued);
        }
    }
    // The server's end is gone (reset, not left in FIN-WAIT-1 holding the
    // unsent queue), and the kernel never held more than the bounded send
    // buffer for it.
    eventually("the server's end of the socket is gone", || {
        server_side(server.addr, client).is_none()
    })
    .await;
    assert!(
        most_queued <= 512 * 1024,
        "{most_queued} bytes queued in the kernel for a client that reads nothing"
    );
    // The client, reading at last, finds the data it had and then the reset.
    let mut chunk = vec![0u8; 64 * 1024];
    let end = loop {
        match tokio::time::timeout(DEADLINE, stalled.stream.read(&mut chunk))
            .await
            .expect("the stream ends in time")
        {
            Ok(0) => break None,
            Ok(_) => continue,
            Err(err) => break Some(err.kind()),
        }
    };
    assert_eq!(end, Some(std::io::ErrorKind::ConnectionReset));
    // The room goes on.
    writer.insert(0, "still here ").await;
    writer.wait_saved().await;
    let late = Client::connect(&server.ws_url("stalled")).await;
    assert!(late.content().starts_with("still here "));
}
