//! Live collaboration over real sockets: handshake, relay, convergence.

use tandem_shared::{RoomId, SyncFrame};
use tandem_testkit::{Client, TestServer};
use tokio_tungstenite::tungstenite::Message;
use yrs::updates::decoder::Decode;
use yrs::{ReadTxn, Text, Transact, Update};

#[tokio::test]
async fn a_connection_starts_with_welcome_then_the_servers_state_vector() {
    let (server, _) = TestServer::memory().await;
    let mut socket = tandem_testkit::socket::open(&server.ws_url("hello-room"))
        .await
        .expect("connect");
    use futures_util::{SinkExt, StreamExt};
    // The client's first frame: nothing comes for the room before it.
    let hello = tandem_shared::ClientMsg::Hello {
        key: None,
        author: None,
        color: None,
    }
    .to_json();
    socket
        .send(Message::Text(hello.into()))
        .await
        .expect("hello");
    let Some(Ok(Message::Text(welcome))) = socket.next().await else {
        panic!("no welcome")
    };
    let welcome: serde_json::Value = serde_json::from_str(&welcome).expect("json");
    assert_eq!(welcome["type"], "welcome");
    assert_eq!(welcome["room"], "hello-room");
    assert_eq!(welcome["protocol"], 1);
    assert_eq!(welcome["read_only"], false);
    assert!(welcome["client_id"].as_u64().is_some());
    let Some(Ok(Message::Binary(step1))) = socket.next().await else {
        panic!("no step 1")
    };
    assert!(matches!(SyncFrame::decode(&step1), Ok(SyncFrame::Step1(_))));
}

#[tokio::test]
async fn edits_are_relayed_to_others_and_not_echoed() {
    let (server, _) = TestServer::memory().await;
    let mut a = server.client("relay").await;
    let mut b = server.client("relay").await;
    for word in ["hello", " brave", " new"] {
        a.insert(a.len(), word).await;
    }
    b.pump_until("b sees a's edits", |c| c.content() == "hello brave new")
        .await;
    b.insert(b.len(), " world").await;
    a.pump_until("a sees b's edit", |c| {
        c.content() == "hello brave new world"
    })
    .await;
    a.wait_saved().await;
    a.round_trip().await;
    // The room relayed a's edits before b's (b wrote only after seeing them),
    // so an echo of a's own would have reached a before b's edit did.
    assert_eq!(
        a.updates_received, 1,
        "a got only b's update, none of its own"
    );
    assert_eq!(b.updates_received, 3, "b got each of a's updates once");
}

#[tokio::test]
async fn a_late_joiner_receives_the_whole_document() {
    let (server, _) = TestServer::memory().await;
    let mut a = server.client("late").await;
    a.insert(0, "first line\n").await;
    a.insert(11, "second line 👋\n").await;
    a.delete(0, 6).await;
    a.wait_saved().await;
    let late = server.client("late").await;
    assert_eq!(late.content(), "line\nsecond line 👋\n");
    assert_eq!(late.content(), a.content());
}

#[tokio::test]
async fn offline_edits_merge_on_connect_exactly_once() {
    let (server, _) = TestServer::memory().await;
    let mut a = server.client("offline").await;
    a.insert(0, "shared ").await;
    a.wait_saved().await;

    // b edits a copy of the document while "offline", then connects with it.
    let offline = tandem_shared::doc::new_doc();
    let text = offline.get_or_insert_text(tandem_shared::doc::CONTENT);
    let state = a
        .doc()
        .transact()
        .encode_state_as_update_v1(&Default::default());
    offline
        .transact_mut()
        .apply_update(Update::decode_v1(&state).expect("decode"))
        .expect("apply");
    text.insert(&mut offline.transact_mut(), 7, "offline");
    let mut b = Client::connect_with(&server.ws_url("offline"), offline).await;
    b.wait_saved().await;
    a.pump_until("a gets b's offline edit", |c| {
        c.content() == "shared offline"
    })
    .await;

    // Reconnecting again with the same state changes nothing.
    let again = Client::connect_with(&server.ws_url("offline"), b.doc().clone()).await;
    assert_eq!(again.content(), "shared offline");
    let fresh = server.client("offline").await;
    assert_eq!(fresh.content(), "shared offline");
}

#[tokio::test]
async fn rooms_never_see_each_others_edits() {
    let (server, _) = TestServer::memory().await;
    let mut a = server.client("room-a").await;
    let mut b = server.client("room-b").await;
    a.insert(0, "only in a").await;
    b.insert(0, "only in b").await;
    a.wait_saved().await;
    b.wait_saved().await;
    // Each edit was relayed (to the wrong room, if it were) before it was
    // saved; a round trip reads everything a room sent before its answer.
    a.round_trip().await;
    b.round_trip().await;
    assert_eq!(a.content(), "only in a");
    assert_eq!(b.content(), "only in b");
    assert_eq!(server.client("room-a").await.content(), "only in a");
    assert_eq!(server.client("room-b").await.content(), "only in b");
}

#[tokio::test]
async fn app_ping_gets_a_pong() {
    let (server, _) = TestServer::memory().await;
    let mut a = server.client("ping").await;
    a.ping().await;
    a.pump_until("pong", |c| c.pongs == 1).await;
}

/// Random inserts and deletes from `n` clients at once, seeded; every replica
/// must end equal to the server's document.
async fn converge(n: usize, ops: usize, seed: u64) {
    let (server, _) = TestServer::memory().await;
    let room = format!("converge-{n}-{seed}");
    let mut tasks = Vec::new();
    for i in 0..n {
        let url = server.ws_url(&room);
        let seed = seed.wrapping_mul(1000).wrapping_add(i as u64);
        tasks.push(tokio::spawn(async move {
            let mut client = Client::connect(&url).await;
            let mut rng = fastrand::Rng::with_seed(seed);
            for op in 0..ops {
                let len = client.len();
                if len > 0 && rng.u8(..) < 90 {
                    let at = rng.u32(..len);
                    let count = rng.u32(1..=(len - at).min(5));
                    client.delete(at, count).await;
                } else {
                    let at = rng.u32(..=len);
                    let chunk: String = (0..rng.usize(1..4))
                        .map(|_| ['a', 'b', 'é', '👋', ' ', '\n'][rng.usize(..6)])
                        .collect();
                    client.insert(at, &format!("{chunk}{i}.{op}")).await;
                }
                // Sometimes take in what others did, sometimes not: edits cross.
                if rng.bool() {
                    client.drain().await;
                }
                if rng.u8(..) < 20 {
                    tokio::task::yield_now().await;
                }
            }
            client.wait_saved().await;
            client
        }));
    }
    let mut clients = Vec::new();
    for task in tasks {
        clients.push(task.await.expect("client task"));
    }
    // Every update is now on the server; a fresh client reads its document.
    let reference = Client::connect(&server.ws_url(&room)).await.content();
    for client in &mut clients {
        client
            .pump_until("replica equals the server", |c| c.content() == reference)
            .await;
    }
    assert!(clients.iter().all(|c| c.content() == reference));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_clients_converge() {
    for seed in 0..5 {
        converge(2, 150, seed).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_clients_converge() {
    for seed in 0..2 {
        converge(10, 60, seed).await;
    }
}

#[tokio::test]
async fn a_hundred_clients_joining_a_cold_room_load_it_once() {
    let (mut server, store) = TestServer::memory().await;
    let room = RoomId::new("cold").expect("room");
    {
        // Put something in storage first, through a server that is then gone.
        let mut writer = server.client("cold").await;
        writer.insert(0, "stored text").await;
        writer.wait_saved().await;
        writer.close().await;
    }
    server.stop().await;
    let loads_before = store.loads();

    let server = TestServer::start(
        tandem_testkit::test_config(std::path::Path::new("/nonexistent")),
        store.clone(),
    )
    .await;
    let url = server.ws_url(room.as_str());
    let joins: Vec<_> = (0..100)
        .map(|_| {
            let url = url.clone();
            tokio::spawn(async move { Client::connect(&url).await.content() })
        })
        .collect();
    for join in joins {
        assert_eq!(
            join.await.expect("join"),
            "stored text",
            "no client sees an empty document"
        );
    }
    assert_eq!(
        store.loads() - loads_before,
        1,
        "one load for 100 simultaneous joins"
    );
}

#[tokio::test]
async fn a_document_larger_than_one_message_still_reaches_a_new_client() {
    // The incoming limit bounds each update, not the document: a joiner's
    // sync step 2 carries the whole document in one message.
    let (server, _) = TestServer::memory_with(|c| c.max_message_bytes = 16 * 1024).await;
    let mut writer = server.client("big-doc").await;
    let line = "a line of text that makes the document grow\n";
    for _ in 0..60 {
        let chunk = line.repeat(100);
        writer.insert(writer.len(), &chunk).await;
    }
    writer.wait_saved().await;
    let expected = writer.content();
    assert!(
        expected.len() > 200 * 1024,
        "the document is {} bytes",
        expected.len()
    );
    let reader = server.client("big-doc").await;
    assert_eq!(reader.content(), expected);
}
