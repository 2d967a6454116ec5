//! Links you can take back (issue 27), in the browser: an editor manages
//! the document's share links from the Share popover (list, create with a
//! right, a label and an expiry, copy, change the right, revoke), and what
//! the page shows when its own link is taken back or narrowed while it is
//! open: revoked, "This link no longer works", its unsent text kept, no
//! reconnecting; narrowed, read-only at once, without a reload. Both
//! notices are checked with axe-core as they show.

use tandem_e2e::accessibility::assert_accessible;
use tandem_e2e::keys::ESCAPE;
use tandem_e2e::{DEADLINE, Page, key_of, poll, run_test, tid};
use tandem_shared::close::CloseCode;
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
            // The quick view link at the top was that one: it goes with it
            // (no other view link is left to offer).
            a.wait_for_gone(&tid("share-view-url"), DEADLINE).await;

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

/// A new link of `room` granting `right`, made through the API with the
/// editor's `key`: its id and its page's path.
async fn new_link(
    server: &tandem_e2e::TestServer,
    room: &str,
    key: &str,
    right: &str,
) -> (String, String) {
    let path = format!("/api/rooms/{room}/links");
    let body = format!("{{\"right\":\"{right}\",\"label\":\"Reviewer\"}}");
    let (status, answer) = tandem_testkit::http(server.addr, "POST", &path, Some(key), &body).await;
    assert_eq!(status, 201, "{answer}");
    let link: LinkEntry = serde_json::from_str(&answer).expect("a link");
    let key = link.key.expect("an active link's key");
    (link.id.to_string(), format!("/d/{room}#key={key}"))
}

/// Revokes link `id` from `page`'s Share popover, as its editor would.
async fn revoke_from_popover(page: &Page, id: &str) {
    page.click(&tid("share")).await;
    page.click(&format!("{} [data-testid=\"link-revoke\"]", row(id)))
        .await;
    page.click(&tid("link-revoke-confirm")).await;
    page.wait_for_attr(&row(id), "data-state", "revoked", DEADLINE)
        .await;
    page.press_keys(ESCAPE).await;
}

/// Whether the editor of `page` refuses typing.
async fn editor_read_only(page: &Page) -> bool {
    page.eval("return document.querySelector('[data-testid=\"editor\"]').readOnly")
        .await
        == serde_json::Value::Bool(true)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_whose_link_is_revoked_says_so_keeps_its_text_and_stays_closed() {
    run_test(
        "a_page_whose_link_is_revoked_says_so_keeps_its_text_and_stays_closed",
        async |ctx| {
            let (editor, save, notice) = (tid("editor"), tid("save-state"), tid("access-notice"));
            let owner = ctx.page().await;
            let doc = owner.new_document().await;
            let (id, path) = new_link(&ctx.server, &doc.room, &doc.key, "edit").await;

            // Two pages edit with the link: one live, one about to go offline.
            let live = ctx.page().await;
            live.record_connection().await;
            live.open_editor(&path).await;
            live.wait_for_connection("connected", DEADLINE).await;
            live.type_into(&editor, "Live. ").await;
            live.wait_for_attr(&save, "data-state", "saved", DEADLINE)
                .await;
            let away = ctx.page().await;
            away.record_connection().await;
            away.open_editor(&path).await;
            away.wait_for_value(&editor, "Live. ", DEADLINE).await;
            away.set_offline(true).await;
            away.wait_for_connection("offline", DEADLINE).await;
            away.set_caret(&editor, 6).await;
            away.press_keys("Written away.").await;
            away.wait_for_attr(&save, "data-state", "unsaved", DEADLINE)
                .await;

            revoke_from_popover(&owner, &id).await;

            // The live page is cut at once and says why.
            live.wait_for_attr(&notice, "data-state", "revoked", DEADLINE)
                .await;
            live.wait_for_text(&notice, "This link no longer works", DEADLINE)
                .await;
            live.wait_for_text(&notice, "This link was revoked.", DEADLINE)
                .await;
            live.wait_for_connection("closed", DEADLINE).await;
            assert!(editor_read_only(&live).await, "nothing more to type into");
            assert_eq!(
                live.value(&editor).await,
                "Live. ",
                "the text stays on screen"
            );
            assert_accessible(&live, "a page whose link was revoked").await;

            // The page that was away comes back: refused, told, its
            // unsent text kept and offered to copy, and it does not retry.
            away.set_offline(false).await;
            away.wait_for_attr(&notice, "data-state", "revoked", DEADLINE)
                .await;
            away.wait_for_connection("closed", DEADLINE).await;
            assert_eq!(away.value(&editor).await, "Live. Written away.");
            away.wait_for_attr(&save, "data-state", "unsaved", DEADLINE)
                .await;
            away.wait_for_text(&save, "kept in this browser", DEADLINE)
                .await;
            away.wait_for_text(&tid("access-notice-kept"), "kept in this browser", DEADLINE)
                .await;
            away.click(&tid("access-copy-text")).await;
            away.wait_for_text(&tid("access-copy-text"), "Copied", DEADLINE)
                .await;
            assert!(
                !away.is_present(&tid("retry-now")).await,
                "nothing to retry"
            );
            for page in [&live, &away] {
                let revoked = CloseCode::AccessRevoked.number();
                let closes = page.closes().await;
                assert_eq!(
                    closes.iter().filter(|(code, _)| *code == revoked).count(),
                    1,
                    "one 4006, never tried again: {closes:?}"
                );
                // Once closed for good, the badge never went back to
                // connecting or reconnecting.
                let states = page.connection_states().await;
                let closed = states
                    .iter()
                    .position(|s| s.starts_with("closed"))
                    .expect("a closed state");
                assert!(
                    states[closed..].iter().all(|s| s.starts_with("closed")),
                    "no reconnect after the 4006: {states:?}"
                );
            }
            // The server kept what was saved, not what was refused.
            let (status, text) = ctx
                .server
                .get(&format!("/api/rooms/{}/text?key={}", doc.room, doc.key))
                .await;
            assert_eq!((status, text.as_str()), (200, "Live. "));
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_narrowed_link_turns_the_editor_read_only_live() {
    run_test(
        "a_narrowed_link_turns_the_editor_read_only_live",
        async |ctx| {
            let (editor, save, notice) = (tid("editor"), tid("save-state"), tid("access-notice"));
            let owner = ctx.page().await;
            let doc = owner.new_document().await;
            let (id, path) = new_link(&ctx.server, &doc.room, &doc.key, "edit").await;
            let guest = ctx.page().await;
            guest.open_editor(&path).await;
            guest.wait_for_connection("connected", DEADLINE).await;
            guest.type_into(&editor, "Before.").await;
            guest
                .wait_for_attr(&save, "data-state", "saved", DEADLINE)
                .await;
            assert!(!guest.is_present(&tid("read-only-banner")).await);

            // The owner makes the link view-only from the popover.
            owner.click(&tid("share")).await;
            choose(
                &owner,
                &format!("{} [data-testid=\"link-right\"]", row(&id)),
                "view",
            )
            .await;
            poll("the link to be view-only", DEADLINE, async || {
                let links = api_links(&ctx.server, &doc.room, &doc.key).await;
                match links.iter().find(|l| l.id.as_str() == id) {
                    Some(l) if l.right == Right::View => Ok(()),
                    other => Err(format!("{other:?}")),
                }
            })
            .await;

            // The guest's page follows without a reload: read-only, and says why.
            guest.wait_for(&tid("read-only-banner"), DEADLINE).await;
            guest
                .wait_for_attr(&notice, "data-state", "downgraded", DEADLINE)
                .await;
            guest
                .wait_for_text(&notice, "An editor made this link view-only.", DEADLINE)
                .await;
            assert_accessible(&guest, "a page whose link was made view-only").await;
            poll("the editor to refuse typing", DEADLINE, async || {
                if editor_read_only(&guest).await {
                    Ok(())
                } else {
                    Err("still editable".to_owned())
                }
            })
            .await;
            guest.click(&editor).await;
            guest.press_keys("XYZ").await;
            assert_eq!(
                guest.value(&editor).await,
                "Before.",
                "typing changes nothing"
            );
            // Still connected, reading along live.
            owner.press_keys(ESCAPE).await;
            owner.type_at(&editor, 7, " After.").await;
            guest
                .wait_for_value(&editor, "Before. After.", DEADLINE)
                .await;
            guest.wait_for_connection("connected", DEADLINE).await;
        },
    )
    .await;
}
