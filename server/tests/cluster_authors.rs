//! Who wrote what in a cluster (issue 28), against the real PostgreSQL and
//! Redis `cargo xtask test` provides: the node that accepted an update
//! attributes it, stores the claim with it and publishes the authorship on
//! the room's stream before the rows, so the people on another node learn
//! who wrote the text they receive; a node that loads the room later reads
//! the same authorship from the store.

mod cluster_support;

use std::time::Duration;

use cluster_support::*;
use tandem_shared::Presence;
use tandem_shared::authors::AuthorsExport;
use tandem_testkit::{Client, http, poll};

/// How soon the other node's people must know: waited for, never measured.
const SOON: Duration = Duration::from_secs(5);

async fn person(url: &str, secret: &str, name: &str) -> Client {
    let mut client = Client::connect_as(url, None, secret).await;
    let color = client.color().expect("a colour").to_owned();
    client
        .send_presence(Presence {
            name: name.into(),
            color,
            cursor: None,
        })
        .await;
    client.round_trip().await;
    client
}

/// The names of the authors of each claim `client` knows, by client id.
fn claimed(client: &Client) -> Vec<(u64, String)> {
    let table = client.authorship();
    table
        .claims
        .iter()
        .map(|c| {
            let name = table
                .author(&c.author)
                .map_or_else(String::new, |a| a.name.clone());
            (c.client, name)
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_update_from_another_node_arrives_with_its_author() {
    let database = fresh_database().await;
    let redis = required(REDIS_URL_ENV);
    let (a, b) = (node(&database, &redis).await, node(&database, &redis).await);
    let room = unique_room("authors");
    let mut ada = person(&a.ws_url(&room), "ada-cluster-secret-01", "Ada").await;
    let mut bob = person(&b.ws_url(&room), "bob-cluster-secret-02", "Bob").await;
    let (ada_id, bob_id) = (ada.doc().client_id().get(), bob.doc().client_id().get());

    ada.insert(0, "from A ").await;
    ada.wait_saved().await;
    // Bob, on node B, is told who wrote it by node A, through the bus.
    poll("Ada's text and claim on node B", SOON, async || {
        bob.step(Duration::from_millis(5)).await;
        if bob.content() == "from A " && claimed(&bob) == [(ada_id, "Ada".to_owned())] {
            Ok(())
        } else {
            Err(format!("{:?} {:?}", bob.content(), claimed(&bob)))
        }
    })
    .await;

    bob.insert(7, "and B").await;
    bob.wait_saved().await;
    poll("Bob's claim on node A", SOON, async || {
        ada.step(Duration::from_millis(5)).await;
        if claimed(&ada).contains(&(bob_id, "Bob".to_owned())) {
            Ok(())
        } else {
            Err(format!("{:?}", claimed(&ada)))
        }
    })
    .await;

    // Either node exports the same; a third node loads it from the store.
    let c = node(&database, &redis).await;
    for server in [&a, &b, &c] {
        let (status, body) = http(
            server.addr,
            "GET",
            &format!("/api/rooms/{room}/authors"),
            None,
            "",
        )
        .await;
        assert_eq!(status, 200, "{body}");
        let export: AuthorsExport = serde_json::from_str(&body).expect("an export");
        let names: Vec<(u32, u32, &str)> = export
            .runs
            .iter()
            .map(|r| {
                let who = export
                    .authors
                    .iter()
                    .find(|a| Some(&a.author.id) == r.author.as_ref())
                    .map_or("nobody", |a| a.label.as_str());
                (r.from, r.to, who)
            })
            .collect();
        assert_eq!(names, [(0, 7, "Ada"), (7, 12, "Bob")], "{}", server.addr);
    }
}
