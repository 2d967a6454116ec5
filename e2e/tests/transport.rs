//! The WebSocket transport with a real browser: Chromium offers
//! permessage-deflate, the server agrees, and a large document still loads
//! and edits still sync both ways. DevTools shows the frames decompressed,
//! so what the page received is readable as before.

use tandem_e2e::{DEADLINE, Direction, NativePeer, WsEvent, run_test, tid};

/// A document well above the compression threshold (1 KiB by default).
fn long_text() -> String {
    (0..400)
        .map(|i| format!("line {i} of a document long enough to be compressed\n"))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chromium_negotiates_deflate_and_the_document_loads_and_syncs() {
    run_test(
        "chromium_negotiates_deflate_and_the_document_loads_and_syncs",
        async |ctx| {
            let text = long_text();
            let peer = NativePeer::join(&ctx.server.ws_base(), "e2e-deflate", None, "Grace").await;
            peer.insert(0, &text).await;

            let page = ctx.page().await;
            page.open_editor("/d/e2e-deflate").await;
            let editor = tid("editor");
            page.wait_for_value(&editor, &text, DEADLINE).await;

            let request = page
                .wait_for_ws_event("the WebSocket upgrade request", DEADLINE, |e| {
                    matches!(e, WsEvent::HandshakeRequest { .. })
                })
                .await;
            let offer = request.header("Sec-WebSocket-Extensions").unwrap_or("");
            assert!(
                offer.contains("permessage-deflate"),
                "Chromium offers the extension: {request:?}"
            );
            let response = page
                .wait_for_ws_event("the WebSocket upgrade response", DEADLINE, |e| {
                    matches!(e, WsEvent::HandshakeResponse { .. })
                })
                .await;
            assert_eq!(
                response.header("Sec-WebSocket-Extensions"),
                Some("permessage-deflate; server_no_context_takeover; client_no_context_takeover"),
                "the server agreed: {response:?}"
            );
            // DevTools shows the step 2 that carried the document after
            // decompression: a binary frame larger than the whole text.
            let step2 = page
                .wait_for_frame("the received sync step 2", DEADLINE, |f| {
                    f.direction == Direction::Received
                        && f.bytes().is_some_and(|b| b.starts_with(&[0, 1]))
                })
                .await;
            let bytes = step2.bytes().expect("binary");
            assert!(bytes.len() > text.len(), "{} bytes", bytes.len());

            // Edits still go both ways.
            page.type_at(&editor, 0, "typed ").await;
            peer.wait_for_text(&format!("typed {text}"), DEADLINE).await;
            peer.insert(0, "native ").await;
            page.wait_for_value(&editor, &format!("native typed {text}"), DEADLINE)
                .await;
        },
    )
    .await;
}
