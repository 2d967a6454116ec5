//! Version history in the browser (issue 15): two pages on one document, one
//! names a version and later restores it, and both show the restored text
//! while their History lists show the restore; a view-link page at phone
//! width browses the history by keyboard without any restore control; and
//! the server refuses a restore without the edit key.

use tandem_e2e::keys::{ARROW_DOWN, ESCAPE};
use tandem_e2e::{DEADLINE, Page, key_of, run_test, tid};

/// A new protected document typed into by `page`; its room, edit and view
/// links.
async fn new_document(page: &Page, text: &str) -> (String, String, String) {
    let doc = page.new_document().await;
    page.type_into(&tid("editor"), text).await;
    page.wait_for_attr(&tid("save-state"), "data-state", "saved", DEADLINE)
        .await;
    let (edit, view) = page.share_links().await;
    (doc.room, edit, view)
}

/// `POST path` with an optional bearer key: the status and body.
async fn post(
    addr: std::net::SocketAddr,
    path: &str,
    key: Option<&str>,
    body: &str,
) -> (u16, String) {
    tandem_testkit::http(addr, "POST", path, key, body).await
}

const FIRST_ROW: &str =
    "[data-testid=\"history-list\"] [data-testid=\"history-item\"]:first-of-type";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restore_reaches_both_pages_and_both_lists() {
    run_test("a_restore_reaches_both_pages_and_both_lists", async |ctx| {
        let editor = tid("editor");
        let a = ctx.page().await;
        let (_, edit_link, _) = new_document(&a, "First draft.").await;
        let b = ctx.page().await;
        b.open_editor(&edit_link).await;
        b.wait_for_value(&editor, "First draft.", DEADLINE).await;

        // Ana names the current state from the History panel.
        a.click(&tid("history-toggle")).await;
        a.wait_for(&tid("history-panel"), DEADLINE).await;
        a.type_into(&tid("history-label"), "Sent to Bo").await;
        a.click(&tid("history-name")).await;
        a.wait_for_text(FIRST_ROW, "Sent to Bo", DEADLINE).await;

        // Bo keeps writing; Ana's open panel keeps the live document beside it.
        b.type_at(&editor, 12, " Second thoughts.").await;
        a.wait_for_value(&editor, "First draft. Second thoughts.", DEADLINE)
            .await;
        b.wait_for_attr(&tid("save-state"), "data-state", "saved", DEADLINE)
            .await;

        // Ana picks the named version: its text, and what changed since.
        let named = "[data-testid=\"history-item\"].named";
        a.click(named).await;
        a.wait_for_text(&tid("history-preview"), "First draft.", DEADLINE)
            .await;
        // Bo's words are an insertion of their own, named after Bo: the
        // diff cuts insertions where their author changes (issue 28).
        let inserted = "return [...document.querySelectorAll('[data-testid=\"history-preview\"] ins')]\
                        .map(ins => [ins.textContent, ins.getAttribute('data-author')]);";
        a.wait_for_script("Bo's insertion in the diff", DEADLINE, inserted, |seen| {
            let pieces = seen.as_array()?;
            let bo = pieces.iter().find(|p| p[0].as_str() == Some(" Second thoughts."))?;
            let ana = pieces.iter().find(|p| p[0].as_str() == Some("draft."))?;
            (bo[1] != ana[1]).then_some(())
        })
        .await;
        a.click(&tid("history-restore")).await;

        // Both pages show the restored text…
        a.wait_for_value(&editor, "First draft.", DEADLINE).await;
        b.wait_for_value(&editor, "First draft.", DEADLINE).await;
        // …and both lists show the restore on top.
        a.wait_for_attr(FIRST_ROW, "data-kind", "restore", DEADLINE)
            .await;
        b.click(&tid("history-toggle")).await;
        b.wait_for_attr(FIRST_ROW, "data-kind", "restore", DEADLINE)
            .await;
        b.wait_for_text(FIRST_ROW, "Restored an earlier version", DEADLINE)
            .await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_view_link_browses_the_history_without_restoring() {
    run_test("a_view_link_browses_the_history_without_restoring", async |ctx| {
        let a = ctx.page().await;
        let (room, edit_link, view_link) = new_document(&a, "Version one.").await;
        let (edit_key, view_key) = (key_of(&edit_link), key_of(&view_link));
        let addr = ctx.server.addr;
        let versions = format!("/api/rooms/{room}/versions");
        let (status, body) = post(addr, &versions, Some(&edit_key), r#"{"label":"one"}"#).await;
        assert_eq!(status, 201, "{body}");
        let first: serde_json::Value = serde_json::from_str(&body).expect("a version");
        a.type_at(&tid("editor"), 12, " Version two.").await;
        a.wait_for_attr(&tid("save-state"), "data-state", "saved", DEADLINE)
            .await;
        let (status, body) = post(addr, &versions, Some(&edit_key), r#"{"label":"two"}"#).await;
        assert_eq!(status, 201, "{body}");

        // A reader on a phone-width screen.
        let b = ctx.page().await;
        b.set_viewport(390, 800).await;
        b.open_editor(&view_link).await;
        b.wait_for(&tid("read-only-banner"), DEADLINE).await;
        b.click(&tid("history-toggle")).await;
        b.wait_for_text(FIRST_ROW, "two", DEADLINE).await;
        let width = b
            .eval("return document.querySelector('[data-testid=\"history-panel\"]').getBoundingClientRect().width")
            .await;
        assert!(
            width.as_f64().is_some_and(|w| w > 0.0 && w <= 390.0),
            "the panel fits a 390 px screen: {width}"
        );
        assert!(!b.is_present(&tid("history-restore")).await, "no restore for a view link");
        assert!(!b.is_present(&tid("history-name")).await, "no naming for a view link");

        // Arrow keys move through the list; the preview follows.
        b.click(FIRST_ROW).await;
        b.wait_for_text(&tid("history-preview"), "Version two.", DEADLINE)
            .await;
        b.press_keys(ARROW_DOWN).await;
        let second = format!("#history-version-{}", first["id"]);
        b.wait_for_attr(&second, "aria-selected", "true", DEADLINE)
            .await;
        let preview = tid("history-preview");
        b.wait_for_text(&format!("{preview} ins"), "two.", DEADLINE)
            .await;
        b.press_keys(ESCAPE).await;
        tandem_e2e::poll("the panel to close", DEADLINE, async || {
            if b.is_present(&tid("history-panel")).await {
                Err("the panel is still open".to_owned())
            } else {
                Ok(())
            }
        })
        .await;

        // The server refuses a restore without the edit key.
        let id = first["id"].as_u64().expect("an id");
        let restore = format!("/api/rooms/{room}/versions/{id}/restore");
        let (status, body) = post(addr, &restore, Some(&view_key), "").await;
        assert_eq!(status, 403, "{body}");
        let (status, body) = post(addr, &restore, None, "").await;
        assert_eq!(status, 403, "{body}");
        let (status, text) = ctx.server.get(&format!("/api/rooms/{room}/text?key={view_key}")).await;
        assert_eq!((status, text.as_str()), (200, "Version one. Version two."), "nothing was restored");
    })
    .await;
}
