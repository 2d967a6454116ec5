//! Presence as the others see it (issue 6): who is here, where their caret
//! is as the text changes around it, and no ghost once they have gone.

use tandem_e2e::{DEADLINE, Page, run_test, tid};

/// The `data-offset` of `client_id`'s caret in `page`'s editor, once it is
/// drawn and equal to `offset`. Carets are zero-width marks over the text,
/// so this reads the attribute rather than asking whether they are visible.
async fn wait_for_caret(page: &Page, client_id: &str, name: &str, offset: u32) {
    let js = format!(
        "const c = document.querySelector('[data-testid=\"remote-caret\"][data-client-id=\"{client_id}\"]');\
         return c ? [c.getAttribute('data-offset'), c.getAttribute('data-name')] : null;"
    );
    let offset = offset.to_string();
    page.wait_for_script(
        &format!("{name}'s caret at offset {offset}"),
        DEADLINE,
        &js,
        |seen| (seen[0].as_str() == Some(&offset) && seen[1] == name).then_some(()),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn others_see_who_is_here_and_where_their_caret_is() {
    run_test(
        "others_see_who_is_here_and_where_their_caret_is",
        async |ctx| {
            let editor = tid("editor");
            let (a, b) = (ctx.page().await, ctx.page().await);
            a.open_editor("/d/e2e-presence").await;
            a.set_name("Ada Lovelace").await;
            b.open_editor("/d/e2e-presence").await;
            let a_id = a.client_id().await;
            let b_id = b.client_id().await;

            // Each sees the other, by name.
            let ada = format!("{}[data-client-id=\"{a_id}\"]", tid("participant"));
            b.wait_for(&format!("{ada}[data-name=\"Ada Lovelace\"]"), DEADLINE)
                .await;
            b.wait_for_attr(&tid("participants"), "data-count", "2", DEADLINE)
                .await;
            a.wait_for(
                &format!("{}[data-client-id=\"{b_id}\"]", tid("participant")),
                DEADLINE,
            )
            .await;

            // A's caret follows A's typing…
            a.type_into(&editor, "hello").await;
            b.wait_for_value(&editor, "hello", DEADLINE).await;
            wait_for_caret(&b, &a_id, "Ada Lovelace", 5).await;

            // …and stays after A's "hello" when B types before it.
            b.type_at(&editor, 0, "XY").await;
            a.wait_for_value(&editor, "XYhello", DEADLINE).await;
            wait_for_caret(&b, &a_id, "Ada Lovelace", 7).await;

            // A renamed: B sees the new name.
            a.set_name("Ada L.").await;
            b.wait_for(&format!("{ada}[data-name=\"Ada L.\"]"), DEADLINE)
                .await;

            // A leaves (the browser closes): no ghost on B's page.
            a.close().await;
            b.wait_for_script(
                "A's avatar and caret to disappear from B's page",
                DEADLINE,
                &format!("return document.querySelectorAll('[data-client-id=\"{a_id}\"]').length"),
                |n| (n == 0).then_some(()),
            )
            .await;
            b.wait_for_attr(&tid("participants"), "data-count", "1", DEADLINE)
                .await;
        },
    )
    .await;
}
