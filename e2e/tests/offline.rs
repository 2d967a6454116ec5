//! A document page reloads while the server is away (the service worker
//! keeps the app shell; the local copy keeps the text), and what was typed
//! offline — before and after the reload — reaches the others exactly once
//! when the server is back (issue 5).

use std::time::Duration;

use tandem_e2e::{DEADLINE, run_test, tid};

/// A reconnect may wait out a few backoff steps (1 s doubling, with jitter).
const RECONNECT: Duration = Duration::from_secs(45);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_reloaded_while_the_server_is_down_keeps_its_offline_edits() {
    run_test(
        "a_page_reloaded_while_the_server_is_down_keeps_its_offline_edits",
        async |ctx| {
            let (editor, save) = (tid("editor"), tid("save-state"));
            let (a, b) = (ctx.page().await, ctx.page().await);
            a.open_editor("/d/e2e-offline-reload").await;
            b.open_editor("/d/e2e-offline-reload").await;
            a.type_into(&editor, "Online. ").await;
            b.wait_for_value(&editor, "Online. ", DEADLINE).await;
            a.wait_for_attr(&save, "data-state", "saved", DEADLINE)
                .await;
            // The worker has the shell once it controls the page.
            a.wait_for_script(
                "the service worker to control the page",
                DEADLINE,
                "return navigator.serviceWorker && navigator.serviceWorker.controller !== null",
                |ready| ready.as_bool().filter(|r| *r),
            )
            .await;

            ctx.server.stop().await;
            a.type_at(&editor, 8, "Offline one. ").await;
            a.wait_for_attr(&save, "data-state", "unsaved", DEADLINE)
                .await;
            // Reloading with the server gone: the page comes from the worker,
            // the text from the local copy.
            a.reload().await;
            a.wait_for_value(&editor, "Online. Offline one. ", DEADLINE)
                .await;
            a.type_at(&editor, 21, "Offline two.").await;
            a.wait_for_attr(&save, "data-state", "unsaved", DEADLINE)
                .await;

            ctx.server.restart().await;
            let text = "Online. Offline one. Offline two.";
            a.wait_for_connection("connected", RECONNECT).await;
            b.wait_for_connection("connected", RECONNECT).await;
            b.wait_for_value(&editor, text, DEADLINE).await;
            a.wait_for_attr(&save, "data-state", "saved", DEADLINE)
                .await;
            let (status, body) = ctx.server.get("/api/rooms/e2e-offline-reload/text").await;
            assert_eq!(
                (status, body.as_str()),
                (200, text),
                "the server has it exactly once"
            );
        },
    )
    .await;
}
