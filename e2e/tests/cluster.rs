//! Two browsers on different nodes of a cluster (issue 20): two real
//! `tandem` nodes on one PostgreSQL and one Redis, Debian's nginx running
//! the repository's `deploy/nginx.conf` in front of both.
//!
//! Page A opens the room through nginx, which sends the room to one node
//! (consistent hashing on the room); page B opens it on the other node
//! directly, as a client the load balancer sent elsewhere would (after a
//! failover), since nginx sends every page of one room to one node. Each
//! sees the other's typing and caret, through the bus.
//!
//! Needs `TANDEM_TEST_DATABASE_URL` and `TANDEM_TEST_REDIS_URL` (`cargo
//! xtask test` provides them); fails, never skips, without them. nginx is
//! `TANDEM_TEST_NGINX` or `/usr/sbin/nginx`.

use tandem_e2e::{DEADLINE, Page, ServerProcess, run_test, tid};
use tandem_testkit::{DATABASE_URL_ENV, Nginx, REDIS_URL_ENV, required};

/// How many rooms `node` has loaded, from its `/metrics`.
async fn rooms_loaded(node: &ServerProcess) -> u64 {
    let (status, body) = node.get("/metrics").await;
    assert_eq!(status, 200, "{body}");
    body.lines()
        .find_map(|l| l.strip_prefix("tandem_rooms_loaded "))
        .and_then(|n| n.trim().parse::<f64>().ok())
        .map_or(0, |n| n as u64)
}

/// Waits until `page` draws the caret of the person named `name` at
/// `offset`. Found by name: a person on another node is shown under an id
/// of that node's (`bus::remote_client`), not the one their page knows.
async fn wait_for_caret_of(page: &Page, name: &str, offset: u32) {
    let js = format!(
        "const c = document.querySelector('[data-testid=\"remote-caret\"][data-name=\"{name}\"]');\
         return c ? c.getAttribute('data-offset') : null;"
    );
    let offset = offset.to_string();
    page.wait_for_script(
        &format!("{name}'s caret at offset {offset}"),
        DEADLINE,
        &js,
        |seen| (seen.as_str() == Some(&offset)).then_some(()),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_browsers_on_different_nodes_see_each_others_typing_and_carets() {
    run_test(
        "two_browsers_on_different_nodes_see_each_others_typing_and_carets",
        async |ctx| {
            let database = required(DATABASE_URL_ENV);
            let redis = required(REDIS_URL_ENV);
            let args = [
                "--store",
                "postgres",
                "--database-url",
                database.as_str(),
                "--redis-url",
                redis.as_str(),
            ];
            let nodes = [
                ServerProcess::start(&args).await,
                ServerProcess::start(&args).await,
            ];
            let addresses = nodes
                .each_ref()
                .map(|n| n.url().trim_start_matches("http://").to_string());
            let nginx = Nginx::start([addresses[0].as_str(), addresses[1].as_str()]);
            let path = format!("/d/e2e-cluster-{:08x}", fastrand_u32());
            let editor = tid("editor");

            let a = ctx.page_on(&nginx.base()).await;
            a.open_editor(&path).await;
            a.set_name("Ada").await;
            // The node nginx chose holds the room; B goes to the other.
            let loaded = [rooms_loaded(&nodes[0]).await, rooms_loaded(&nodes[1]).await];
            assert_eq!(
                loaded.iter().filter(|n| **n == 1).count(),
                1,
                "the room is loaded on one node: {loaded:?}"
            );
            let other = if loaded[0] == 1 { &nodes[1] } else { &nodes[0] };
            let b = ctx.page_on(other.url()).await;
            b.open_editor(&path).await;
            b.set_name("Grace").await;
            assert_eq!(
                [rooms_loaded(&nodes[0]).await, rooms_loaded(&nodes[1]).await],
                [1, 1],
                "each node holds the room for its page"
            );

            // A types through nginx; B, on the other node, sees the text
            // and A's caret after it.
            a.type_into(&editor, "hello").await;
            b.wait_for_value(&editor, "hello", DEADLINE).await;
            wait_for_caret_of(&b, "Ada", 5).await;

            // B types before it; A sees the text and B's caret, and A's
            // caret moves with the text on B's page.
            b.type_at(&editor, 0, "XY").await;
            a.wait_for_value(&editor, "XYhello", DEADLINE).await;
            wait_for_caret_of(&a, "Grace", 2).await;
            wait_for_caret_of(&b, "Ada", 7).await;
        },
    )
    .await;
}

/// A room name no earlier run on the same database used.
fn fastrand_u32() -> u32 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    nanos ^ std::process::id()
}
