//! "Saved" means kept (issue 4): once the page says Saved, the text and the
//! title survive a server restart, for the person who wrote them and for
//! someone who never had a copy in their browser.

use tandem_e2e::{DEADLINE, run_test, tid};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn saved_text_survives_a_server_restart() {
    run_test("saved_text_survives_a_server_restart", async |ctx| {
        let (editor, title, save) = (tid("editor"), tid("title"), tid("save-state"));
        let text = "Written before the restart.\nSecond line.";
        let a = ctx.page().await;
        a.open_editor("/d/e2e-durable").await;
        a.type_into(&title, "Field notes").await;
        a.type_into(&editor, text).await;
        a.wait_for_value(&editor, text, DEADLINE).await;
        a.wait_for_attr(&save, "data-state", "saved", DEADLINE)
            .await;
        a.wait_for_text(&save, "Saved", DEADLINE).await;

        ctx.server.restart().await;

        a.reload().await;
        a.open_editor("/d/e2e-durable").await;
        a.wait_for_value(&editor, text, DEADLINE).await;
        a.wait_for_value(&title, "Field notes", DEADLINE).await;
        a.wait_for_attr(&save, "data-state", "saved", DEADLINE)
            .await;

        // Someone with no copy in their browser gets it from the server.
        let b = ctx.page().await;
        b.open_editor("/d/e2e-durable").await;
        b.wait_for_value(&editor, text, DEADLINE).await;
        b.wait_for_value(&title, "Field notes", DEADLINE).await;
        let (status, body) = ctx.server.get("/api/rooms/e2e-durable/text").await;
        assert_eq!((status, body.as_str()), (200, text), "the server's copy");
    })
    .await;
}
