//! The frame inspector (issue 8): after typing in A, A's inspector lists the
//! update it sent, described in words, and B's lists the one it received.

use tandem_e2e::{DEADLINE, run_test, tid};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_inspector_lists_the_update_sent_and_the_one_received() {
    run_test(
        "the_inspector_lists_the_update_sent_and_the_one_received",
        async |ctx| {
            let editor = tid("editor");
            let (a, b) = (ctx.page().await, ctx.page().await);
            a.open_editor("/d/e2e-inspector").await;
            b.open_editor("/d/e2e-inspector").await;
            for page in [&a, &b] {
                page.click(&tid("inspector-toggle")).await;
                page.wait_for(&tid("inspector"), DEADLINE).await;
            }

            a.type_into(&editor, "Hello").await;
            b.wait_for_value(&editor, "Hello", DEADLINE).await;
            a.type_at(&editor, 5, "!").await;
            b.wait_for_value(&editor, "Hello!", DEADLINE).await;

            let row = |direction: &str| {
                format!(
                    "{}[data-direction=\"{direction}\"][data-kind=\"update\"][data-summary=\"insert '!' at 5\"]",
                    tid("frame-row")
                )
            };
            a.wait_for(&row("sent"), DEADLINE).await;
            b.wait_for(&row("received"), DEADLINE).await;
            let shown = a.text(&row("sent")).await;
            assert!(
                shown.contains("insert '!' at 5"),
                "the row shows its summary: {shown:?}"
            );

            // The handshake is listed too: welcome first, in both.
            for page in [&a, &b] {
                page.wait_for(
                    &format!(
                        "{}[data-direction=\"received\"][data-kind=\"welcome\"]",
                        tid("frame-row")
                    ),
                    DEADLINE,
                )
                .await;
            }
        },
    )
    .await;
}
