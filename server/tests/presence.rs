//! Presence: who is here and where their cursor is; no ghosts.

use std::time::Duration;

use tandem_shared::close::CloseCode;
use tandem_shared::{Cursor, ErrorCode, Presence, ServerMsg};
use tandem_testkit::TestServer;
use yrs::{Assoc, IndexedSequence, Transact};

fn ada() -> Presence {
    Presence {
        name: "Ada".into(),
        color: "#e06c75".into(),
        cursor: None,
    }
}

#[tokio::test]
async fn presence_is_relayed_and_given_to_joiners() {
    let (server, _) = TestServer::memory().await;
    let mut a = server.client("presence").await;
    let mut b = server.client("presence").await;
    a.insert(0, "hello world").await;
    let cursor = {
        let txn = a.doc().transact();
        let anchor = a.text.sticky_index(&txn, 6, Assoc::After).expect("index");
        let head = a.text.sticky_index(&txn, 11, Assoc::Before).expect("index");
        Cursor { anchor, head }
    };
    a.send_presence(Presence {
        cursor: Some(cursor.clone()),
        ..ada()
    })
    .await;
    let a_id = a.client_id();
    b.pump_until("b sees a's presence", |c| c.peers().contains_key(&a_id))
        .await;
    let seen = b.peers()[&a_id].clone();
    assert_eq!(
        (seen.name.as_str(), seen.color.as_str()),
        ("Ada", "#e06c75")
    );
    assert_eq!(seen.cursor.as_ref(), Some(&cursor));

    // The caret is relative: b resolves it on its own replica, after b typed before it.
    b.pump_until("b has a's text", |c| c.content() == "hello world")
        .await;
    b.insert(0, ">> ").await;
    let head = seen.cursor.clone().expect("cursor").head;
    let offset = head
        .get_offset(&b.doc().transact())
        .expect("resolves")
        .index;
    assert_eq!(offset, 14, "still at the end of 'world'");

    // A joiner gets the table in its welcome.
    let c = server.client("presence").await;
    assert_eq!(c.peers().get(&a_id).map(|p| p.name.as_str()), Some("Ada"));
    assert!(
        !c.peers().contains_key(&b.client_id()),
        "b never said anything"
    );
}

#[tokio::test]
async fn a_closed_tab_leaves_no_ghost() {
    let (server, _) = TestServer::memory().await;
    let mut watcher = server.client("ghosts").await;
    let mut a = server.client("ghosts").await;
    a.send_presence(ada()).await;
    let a_id = a.client_id();
    watcher
        .pump_until("a appears", |c| c.peers().contains_key(&a_id))
        .await;
    a.close().await;
    watcher
        .pump_until("a leaves", |c| !c.peers().contains_key(&a_id))
        .await;
}

#[tokio::test]
async fn a_dropped_socket_leaves_no_ghost() {
    let (server, _) = TestServer::memory().await;
    let mut watcher = server.client("dropped").await;
    let mut a = server.client("dropped").await;
    a.send_presence(ada()).await;
    let a_id = a.client_id();
    watcher
        .pump_until("a appears", |c| c.peers().contains_key(&a_id))
        .await;
    a.drop_abruptly();
    watcher
        .pump_until("a leaves", |c| !c.peers().contains_key(&a_id))
        .await;
    let late = server.client("dropped").await;
    assert!(
        late.peers().is_empty(),
        "no ghost in the table: {:?}",
        late.peers()
    );
}

#[tokio::test]
async fn a_silent_client_is_cut_by_the_heartbeat_and_leaves_no_ghost() {
    let (server, _) = TestServer::memory_with(|c| c.heartbeat = Duration::from_millis(200)).await;
    let mut watcher = server.client("silent").await;
    let mut a = server.client("silent").await;
    a.send_presence(ada()).await;
    let a_id = a.client_id();
    // `a` now stops reading, so it answers no pings: it is silent.
    watcher
        .pump_until("a appears", |c| c.peers().contains_key(&a_id))
        .await;
    // The watcher keeps reading (and so answering pings) while it waits.
    watcher
        .pump_until("a is cut", |c| !c.peers().contains_key(&a_id))
        .await;
    assert!(watcher.closed.is_none(), "a live client is not cut");
    let (code, reason) = a.expect_close().await;
    assert_eq!(code, CloseCode::HeartbeatTimeout);
    assert!(reason.contains("nothing heard"), "{reason}");
}

#[tokio::test]
async fn bad_presence_gets_an_error_and_is_not_relayed() {
    let (server, _) = TestServer::memory().await;
    let mut watcher = server.client("badpresence").await;
    let mut a = server.client("badpresence").await;
    for presence in [
        Presence {
            name: String::new(),
            ..ada()
        },
        Presence {
            color: "red".into(),
            ..ada()
        },
        Presence {
            name: "x".repeat(3000),
            ..ada()
        },
    ] {
        a.send_presence(presence).await;
    }
    a.pump_until("three errors", |c| c.errors.len() == 3).await;
    for error in &a.errors {
        assert!(
            matches!(
                error,
                ServerMsg::Error {
                    code: ErrorCode::BadPresence,
                    ..
                }
            ),
            "{error:?}"
        );
    }
    a.send_presence(ada()).await;
    let a_id = a.client_id();
    watcher
        .pump_until("the good one arrives", |c| c.peers().contains_key(&a_id))
        .await;
    assert_eq!(watcher.peers()[&a_id].name, "Ada");
}
