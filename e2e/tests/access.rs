//! Share links grant exactly what they name (issue 7): the view link shows
//! the document read-only and typing into it changes nothing, neither on
//! the reader's screen nor on the server; the edit link edits.

use tandem_e2e::{DEADLINE, key_of, run_test, tid};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_view_link_reads_and_an_edit_link_edits() {
    run_test("a_view_link_reads_and_an_edit_link_edits", async |ctx| {
        let (editor, save) = (tid("editor"), tid("save-state"));
        let a = ctx.page().await;
        let room = a.new_document().await.room;
        a.type_into(&editor, "Only editors write here.").await;
        a.wait_for_attr(&save, "data-state", "saved", DEADLINE)
            .await;

        let (edit_link, view_link) = a.share_links().await;
        let (edit_key, view_key) = (key_of(&edit_link), key_of(&view_link));
        assert!(
            edit_key.starts_with("e.") && view_key.starts_with("v."),
            "the popover offers an edit link ({edit_link}) and a view link ({view_link})"
        );

        // The reader sees the text, marked view-only, in a read-only field.
        let b = ctx.page().await;
        b.open_editor(&view_link).await;
        b.wait_for(&tid("read-only-banner"), DEADLINE).await;
        b.wait_for_value(&editor, "Only editors write here.", DEADLINE)
            .await;
        let read_only = b
            .eval("return document.querySelector('[data-testid=\"editor\"]').readOnly")
            .await;
        assert_eq!(read_only, true, "the view link's editor is read-only");

        // Typing into it changes nothing on the reader's screen…
        b.click(&editor).await;
        b.press_keys("XYZ").await;
        b.set_caret(&editor, 0).await;
        b.press_keys("Q").await;
        assert_eq!(
            b.value(&editor).await,
            "Only editors write here.",
            "typing into a view-only editor changes nothing"
        );

        // …nor anywhere else: the editor's next words reach the reader (so
        // the room has handled whatever the reader sent before them), the
        // reader was not cut off for sending an edit, and the server's copy
        // is only the editor's.
        a.type_at(&editor, 24, " Readers read.").await;
        let text = "Only editors write here. Readers read.";
        b.wait_for_value(&editor, text, DEADLINE).await;
        a.wait_for_attr(&save, "data-state", "saved", DEADLINE)
            .await;
        b.wait_for_connection("connected", DEADLINE).await;
        a.wait_for_value(&editor, text, DEADLINE).await;
        let (status, body) = ctx
            .server
            .get(&format!("/api/rooms/{room}/text?key={view_key}"))
            .await;
        assert_eq!((status, body.as_str()), (200, text), "the server's copy");
        let (status, _) = ctx.server.get(&format!("/api/rooms/{room}/text")).await;
        assert_eq!(
            status, 403,
            "a protected document is not readable without a key"
        );

        // The edit link edits.
        let c = ctx.page().await;
        c.open_editor(&edit_link).await;
        c.wait_for_value(&editor, text, DEADLINE).await;
        assert!(
            !c.is_present(&tid("read-only-banner")).await,
            "the edit link is not view-only"
        );
        c.type_at(&editor, 38, " Editors edit.").await;
        let text = "Only editors write here. Readers read. Editors edit.";
        a.wait_for_value(&editor, text, DEADLINE).await;
        b.wait_for_value(&editor, text, DEADLINE).await;
        c.wait_for_attr(&save, "data-state", "saved", DEADLINE)
            .await;
        let (status, body) = ctx
            .server
            .get(&format!("/api/rooms/{room}/text?key={edit_key}"))
            .await;
        assert_eq!((status, body.as_str()), (200, text), "the server's copy");

        // A document opened by name is open to anyone with its address, so
        // its popover offers just that address and no keys.
        c.open_editor("/d/open-by-name").await;
        c.click(&tid("share")).await;
        c.wait_for(&tid("share-url"), DEADLINE).await;
        let link = c.value(&tid("share-url")).await;
        assert!(link.ends_with("/d/open-by-name"), "{link}");
        assert!(
            !c.is_present(&tid("share-edit-url")).await
                && !c.is_present(&tid("share-view-url")).await,
            "an open document has no edit or view keys to hand out"
        );
    })
    .await;
}
