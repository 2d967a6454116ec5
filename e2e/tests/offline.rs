//! A document page reloads while the server is away (the service worker
//! keeps the app shell; the local copy keeps the text), and what was typed
//! offline — before and after the reload — reaches the others exactly once
//! when the server is back (issue 5). The copy lives in IndexedDB (issue
//! 19): a document larger than the old `localStorage` quota reloads offline
//! with every edit, a copy an earlier version left in `localStorage` moves
//! there once, and a full storage is said beside the save state.

use std::time::Duration;

use base64::Engine as _;
use serde_json::json;
use tandem_e2e::{DEADLINE, Page, poll, run_test, tid};
use yrs::{GetString as _, ReadTxn as _, StateVector, Text as _, Transact as _};

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
            a.wait_for_service_worker(DEADLINE).await;

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

/// How many times each reload check runs: a window of a few milliseconds
/// in which an edit lives only in memory shows within a few dozen tries.
const RELOADS: usize = 20;

/// Types `word` at the end of the body (key by key, as a person would) and
/// returns the body as it must read from now on.
async fn type_at_end(page: &Page, text: &mut String, word: &str) {
    let end = u32::try_from(text.encode_utf16().count()).unwrap_or(u32::MAX);
    page.type_at(&tid("editor"), end, word).await;
    text.push_str(word);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reloading_right_after_typing_offline_loses_nothing_in_one_tab_or_across_two() {
    run_test(
        "reloading_right_after_typing_offline_loses_nothing_in_one_tab_or_across_two",
        async |ctx| {
            let (editor, save) = (tid("editor"), tid("save-state"));
            let room = "e2e-offline-reload-at-once";
            let page = ctx.page().await;
            page.open_editor(&format!("/d/{room}")).await;
            let mut text = "Online.".to_owned();
            page.type_into(&editor, &text).await;
            page.wait_for_attr(&save, "data-state", "saved", DEADLINE)
                .await;
            page.wait_for_service_worker(DEADLINE).await;
            let first = page.window().await;
            // A second tab of the same browser: the same offline copy.
            let second = page.open_window().await;
            page.open_editor(&format!("/d/{room}")).await;
            page.wait_for_value(&editor, &text, DEADLINE).await;
            page.switch_to(&first).await;

            ctx.server.stop().await;
            // One tab: every reload comes right after the last key, with
            // no wait at all; every other one after the page said
            // "unsaved", which is when the earlier client failed.
            for i in 0..RELOADS {
                type_at_end(&page, &mut text, &format!(" a{i}")).await;
                if i % 2 == 1 {
                    page.wait_for_attr(&save, "data-state", "unsaved", DEADLINE)
                        .await;
                }
                page.reload().await;
                page.wait_for_value(&editor, &text, DEADLINE).await;
                // What the copy holds is unacknowledged, and says so.
                page.wait_for_attr(&save, "data-state", "unsaved", DEADLINE)
                    .await;
            }
            // Two tabs: one types, the other reloads at once and must show
            // it (nothing but the stored copy can carry it across).
            let mut typing = (&first, &second);
            for i in 0..RELOADS {
                page.switch_to(typing.0).await;
                type_at_end(&page, &mut text, &format!(" b{i}")).await;
                page.switch_to(typing.1).await;
                page.reload().await;
                page.wait_for_value(&editor, &text, DEADLINE).await;
                typing = (typing.1, typing.0);
            }

            ctx.server.restart().await;
            for tab in [&first, &second] {
                page.switch_to(tab).await;
                page.wait_for_connection("connected", RECONNECT).await;
                page.wait_for_value(&editor, &text, DEADLINE).await;
                page.wait_for_attr(&save, "data-state", "saved", DEADLINE)
                    .await;
            }
            let (status, served) = ctx.server.get(&format!("/api/rooms/{room}/text")).await;
            assert_eq!(
                (status, served.as_str()),
                (200, text.as_str()),
                "the server has every word, once"
            );
        },
    )
    .await;
}

/// Puts the caret at the end of the body and pastes `text` there (one
/// `input` event, as a paste does).
async fn paste_at_end(page: &Page, text: &str) {
    let end = page
        .eval("return document.querySelector('[data-testid=\"editor\"]').value.length")
        .await;
    let end = end
        .as_u64()
        .and_then(|n| u32::try_from(n).ok())
        .unwrap_or(0);
    page.set_caret(&tid("editor"), end).await;
    page.insert_text(text).await;
}

/// The body's length and whether it holds each of `words`.
async fn body_holds(page: &Page, len: usize, words: &[&str]) -> Result<(), String> {
    let seen = page
        .eval_with(
            "const v = document.querySelector('[data-testid=\"editor\"]').value;\
             return [v.length, arguments[0].map(w => v.includes(w))];",
            vec![json!(words)],
        )
        .await;
    let all = seen[1]
        .as_array()
        .is_some_and(|found| found.iter().all(|f| f == true));
    if seen[0] == json!(len) && all {
        Ok(())
    } else {
        Err(format!(
            "length and words found: {seen} (want {len}, all of {words:?})"
        ))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_document_larger_than_the_old_storage_quota_reloads_offline_with_every_edit() {
    run_test(
        "a_document_larger_than_the_old_storage_quota_reloads_offline_with_every_edit",
        async |ctx| {
            let (editor, save) = (tid("editor"), tid("save-state"));
            let room = "e2e-offline-large";
            let page = ctx.page().await;
            page.open_editor(&format!("/d/{room}")).await;
            page.type_into(&editor, "Online start. ").await;
            page.wait_for_attr(&save, "data-state", "saved", DEADLINE)
                .await;
            page.wait_for_service_worker(DEADLINE).await;

            // Offline, three pastes of 2 MB each (6 MB: more than the ~5 MB
            // localStorage held, before its base64 third) and words between.
            page.set_offline(true).await;
            page.wait_for_connection("offline", DEADLINE).await;
            let mut words = vec!["Online start."];
            let chunk = "lorem ipsum dolor sit amet ".repeat(2 * 1024 * 1024 / 27);
            for word in ["[edit one]", "[edit two]", "[edit three]"] {
                paste_at_end(&page, &chunk).await;
                paste_at_end(&page, word).await;
                words.push(word);
            }
            let len = 14 + 3 * chunk.len() + "[edit one][edit two][edit three]".len();
            poll("the pasted text in the editor", DEADLINE, async || {
                body_holds(&page, len, &words).await
            })
            .await;
            page.wait_for_attr(&save, "data-state", "unsaved", DEADLINE)
                .await;
            let copy = poll("every edit in the offline copy", DEADLINE, async || {
                let copy = page.stored_copy(room).await;
                let summary = format!("{} records, {} bytes", copy.records, copy.bytes);
                (copy.body.len() == len && words.iter().all(|w| copy.body.contains(w)))
                    .then_some(copy)
                    .ok_or(summary)
            })
            .await;
            eprintln!(
                "offline copy of a {len}-character body: {} records, {} bytes",
                copy.records, copy.bytes
            );
            assert!(
                copy.bytes > 6_000_000 && copy.unsaved,
                "the copy is larger than the old quota and flagged unsaved: {} bytes",
                copy.bytes
            );
            assert!(
                !page.is_present(&tid("local-copy-state")).await,
                "no storage warning while the copy is kept"
            );

            page.reload().await;
            page.wait_for(&editor, DEADLINE).await;
            poll("every edit after the reload", DEADLINE, async || {
                body_holds(&page, len, &words).await
            })
            .await;
            page.wait_for_attr(&save, "data-state", "unsaved", DEADLINE)
                .await;
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_copy_an_earlier_version_left_in_local_storage_moves_to_indexeddb_once() {
    run_test(
        "a_copy_an_earlier_version_left_in_local_storage_moves_to_indexeddb_once",
        async |ctx| {
            let (editor, save) = (tid("editor"), tid("save-state"));
            let room = "e2e-legacy-copy";
            // What an earlier version wrote: the state as a v1 update, base64.
            let doc = tandem_shared::doc::new_doc();
            let body = doc.get_or_insert_text(tandem_shared::doc::CONTENT);
            body.insert(
                &mut doc.transact_mut(),
                0,
                "Written by the old version offline.",
            );
            let state = doc.transact().encode_diff_v1(&StateVector::default());
            let encoded = base64::engine::general_purpose::STANDARD.encode(&state);
            assert_eq!(body.get_string(&doc.transact()).len(), 35);

            let page = ctx.page().await;
            page.goto("/").await;
            page.wait_for(&tid("new-doc"), DEADLINE).await;
            page.eval_with(
                "localStorage.setItem('tandem:doc:' + arguments[0], arguments[1]);\
                 localStorage.setItem('tandem:unsaved:' + arguments[0], '1');",
                vec![json!(room), json!(encoded)],
            )
            .await;

            // The page opens with the old copy's text, marked unsaved until
            // the server has it; the server gets it exactly once.
            let text = "Written by the old version offline.";
            page.goto(&format!("/d/{room}")).await;
            page.wait_for_value(&editor, text, DEADLINE).await;
            page.wait_for_attr(&save, "data-state", "saved", DEADLINE)
                .await;
            let (status, served) = ctx.server.get(&format!("/api/rooms/{room}/text")).await;
            assert_eq!((status, served.as_str()), (200, text), "the server's copy");

            // Moved: in IndexedDB now, gone from localStorage.
            let left = page
                .eval_with(
                    "return [localStorage.getItem('tandem:doc:' + arguments[0]),\
                             localStorage.getItem('tandem:unsaved:' + arguments[0])];",
                    vec![json!(room)],
                )
                .await;
            assert_eq!(left, json!([null, null]), "the old copy is removed");
            poll(
                "the copy in IndexedDB, flag cleared",
                DEADLINE,
                async || {
                    let copy = page.stored_copy(room).await;
                    (copy.body == text && !copy.unsaved)
                        .then_some(())
                        .ok_or(format!("{copy:?}"))
                },
            )
            .await;

            // Once: a reload finds nothing more to move and shows the text once.
            page.reload().await;
            page.wait_for_connection("connected", DEADLINE).await;
            page.wait_for_value(&editor, text, DEADLINE).await;
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_browser_that_refuses_storage_is_said_beside_the_save_state() {
    run_test(
        "a_browser_that_refuses_storage_is_said_beside_the_save_state",
        async |ctx| {
            let (editor, save, warning) =
                (tid("editor"), tid("save-state"), tid("local-copy-state"));
            // Chromium's "Don't allow sites to save data": IndexedDB refuses
            // to open (and localStorage throws).
            let page = ctx
                .page_with_prefs(json!({"profile.default_content_setting_values.cookies": 2}))
                .await;
            page.open_editor("/d/e2e-storage-refused").await;
            page.wait_for_attr(&warning, "data-state", "refused", DEADLINE)
                .await;
            page.wait_for_text(&warning, "Not kept in this browser", DEADLINE)
                .await;
            let explained = page.attr(&warning, "title").await.unwrap_or_default();
            assert!(
                explained.contains("does not let Tandem keep a copy")
                    && explained.contains("lost if this page is closed or reloaded"),
                "the warning says what it means: {explained:?}"
            );

            // Editing still works: the server has every edit.
            page.type_into(&editor, "Still saved on the server.").await;
            page.wait_for_attr(&save, "data-state", "saved", DEADLINE)
                .await;
            let (status, body) = ctx.server.get("/api/rooms/e2e-storage-refused/text").await;
            assert_eq!((status, body.as_str()), (200, "Still saved on the server."));
            for (width, height) in [(1280, 720), (390, 844)] {
                page.set_viewport(width, height).await;
                page.wait_for(&warning, DEADLINE).await;
                ctx.keep_artifacts(&page, &format!("refused-{width}")).await;
            }
        },
    )
    .await;
}
