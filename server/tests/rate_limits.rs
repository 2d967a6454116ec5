//! Flood protection on data, not only on pings: a client flooding update
//! frames is closed with 4004 (rate limited), on Tandem's endpoint
//! (`/ws/{room}`) and on the y-websocket dialect's (`/yjs/{room}`), while
//! the room goes on serving everyone else.

use futures_util::{SinkExt as _, StreamExt as _};
use tandem_shared::SyncFrame;
use tandem_shared::close::CloseCode;
use tandem_shared::doc::{CONTENT, new_doc};
use tandem_shared::yjs::YjsFrame;
use tandem_testkit::socket::close_of;
use tandem_testkit::{Client, DEADLINE, TestServer, edit};
use tokio_tungstenite::tungstenite::Message;

/// Updates sent in the flood: five times the burst.
const FLOOD: usize = 200;

async fn limited_server() -> TestServer {
    let (server, _) = TestServer::memory_with(|c| {
        c.rate_limit = 20;
        c.rate_burst = 40;
    })
    .await;
    server
}

/// `FLOOD` valid updates, each appending to the last: a fast typist's frames.
fn typing() -> Vec<Vec<u8>> {
    let doc = new_doc();
    let text = doc.get_or_insert_text(CONTENT);
    (0..FLOOD)
        .map(|i| edit::append(&doc, &text, &format!("{i} ")))
        .collect()
}

#[tokio::test]
async fn flooding_update_frames_closes_with_4004() {
    let server = limited_server().await;
    let mut calm = server.client("flood-updates").await;
    let mut flood = server.client("flood-updates").await;
    for update in typing() {
        flood.send_update(update).await;
    }
    let (code, reason) = flood.expect_close().await;
    assert_eq!(code, CloseCode::RateLimited, "{reason}");
    assert!(reason.contains("20 messages per second"), "{reason}");
    // The room is fine: the calm client still edits and is acknowledged.
    // (Its insert may land before or after the flood's accepted text: the
    // two are concurrent inserts at the same place, ordered by client id.)
    calm.insert(0, "unaffected ").await;
    calm.wait_saved().await;
    assert!(
        Client::connect(&server.ws_url("flood-updates"))
            .await
            .content()
            .contains("unaffected ")
    );
}

#[tokio::test]
async fn flooding_update_frames_on_the_yjs_endpoint_closes_with_4004() {
    let server = limited_server().await;
    let mut calm = server.client("flood-yjs").await;
    let url = format!("{}/yjs/flood-yjs", server.ws_base());
    let (mut socket, _) = tokio_tungstenite::connect_async(&url)
        .await
        .expect("connect");
    for update in typing() {
        let frame = YjsFrame::Sync(SyncFrame::Update(update)).encode();
        // The server may close (and the socket fail) before the flood ends.
        if socket.send(Message::Binary(frame.into())).await.is_err() {
            break;
        }
    }
    let close = tokio::time::timeout(DEADLINE, async {
        while let Some(Ok(message)) = socket.next().await {
            if let Message::Close(frame) = message {
                return Some(close_of(frame.as_ref()));
            }
        }
        None
    })
    .await
    .expect("the server answers within the deadline")
    .expect("a close frame before the stream ends");
    assert_eq!(close.code, CloseCode::RateLimited, "{}", close.reason);
    calm.insert(0, "unaffected ").await;
    calm.wait_saved().await;
}
