//! "Saved" means kept (issue 4): once the page says Saved, the text and the
//! title survive the server being killed, for someone who never had a copy
//! in their browser.
//!
//! The server is the real release binary, killed with SIGKILL (no shutdown,
//! no flush) right after the page said Saved. The page that wrote the text
//! still holds it in its document and its local copy, and would upload it
//! again on reconnecting, hiding a server that lost everything; so it is
//! kept offline until the server's own copy has been checked, through the
//! text API and a fresh browser profile.

use std::time::Duration;

use tandem_e2e::{DEADLINE, ServerProcess, run_test, tid};

/// A reconnect may wait out a few backoff steps (1 s doubling, with jitter).
const RECONNECT: Duration = Duration::from_secs(45);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn saved_text_survives_the_server_being_killed() {
    run_test("saved_text_survives_the_server_being_killed", async |ctx| {
        let (editor, title, save) = (tid("editor"), tid("title"), tid("save-state"));
        let text = "Written before the crash.\nSecond line.";
        let mut server = ServerProcess::start(&[]).await;
        let a = ctx.page_on(server.url()).await;
        a.open_editor("/d/e2e-durable").await;
        a.type_into(&title, "Field notes").await;
        a.type_into(&editor, text).await;
        a.wait_for_value(&editor, text, DEADLINE).await;
        a.wait_for_attr(&save, "data-state", "saved", DEADLINE)
            .await;
        a.wait_for_text(&save, "Saved", DEADLINE).await;

        // The moment it says Saved: SIGKILL, then A offline so it cannot
        // bring its copy back before the server's own copy is checked.
        server.kill();
        a.set_offline(true).await;
        a.wait_for_connection("offline", DEADLINE).await;
        server.restart().await;

        let (status, body) = server.get("/api/rooms/e2e-durable/text").await;
        assert_eq!(
            (status, body.as_str()),
            (200, text),
            "the server's copy after SIGKILL and restart"
        );
        // Someone with no copy in their browser gets it from the server.
        let b = ctx.page_on(server.url()).await;
        b.open_editor("/d/e2e-durable").await;
        b.wait_for_value(&editor, text, DEADLINE).await;
        b.wait_for_value(&title, "Field notes", DEADLINE).await;
        b.wait_for_attr(&save, "data-state", "saved", DEADLINE)
            .await;

        // A comes back: nothing doubles, for A, for B or on the server.
        a.set_offline(false).await;
        a.wait_for_connection("connected", RECONNECT).await;
        a.wait_for_attr(&save, "data-state", "saved", DEADLINE)
            .await;
        assert_eq!(a.value(&editor).await, text, "A's text once back");
        assert_eq!(a.value(&title).await, "Field notes", "A's title once back");
        b.wait_for_value(&editor, text, DEADLINE).await;
        let (status, body) = server.get("/api/rooms/e2e-durable/text").await;
        assert_eq!((status, body.as_str()), (200, text), "the server's copy");
    })
    .await;
}
