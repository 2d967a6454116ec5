//! Links you can take back (issue 27), in the browser: an editor manages
//! the document's share links from the Share popover (list, create with a
//! right, a label and an expiry, copy, change the right, revoke), and what
//! the page shows when its own link is taken back or narrowed while it is
//! open.

use tandem_e2e::keys::ESCAPE;
use tandem_e2e::{DEADLINE, Page, key_of, poll, run_test, tid};
use tandem_shared::links::{LinkEntry, LinkState, Right};

/// The room's links as the API lists them to `key`'s holder.
async fn api_links(server: &tandem_e2e::TestServer, room: &str, key: &str) -> Vec<LinkEntry> {
    let path = format!("/api/rooms/{room}/links");
    let (status, body) = tandem_testkit::http(server.addr, "GET", &path, Some(key), "").await;
    assert_eq!(status, 200, "{body}");
    serde_json::from_str(&body).expect("a list of links")
}

/// The row of link `id` in the open popover.
fn row(id: &str) -> String {
    format!("[data-testid=\"link-row\"][data-link-id=\"{id}\"]")
}

/// Sets the `<select>` at `css` to `value` as a person picking it would.
async fn choose(page: &Page, css: &str, value: &str) {
    page.eval_with(
        "const s = document.querySelector(arguments[0]); s.value = arguments[1]; \
         s.dispatchEvent(new Event('change', { bubbles: true }));",
        vec![css.into(), value.into()],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_editor_manages_the_links_from_the_share_popover() {
    run_test(
        "an_editor_manages_the_links_from_the_share_popover",
        async |ctx| {
            let a = ctx.page().await;
            let doc = a.new_document().await;
            a.set_name("Ana").await;
            a.click(&tid("share")).await;
            // The two links the document came with.
            a.wait_for(&row("e"), DEADLINE).await;
            a.wait_for(&row("v"), DEADLINE).await;
            assert!(
                a.text(&row("e")).await.contains("This page's link"),
                "the page's own link is marked"
            );

            // A new view link, labelled, for a day.
            choose(&a, &tid("new-link-right"), "view").await;
            choose(&a, &tid("new-link-expiry"), "1").await;
            a.type_into(&tid("new-link-label"), "Design review").await;
            a.click(&tid("new-link-create")).await;
            a.wait_for(&tid("new-link-url"), DEADLINE).await;
            let key = key_of(&a.value(&tid("new-link-url")).await);
            let listed = api_links(&ctx.server, &doc.room, &doc.key).await;
            let made = listed.last().expect("the new link").clone();
            assert_eq!(made.key.as_deref(), Some(key.as_str()));
            assert_eq!(
                (
                    made.right,
                    made.label.as_deref(),
                    made.created_by.as_deref()
                ),
                (Right::View, Some("Design review"), Some("Ana"))
            );
            let day = made.expires_at.expect("expires") - made.created_at.expect("created");
            assert_eq!(day, 86_400_000, "1 day");
            let id = made.id.to_string();
            a.wait_for_text(&row(&id), "Design review", DEADLINE).await;
            assert!(
                a.text(&row(&id))
                    .await
                    .contains("expires in 1 day · made by Ana")
            );

            // Its right, changed from the list.
            choose(
                &a,
                &format!("{} [data-testid=\"link-right\"]", row(&id)),
                "edit",
            )
            .await;
            poll("the link to allow editing", DEADLINE, async || {
                let links = api_links(&ctx.server, &doc.room, &doc.key).await;
                match links.iter().find(|l| l.id.as_str() == id) {
                    Some(l) if l.right == Right::Edit => Ok(()),
                    other => Err(format!("{other:?}")),
                }
            })
            .await;

            // Revoking asks first, and can be cancelled.
            let revoke = format!("{} [data-testid=\"link-revoke\"]", row("v"));
            a.click(&revoke).await;
            a.click(&tid("link-revoke-cancel")).await;
            a.wait_for_gone(&tid("link-revoke-confirm"), DEADLINE).await;
            assert_eq!(
                api_links(&ctx.server, &doc.room, &doc.key).await[1].state,
                LinkState::Active
            );
            a.click(&revoke).await;
            a.click(&tid("link-revoke-confirm")).await;
            a.wait_for_attr(&row("v"), "data-state", "revoked", DEADLINE)
                .await;
            assert_eq!(
                api_links(&ctx.server, &doc.room, &doc.key).await[1].state,
                LinkState::Revoked
            );

            // The server's refusals are shown: `e` is the last edit link
            // that never expires (the new one expires in a day), so
            // revoking it is refused, and the page says why.
            a.click(&format!("{} [data-testid=\"link-revoke\"]", row("e")))
                .await;
            a.click(&tid("link-revoke-confirm")).await;
            a.wait_for_text(
                &tid("links-error"),
                "without an edit link that never expires",
                DEADLINE,
            )
            .await;
            a.press_keys(ESCAPE).await;
            a.wait_for_gone(&tid("links-manager"), DEADLINE).await;
        },
    )
    .await;
}
