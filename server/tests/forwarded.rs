//! `--trusted-proxies`: behind a proxy, connections count under the client
//! address the proxy appended to `X-Forwarded-For`; from anyone else the
//! header is ignored, so a client cannot pick its own address.

mod support;

use futures_util::StreamExt;
use support::http::upgrade_request;
use tandem_shared::close::CloseCode;
use tandem_testkit::socket::{Socket, close_of, open_with_headers};
use tandem_testkit::{DEADLINE, TestServer, eventually};
use tokio_tungstenite::tungstenite::{self, Message};

/// Opens `/ws/{room}` with `X-Forwarded-For: forwarded`.
async fn open_as(server: &TestServer, forwarded: &str) -> Result<Socket, tungstenite::Error> {
    open_with_headers(
        &server.ws_url("behind-proxy"),
        &[("X-Forwarded-For", forwarded)],
    )
    .await
}

/// The close the server sends first on `socket`.
async fn first_close(socket: &mut Socket) -> (CloseCode, String) {
    let next = tokio::time::timeout(DEADLINE, socket.next())
        .await
        .expect("a frame within the deadline");
    match next {
        Some(Ok(Message::Close(frame))) => {
            let close = close_of(frame.as_ref());
            (close.code, close.reason)
        }
        other => panic!("expected a close, got {other:?}"),
    }
}

#[tokio::test]
async fn a_trusted_proxy_names_the_client_each_connection_counts_under() {
    let (server, _) = TestServer::memory_with(|c| {
        c.trusted_proxies = vec!["127.0.0.1".parse().expect("net")];
        c.max_connections_per_ip = 1;
    })
    .await;
    // The client wrote an address of its own choosing; the proxy appended
    // the one it saw, which is the one that counts.
    let _first = open_as(&server, "192.0.2.1, 203.0.113.7")
        .await
        .expect("upgrade");
    eventually("the first client is admitted", || {
        server.state.limits.open() == 1
    })
    .await;

    // The same client again: over its bound.
    let mut again = open_as(&server, "203.0.113.7").await.expect("upgrade");
    let (code, reason) = first_close(&mut again).await;
    assert_eq!(code, CloseCode::TryAgainLater);
    assert!(
        reason.contains("too many connections from your address"),
        "{reason}"
    );

    // Another client behind the same proxy has a bound of its own.
    let _other = open_as(&server, "203.0.113.8").await.expect("upgrade");
    eventually("the second client is admitted", || {
        server.state.limits.open() == 2
    })
    .await;

    // A proxy that passes something else than an address is refused
    // before the upgrade, not counted under a made-up address.
    match open_as(&server, "203.0.113.9, unknown").await {
        Err(tungstenite::Error::Http(response)) => assert_eq!(response.status(), 400),
        other => panic!("expected 400, got {other:?}"),
    }
    let forwarded = [("X-Forwarded-For", "203.0.113.9, unknown")];
    let (status, body) = upgrade_request(&server, "/ws/behind-proxy", None, None, &forwarded).await;
    assert_eq!(status, 400);
    assert!(
        body.contains("invalid X-Forwarded-For from a trusted proxy: `unknown`"),
        "{body}"
    );
}

#[tokio::test]
async fn without_trusted_proxies_the_header_is_ignored() {
    let (server, _) = TestServer::memory_with(|c| c.max_connections_per_ip = 1).await;
    let _first = open_as(&server, "203.0.113.7").await.expect("upgrade");
    eventually("the first client is admitted", || {
        server.state.limits.open() == 1
    })
    .await;
    // Claiming another address changes nothing: both come from 127.0.0.1.
    let mut second = open_as(&server, "203.0.113.8").await.expect("upgrade");
    let (code, reason) = first_close(&mut second).await;
    assert_eq!(code, CloseCode::TryAgainLater);
    assert!(
        reason.contains("too many connections from your address"),
        "{reason}"
    );
    // Nor is a header that names no address refused: it is not read.
    let mut third = open_as(&server, "unknown").await.expect("upgrade");
    assert_eq!(first_close(&mut third).await.0, CloseCode::TryAgainLater);
}
