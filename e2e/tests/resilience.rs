//! Edits made without a connection are kept and arrive once it is back
//! (issue 5): when the server is down for a while, and when the browser
//! loses its network. In both cases the other person ends up with the text
//! exactly once, and nobody reloads anything.
//!
//! Reloading the page while the server is away is in `offline.rs`.

use tandem_e2e::{DEADLINE, Page, WsEvent, run_test, tid};

/// A reconnect may wait out a few backoff steps (1 s doubling, with jitter).
const RECONNECT: std::time::Duration = std::time::Duration::from_secs(45);

/// Waits until the page says it has no connection: `reconnecting` (waiting
/// for the next try) or `offline`, or `connecting` on its way between them.
async fn wait_disconnected(page: &Page) -> String {
    page.wait_for_script(
        "the connection badge to show no connection",
        DEADLINE,
        "return document.querySelector('[data-testid=\"connection-state\"]')\
            ?.getAttribute('data-state')",
        |state| match state.as_str() {
            Some(s @ ("reconnecting" | "offline")) => Some(s.to_owned()),
            _ => None,
        },
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn edits_made_while_the_server_is_down_arrive_once_it_is_back() {
    run_test(
        "edits_made_while_the_server_is_down_arrive_once_it_is_back",
        async |ctx| {
            let (editor, save) = (tid("editor"), tid("save-state"));
            let (a, b) = (ctx.page().await, ctx.page().await);
            a.open_editor("/d/e2e-outage").await;
            b.open_editor("/d/e2e-outage").await;
            a.type_into(&editor, "Before. ").await;
            b.wait_for_value(&editor, "Before. ", DEADLINE).await;
            a.wait_for_attr(&save, "data-state", "saved", DEADLINE)
                .await;

            ctx.server.stop().await;
            wait_disconnected(&a).await;
            a.type_at(&editor, 8, "During the outage.").await;
            a.wait_for_attr(&save, "data-state", "unsaved", DEADLINE)
                .await;
            wait_disconnected(&b).await;

            ctx.server.restart().await;
            let text = "Before. During the outage.";
            a.wait_for_connection("connected", RECONNECT).await;
            b.wait_for_connection("connected", RECONNECT).await;
            b.wait_for_value(&editor, text, DEADLINE).await;
            a.wait_for_attr(&save, "data-state", "saved", DEADLINE)
                .await;
            a.wait_for_value(&editor, text, DEADLINE).await;
            let (status, body) = ctx.server.get("/api/rooms/e2e-outage/text").await;
            assert_eq!((status, body.as_str()), (200, text), "the server's copy");
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn edits_made_offline_arrive_once_the_network_is_back() {
    run_test(
        "edits_made_offline_arrive_once_the_network_is_back",
        async |ctx| {
            let (editor, save) = (tid("editor"), tid("save-state"));
            let (a, b) = (ctx.page().await, ctx.page().await);
            a.open_editor("/d/e2e-offline").await;
            b.open_editor("/d/e2e-offline").await;
            a.type_into(&editor, "Online. ").await;
            b.wait_for_value(&editor, "Online. ", DEADLINE).await;
            a.wait_for_attr(&save, "data-state", "saved", DEADLINE)
                .await;

            a.set_offline(true).await;
            a.wait_for_connection("offline", DEADLINE).await;
            a.wait_for_ws_event("A's socket to close", DEADLINE, |e| {
                matches!(e, WsEvent::Closed { .. })
            })
            .await;
            a.type_at(&editor, 8, "Offline.").await;
            a.wait_for_attr(&save, "data-state", "unsaved", DEADLINE)
                .await;

            a.set_offline(false).await;
            let text = "Online. Offline.";
            a.wait_for_connection("connected", RECONNECT).await;
            b.wait_for_value(&editor, text, DEADLINE).await;
            a.wait_for_attr(&save, "data-state", "saved", DEADLINE)
                .await;
            a.wait_for_value(&editor, text, DEADLINE).await;
            b.wait_for_connection("connected", DEADLINE).await;
            let (status, body) = ctx.server.get("/api/rooms/e2e-offline/text").await;
            assert_eq!((status, body.as_str()), (200, text), "the server's copy");
        },
    )
    .await;
}
