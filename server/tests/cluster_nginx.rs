//! The repository's nginx configuration (`deploy/nginx.conf`) in front of
//! two nodes on one PostgreSQL and Redis: Debian's nginx runs the file with
//! only its upstream servers and listen port replaced.
//!
//! - A browser-like upgrade (with an `Origin`) through the proxy is
//!   accepted: the proxy passes `Host` with its port.
//! - Each room's clients land on one node (consistent hashing on the room)
//!   and converge; different rooms use both nodes.
//! - When a room's node stops, its clients come back through the proxy to
//!   the other node with nothing acknowledged lost.

mod cluster_support;

use cluster_support::*;
use tandem_testkit::{Client, Nginx, socket};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nginx_keeps_each_room_on_one_node_and_moves_it_when_the_node_stops() {
    let database = fresh_database().await;
    let redis = required(REDIS_URL_ENV);
    let mut a = node(&database, &redis).await;
    let b = node(&database, &redis).await;
    let proxy = Nginx::start([&a.addr.to_string(), &b.addr.to_string()]);

    // A browser's upgrade: its Origin is the proxy's address, which the
    // node sees as Host only if the proxy passes the port along.
    let origin = proxy.base();
    let room = unique_room("origin");
    let upgraded = socket::open_with_headers(&proxy.ws_url(&room), &[("Origin", &origin)]).await;
    assert!(
        upgraded.is_ok(),
        "an upgrade with the proxy's Origin: {upgraded:?}"
    );

    let rooms: Vec<String> = (0..12).map(|i| unique_room(&format!("hash{i}"))).collect();
    let mut per_room = Vec::new();
    for room in &rooms {
        let mut first = Client::connect(&proxy.ws_url(room)).await;
        let mut second = Client::connect(&proxy.ws_url(room)).await;
        let chunks = markers(&format!("{room}-"), 3);
        type_chunks(&mut first, &chunks).await;
        first.wait_saved().await;
        second
            .pump_until("the room's other client sees the edits", |c| {
                c.content().contains(chunks[2].as_str())
            })
            .await;
        per_room.push((first, second, chunks));
    }
    let on_a = rooms
        .iter()
        .filter(|room| {
            a.state
                .registry
                .is_loaded(&tandem_shared::RoomId::new(room.as_str()).expect("room"))
        })
        .count();
    let on_b = rooms
        .iter()
        .filter(|room| {
            b.state
                .registry
                .is_loaded(&tandem_shared::RoomId::new(room.as_str()).expect("room"))
        })
        .count();
    assert_eq!(
        on_a + on_b,
        rooms.len(),
        "each room is loaded on exactly one node ({on_a} + {on_b})"
    );
    assert!(
        on_a > 0 && on_b > 0,
        "rooms spread over both nodes ({on_a} and {on_b})"
    );

    // Stop node a: its clients are closed (1001) and come back through the
    // proxy, which sends them to node b.
    let moved: Vec<usize> = rooms
        .iter()
        .enumerate()
        .filter(|(_, room)| {
            a.state
                .registry
                .is_loaded(&tandem_shared::RoomId::new(room.as_str()).expect("room"))
        })
        .map(|(i, _)| i)
        .collect();
    a.stop().await;
    for i in moved {
        let (first, _, chunks) = &per_room[i];
        let mut back = Client::connect_with(&proxy.ws_url(&rooms[i]), first.doc().clone()).await;
        back.wait_saved().await;
        let mut fresh = vec![Client::connect(&proxy.ws_url(&rooms[i])).await, back];
        converge(&mut fresh, chunks).await;
        assert!(
            b.state
                .registry
                .is_loaded(&tandem_shared::RoomId::new(rooms[i].as_str()).expect("room")),
            "the room moved to node b"
        );
    }
}
