//! Editing while someone else edits (issue 18): undo and redo take back
//! only this person's words, an IME composition comes out right while
//! other people's edits arrive, two tabs of one browser on one document
//! converge like two people, and a tab closed while offline does not lose
//! its edits to another tab writing the local copy they share.

use std::time::Duration;

use fantoccini::key::Key;
use tandem_e2e::{DEADLINE, NativePeer, poll, run_test, tid};

/// A reconnect may wait out a few backoff steps (1 s doubling, with jitter).
const RECONNECT: Duration = Duration::from_secs(45);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn undo_and_redo_take_back_only_this_persons_edits() {
    run_test(
        "undo_and_redo_take_back_only_this_persons_edits",
        async |ctx| {
            let editor = tid("editor");
            let peer = NativePeer::join(&ctx.server.ws_base(), "e2e-undo", None, "Grace").await;
            peer.insert(0, "theirs").await;
            let page = ctx.page().await;
            page.open_editor("/d/e2e-undo").await;
            page.wait_for_value(&editor, "theirs", DEADLINE).await;

            // This person adds a word; the other person then types around it.
            page.set_caret(&editor, 6).await;
            page.insert_text(" mine").await;
            peer.wait_for_text("theirs mine", DEADLINE).await;
            peer.insert(0, "[").await;
            peer.insert(12, "]").await;
            page.wait_for_value(&editor, "[theirs mine]", DEADLINE)
                .await;

            // Ctrl+Z takes back this person's word, not the newer brackets.
            page.press_shortcut(&[Key::Control], 'z').await;
            page.wait_for_value(&editor, "[theirs]", DEADLINE).await;
            peer.wait_for_text("[theirs]", DEADLINE).await;

            // The other person types on; Ctrl+Shift+Z puts the word back
            // where it was, among their edits.
            peer.insert(8, "!").await;
            page.wait_for_value(&editor, "[theirs]!", DEADLINE).await;
            page.press_shortcut(&[Key::Control, Key::Shift], 'z').await;
            page.wait_for_value(&editor, "[theirs mine]!", DEADLINE)
                .await;
            peer.wait_for_text("[theirs mine]!", DEADLINE).await;

            // Ctrl+Y redoes too. A second Ctrl+Z has nothing of this
            // person's left to take back: the other person's text stays.
            page.press_shortcut(&[Key::Control], 'z').await;
            page.wait_for_value(&editor, "[theirs]!", DEADLINE).await;
            page.press_shortcut(&[Key::Control], 'y').await;
            page.wait_for_value(&editor, "[theirs mine]!", DEADLINE)
                .await;
            page.press_shortcut(&[Key::Control], 'z').await;
            page.press_shortcut(&[Key::Control], 'z').await;
            peer.insert(0, ">").await;
            let text = ">[theirs]!";
            page.wait_for_value(&editor, text, DEADLINE).await;
            peer.wait_for_text(text, DEADLINE).await;
            page.wait_for_attr(&tid("save-state"), "data-state", "saved", DEADLINE)
                .await;
            let (status, body) = ctx.server.get("/api/rooms/e2e-undo/text").await;
            assert_eq!((status, body.as_str()), (200, text), "the server's copy");
        },
    )
    .await;
}

/// How many updates the page has received, as its frame inspector lists
/// them (whatever it then did with each).
const UPDATES_RECEIVED: &str = "return document.querySelectorAll('[data-testid=\"frame-row\"]\
    [data-direction=\"received\"][data-kind=\"update\"]').length";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ime_composition_comes_out_right_while_remote_edits_arrive() {
    run_test(
        "an_ime_composition_comes_out_right_while_remote_edits_arrive",
        async |ctx| {
            let editor = tid("editor");
            let peer = NativePeer::join(&ctx.server.ws_base(), "e2e-ime", None, "Grace").await;
            peer.insert(0, "Hello world").await;
            let page = ctx.page().await;
            page.open_editor("/d/e2e-ime").await;
            page.wait_for_value(&editor, "Hello world", DEADLINE).await;
            // The inspector lists each update the page takes in.
            page.click(&tid("inspector-toggle")).await;
            page.wait_for(&tid("inspector"), DEADLINE).await;
            let before = page.eval(UPDATES_RECEIVED).await.as_u64().unwrap_or(0);

            // Composing "世界" before "world", as a Japanese IME does...
            page.set_caret(&editor, 6).await;
            for step in ["s", "せ", "せk", "せか", "せかい"] {
                page.compose(step).await;
            }
            // ...while the other person types before and after it, and the
            // page takes both edits in before the composition ends.
            peer.insert(0, ">> ").await;
            peer.insert(14, "!").await;
            page.wait_for_script(
                "both remote updates to reach the page during the composition",
                DEADLINE,
                UPDATES_RECEIVED,
                |seen| (seen.as_u64()? >= before + 2).then_some(()),
            )
            .await;

            // The IME commits: the composed text and the remote edits, each
            // where it was typed, for both; the caret after the composed text.
            page.insert_text("世界 ").await;
            let text = ">> Hello 世界 world!";
            page.wait_for_value(&editor, text, DEADLINE).await;
            peer.wait_for_text(text, DEADLINE).await;
            let caret = u64::try_from(">> Hello 世界 ".encode_utf16().count()).unwrap_or(0);
            assert_eq!(
                page.selection(&editor).await,
                (caret, caret),
                "the caret stays after the composed text"
            );
            page.wait_for_attr(&tid("save-state"), "data-state", "saved", DEADLINE)
                .await;
            let (status, body) = ctx.server.get("/api/rooms/e2e-ime/text").await;
            assert_eq!((status, body.as_str()), (200, text), "the server's copy");
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_tabs_of_one_browser_converge_and_both_show_saved() {
    run_test(
        "two_tabs_of_one_browser_converge_and_both_show_saved",
        async |ctx| {
            let (editor, save) = (tid("editor"), tid("save-state"));
            // One browser, one profile: the tabs share storage (the local
            // copy of the document, the person's name) but not a connection.
            // (Windows rather than tabs: a background tab's timers are
            // throttled, which only makes the test slower.)
            let page = ctx.page().await;
            page.open_editor("/d/e2e-two-tabs").await;
            page.type_into(&editor, "One. ").await;
            page.wait_for_attr(&save, "data-state", "saved", DEADLINE)
                .await;
            let first = page.window().await;
            let first_id = page.client_id().await;
            let second = page.open_window().await;
            page.open_editor("/d/e2e-two-tabs").await;
            page.wait_for_value(&editor, "One. ", DEADLINE).await;
            let second_id = page.client_id().await;
            assert_ne!(first_id, second_id, "each tab has its own connection");

            // Each tab types without having seen the other's words: the
            // second with its network cut, the first meanwhile.
            page.set_offline(true).await;
            page.wait_for_connection("offline", DEADLINE).await;
            page.type_at(&editor, 5, "Two.").await;
            page.wait_for_attr(&save, "data-state", "unsaved", DEADLINE)
                .await;
            page.switch_to(&first).await;
            page.type_at(&editor, 0, "Zero. ").await;
            // The tabs share the local copy: when the first tab writes its
            // own, it may already merge the second tab's stored "Two." (and
            // send it on), so either text is right here.
            page.wait_for_script(
                "the first tab's text to hold its own edit",
                DEADLINE,
                r#"return document.querySelector('[data-testid="editor"]').value;"#,
                |value| {
                    let value = value.as_str()?;
                    ["Zero. One. ", "Zero. One. Two."]
                        .contains(&value)
                        .then_some(())
                },
            )
            .await;
            page.wait_for_attr(&save, "data-state", "saved", DEADLINE)
                .await;
            page.switch_to(&second).await;
            page.set_offline(false).await;
            page.wait_for_connection("connected", RECONNECT).await;

            let text = "Zero. One. Two.";
            for window in [&first, &second] {
                page.switch_to(window).await;
                page.wait_for_value(&editor, text, DEADLINE).await;
                page.wait_for_attr(&save, "data-state", "saved", DEADLINE)
                    .await;
                page.wait_for_text(&save, "Saved", DEADLINE).await;
            }
            let (status, body) = ctx.server.get("/api/rooms/e2e-two-tabs/text").await;
            assert_eq!((status, body.as_str()), (200, text), "the server's copy");
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_closed_offline_tabs_edits_survive_another_tab_writing_the_local_copy() {
    run_test(
        "a_closed_offline_tabs_edits_survive_another_tab_writing_the_local_copy",
        async |ctx| {
            let (editor, save) = (tid("editor"), tid("save-state"));
            let room = "e2e-tabs-copy";
            let page = ctx.page().await;
            page.open_editor("/d/e2e-tabs-copy").await;
            page.type_into(&editor, "One. ").await;
            page.wait_for_attr(&save, "data-state", "saved", DEADLINE)
                .await;
            let first = page.window().await;

            // A second tab edits offline and is closed: its edit is only in
            // the local copy the tabs share.
            page.open_window().await;
            page.open_editor("/d/e2e-tabs-copy").await;
            page.wait_for_value(&editor, "One. ", DEADLINE).await;
            page.set_offline(true).await;
            page.wait_for_connection("offline", DEADLINE).await;
            page.type_at(&editor, 5, "Two.").await;
            page.wait_for_attr(&save, "data-state", "unsaved", DEADLINE)
                .await;
            poll("the offline edit in the local copy", DEADLINE, async || {
                let copy = page.stored_copy(room).await;
                (copy.body == "One. Two.")
                    .then_some(())
                    .ok_or(format!("{copy:?}"))
            })
            .await;
            if let Err(err) = page.client().close_window().await {
                panic!("cannot close the offline window: {err}");
            }

            // The first tab, still online, edits and writes the copy: it
            // takes the closed tab's edit in and sends it on.
            page.switch_to(&first).await;
            page.type_at(&editor, 0, "Zero. ").await;
            let text = "Zero. One. Two.";
            page.wait_for_value(&editor, text, DEADLINE).await;
            page.wait_for_attr(&save, "data-state", "saved", DEADLINE)
                .await;
            poll("the copy to hold both tabs' edits", DEADLINE, async || {
                let copy = page.stored_copy(room).await;
                (copy.body == text).then_some(()).ok_or(format!("{copy:?}"))
            })
            .await;
            poll("the unsaved flag cleared", DEADLINE, async || {
                let copy = page.stored_copy(room).await;
                (!copy.unsaved).then_some(()).ok_or(format!("{copy:?}"))
            })
            .await;
            let (status, body) = ctx.server.get("/api/rooms/e2e-tabs-copy/text").await;
            assert_eq!((status, body.as_str()), (200, text), "the server's copy");

            // A new tab shows both edits.
            page.open_window().await;
            page.open_editor("/d/e2e-tabs-copy").await;
            page.wait_for_value(&editor, text, DEADLINE).await;
            page.wait_for_attr(&save, "data-state", "saved", DEADLINE)
                .await;
        },
    )
    .await;
}
