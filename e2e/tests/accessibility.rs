//! Everyone can use it (issue 32). axe-core runs over every view and state
//! the layout test visits — the home page; a document connected with
//! people in it, with Share, Download, History or Frames open, reconnecting,
//! and read through a view link; with its authors shown (issue 28), in the
//! editor, the preview and History — at 1280, 390 and 320 px, light and dark,
//! and fails on any serious or critical violation (and on moderate ones
//! not written down with a reason, see `tandem_e2e::accessibility`).
//!
//! What axe cannot see: one flow done by keyboard alone (new document,
//! type, History, pick a version, close, Share, copy a link) with a
//! visible focus indicator at every stop, focus moving into each panel as
//! it opens and back to its button as it closes, at desktop and phone
//! widths; connection and save changes announced once through one polite
//! live region, while other people's typing and carets neither take the
//! focus nor announce anything; and nothing moving by itself for people
//! who ask for reduced motion.

use std::time::Duration;

use serde_json::{Value, json};
use tandem_e2e::accessibility::assert_accessible;
use tandem_e2e::keys::{ENTER, ESCAPE, TAB};
use tandem_e2e::{DEADLINE, NativePeer, Page, TestContext, poll, run_test, tid};

/// The widths (and heights) the layout test checks.
const SIZES: [(u32, u32); 3] = [(1280, 720), (390, 844), (320, 640)];

/// A reconnect may wait out a few backoff steps (1 s doubling, with jitter).
const RECONNECT: Duration = Duration::from_secs(45);

/// The first version in the History list.
const FIRST_ROW: &str =
    "[data-testid=\"history-list\"] [data-testid=\"history-item\"]:first-of-type";

/// Audits `page` at every width of [`SIZES`], light and dark.
async fn audit_everywhere(page: &Page, view: &str) {
    for (width, height) in SIZES {
        page.set_viewport(width, height).await;
        for dark in [false, true] {
            page.set_dark_mode(dark).await;
            let scheme = if dark { "dark" } else { "light" };
            assert_accessible(page, &format!("{view} ({width} px, {scheme})")).await;
        }
    }
    page.set_viewport(1280, 720).await;
    page.set_dark_mode(false).await;
}

/// A page that sees `prefers-reduced-motion: reduce`, so no transition is
/// caught half-way when a check reads colours.
async fn still_page(ctx: &mut TestContext) -> Page {
    let page = ctx.page().await;
    page.goto("/").await;
    page.wait_for(&tid("new-doc"), DEADLINE).await;
    page.set_reduced_motion(true).await;
    page
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_home_page_and_a_document_with_people_and_popovers_are_clean() {
    run_test(
        "the_home_page_and_a_document_with_people_and_popovers_are_clean",
        async |ctx| {
            let page = still_page(ctx).await;
            audit_everywhere(&page, "the home page").await;

            let doc = page.new_document().await;
            let peer = NativePeer::join(
                &ctx.server.ws_base(),
                &doc.room,
                Some(&doc.key),
                "Grace Hopper",
            )
            .await;
            page.wait_for_attr(&tid("participants"), "data-count", "2", DEADLINE)
                .await;
            page.type_into(&tid("title"), "Launch checklist").await;
            page.type_into(&tid("editor"), "Everyone can read this.")
                .await;
            page.wait_for_attr(&tid("save-state"), "data-state", "saved", DEADLINE)
                .await;
            audit_everywhere(&page, "a document with two people").await;

            page.click(&tid("share")).await;
            page.wait_for(&tid("share-edit-url"), DEADLINE).await;
            // With its links manager loaded (issue 27), and asking to revoke.
            page.wait_for(&tid("link-row"), DEADLINE).await;
            audit_everywhere(&page, "the Share popover").await;
            page.click(&format!("[data-link-id=\"v\"] {}", tid("link-revoke")))
                .await;
            page.wait_for(&tid("link-revoke-confirm"), DEADLINE).await;
            audit_everywhere(&page, "the Share popover asking to revoke a link").await;
            page.click(&tid("link-revoke-cancel")).await;
            page.press_keys(ESCAPE).await;
            page.wait_for_gone(&tid("share-edit-url"), DEADLINE).await;

            page.click(&tid("download-menu")).await;
            page.wait_for(&tid("download-txt"), DEADLINE).await;
            audit_everywhere(&page, "the Download menu").await;
            page.press_keys(ESCAPE).await;
            page.wait_for_gone(&tid("download-txt"), DEADLINE).await;
            drop(peer);
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_history_and_frames_panels_are_clean() {
    run_test("the_history_and_frames_panels_are_clean", async |ctx| {
        let page = still_page(ctx).await;
        page.new_document().await;
        page.type_into(&tid("editor"), "A first draft.").await;
        page.wait_for_attr(&tid("save-state"), "data-state", "saved", DEADLINE)
            .await;

        page.click(&tid("history-toggle")).await;
        page.wait_for(&tid("history-panel"), DEADLINE).await;
        audit_everywhere(&page, "the History panel with no version").await;
        page.type_into(&tid("history-label"), "Sent to Bo").await;
        page.click(&tid("history-name")).await;
        page.wait_for_text(FIRST_ROW, "Sent to Bo", DEADLINE).await;
        page.wait_for(&tid("history-preview"), DEADLINE).await;
        audit_everywhere(&page, "the History panel with a version").await;
        page.click(&tid("history-close")).await;
        page.wait_for_gone(&tid("history-panel"), DEADLINE).await;

        page.click(&tid("inspector-toggle")).await;
        page.wait_for(&tid("inspector"), DEADLINE).await;
        page.type_into(&tid("editor"), " More.").await;
        page.wait_for_attr(&tid("save-state"), "data-state", "saved", DEADLINE)
            .await;
        audit_everywhere(&page, "the frame inspector").await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconnecting_and_view_only_pages_are_clean() {
    run_test("reconnecting_and_view_only_pages_are_clean", async |ctx| {
        let writer = still_page(ctx).await;
        writer.new_document().await;
        writer
            .type_into(&tid("title"), "Minutes of the annual meeting")
            .await;
        let (_, view_link) = writer.share_links().await;

        let reader = still_page(ctx).await;
        reader.open_editor(&view_link).await;
        reader.wait_for(&tid("read-only-banner"), DEADLINE).await;
        audit_everywhere(&reader, "a view-only reader").await;

        ctx.server.stop().await;
        writer.type_into(&tid("editor"), "Typed while away.").await;
        writer.wait_for_connection("reconnecting", DEADLINE).await;
        writer
            .wait_for_attr(&tid("save-state"), "data-state", "unsaved", DEADLINE)
            .await;
        audit_everywhere(&writer, "a page reconnecting with unsaved changes").await;
        ctx.server.restart().await;
        writer.wait_for_connection("connected", RECONNECT).await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_authors_view_and_its_legend_are_clean() {
    // Who wrote what (issue 28): the tints in the editor and the preview,
    // the legend, the tooltip, and the History panel's insertions by
    // author, with two authors' text.
    run_test("the_authors_view_and_its_legend_are_clean", async |ctx| {
        let page = still_page(ctx).await;
        let doc = page.new_document().await;
        page.type_into(&tid("editor"), "# Plan\n\nWritten here. ")
            .await;
        page.wait_for_attr(&tid("save-state"), "data-state", "saved", DEADLINE)
            .await;
        page.click(&tid("history-toggle")).await;
        page.type_into(&tid("history-label"), "Before Grace").await;
        page.click(&tid("history-name")).await;
        page.wait_for_text(FIRST_ROW, "Before Grace", DEADLINE)
            .await;
        page.click(&tid("history-close")).await;
        let peer = NativePeer::join(
            &ctx.server.ws_base(),
            &doc.room,
            Some(&doc.key),
            "Grace Hopper",
        )
        .await;
        peer.wait_for_text("# Plan\n\nWritten here. ", DEADLINE)
            .await;
        peer.insert(22, "And by Grace.").await;
        page.wait_for_value(
            &tid("editor"),
            "# Plan\n\nWritten here. And by Grace.",
            DEADLINE,
        )
        .await;

        page.click(&tid("authors-toggle")).await;
        page.wait_for(&tid("authors-legend"), DEADLINE).await;
        page.wait_for(".editor-highlight span.au", DEADLINE).await;
        audit_everywhere(&page, "the authors' tints and legend").await;
        page.click(&tid("view-split")).await;
        page.wait_for(".markdown-body span.au", DEADLINE).await;
        audit_everywhere(&page, "the authors' tints in the preview").await;
        page.click(&tid("view-edit")).await;

        page.click(&tid("history-toggle")).await;
        page.wait_for(
            &format!("{} ins.by-author", tid("history-preview")),
            DEADLINE,
        )
        .await;
        audit_everywhere(&page, "the History panel's insertions by author").await;
        drop(peer);
    })
    .await;
}

/// Whether the focused element looks focused: some outline, shadow,
/// border or background on it or on one of its four nearest ancestors
/// changes when it loses the focus (then it gets the focus back). Also
/// says what is focused, for the test's messages.
const FOCUS_SEEN: &str = r#"
const a = document.activeElement;
if (!a || a === document.body) return {ring: false, what: 'nothing'};
const chain = [a];
while (chain.length < 5 && chain[chain.length - 1].parentElement !== document.body) {
  chain.push(chain[chain.length - 1].parentElement);
}
const look = () => chain.map(e => {
  const s = getComputedStyle(e);
  return [s.outlineStyle, s.outlineWidth, s.outlineColor, s.boxShadow, s.borderColor, s.backgroundColor].join('|');
});
const focused = look();
a.blur();
const blurred = look();
a.focus();
const what = a.getAttribute('data-testid') || a.id || a.getAttribute('aria-label') || a.tagName.toLowerCase();
return {ring: focused.some((f, i) => f !== blurred[i]), what};
"#;

/// Presses Tab (Shift+Tab when `back`) until the focus is on `css`,
/// checking that every element it stops on shows that it has the focus.
async fn tab_to(page: &Page, css: &str, back: bool) {
    let mut path = Vec::new();
    for _ in 0..40 {
        if back {
            page.press_shortcut(&[fantoccini::key::Key::Shift], '\u{E004}')
                .await;
        } else {
            page.press_keys(TAB).await;
        }
        let seen = page.eval(FOCUS_SEEN).await;
        let what = seen["what"].as_str().unwrap_or("?").to_owned();
        if what != "nothing" {
            assert_eq!(
                seen["ring"],
                json!(true),
                "the focus on {what} is visible (after {path:?})"
            );
        }
        path.push(what);
        let here = page
            .eval_with(
                "return document.activeElement && document.activeElement.matches(arguments[0])",
                vec![json!(css)],
            )
            .await;
        if here == json!(true) {
            return;
        }
    }
    panic!("Tab never reached {css}; the focus went through {path:?}");
}

/// Fails unless the focus is inside `css` (or on it).
async fn assert_focus_in(page: &Page, css: &str, why: &str) {
    poll(why, DEADLINE, async || {
        let seen = page
            .eval_with(
                "const a = document.activeElement;\
                 return [!!(a && a.closest(arguments[0])), a ? a.outerHTML.slice(0, 120) : null];",
                vec![json!(css)],
            )
            .await;
        (seen[0] == json!(true))
            .then_some(())
            .ok_or_else(|| format!("the focus is on {}", seen[1]))
    })
    .await;
}

/// The whole flow by keyboard at `width` × `height`.
async fn keyboard_only(ctx: &mut TestContext, width: u32, height: u32) {
    let page = still_page(ctx).await;
    page.set_viewport(width, height).await;
    let origin = page.eval("return location.origin").await;
    page.cdp(
        "Browser.grantPermissions",
        json!({"origin": origin, "permissions": ["clipboardReadWrite", "clipboardSanitizedWrite"]}),
    )
    .await;

    // A new document, by keyboard.
    tab_to(&page, &tid("new-doc"), false).await;
    page.press_keys(ENTER).await;
    page.wait_for_path("/d/{room}", DEADLINE, |p| p.starts_with("/d/"))
        .await;
    page.wait_for_connection("connected", DEADLINE).await;
    tab_to(&page, &tid("editor"), false).await;
    page.press_keys("Typed by keyboard alone.").await;
    page.wait_for_value(&tid("editor"), "Typed by keyboard alone.", DEADLINE)
        .await;
    page.wait_for_attr(&tid("save-state"), "data-state", "saved", DEADLINE)
        .await;

    // History: the focus moves into the panel; a version is named, picked
    // from the list, and the panel closed, the focus back on its button.
    tab_to(&page, &tid("history-toggle"), true).await;
    page.press_keys(ENTER).await;
    assert_focus_in(&page, "#history-panel", "the focus in the History panel").await;
    tab_to(&page, &tid("history-label"), false).await;
    page.press_keys("By keyboard").await;
    page.press_keys(ENTER).await;
    page.wait_for_text(FIRST_ROW, "By keyboard", DEADLINE).await;
    tab_to(&page, &tid("history-item"), false).await;
    page.wait_for_attr(FIRST_ROW, "aria-selected", "true", DEADLINE)
        .await;
    page.wait_for(&tid("history-preview"), DEADLINE).await;
    page.press_keys(ESCAPE).await;
    page.wait_for_gone(&tid("history-panel"), DEADLINE).await;
    assert_focus_in(
        &page,
        &tid("history-toggle"),
        "the focus back on the History button",
    )
    .await;

    // Share: the focus moves to the link; its Copy button copies it; Escape
    // gives the focus back to Share.
    tab_to(&page, &tid("share"), false).await;
    page.press_keys(ENTER).await;
    assert_focus_in(&page, &tid("share-edit-url"), "the focus on the edit link").await;
    let link = page.value(&tid("share-edit-url")).await;
    tab_to(&page, &tid("share-edit-copy"), false).await;
    page.press_keys(ENTER).await;
    page.wait_for_text(&tid("share-edit-copy"), "Copied", DEADLINE)
        .await;
    let copied = page.eval("return navigator.clipboard.readText()").await;
    assert_eq!(
        copied,
        Value::String(link),
        "the clipboard holds the edit link"
    );
    page.press_keys(ESCAPE).await;
    page.wait_for_gone(&tid("share-edit-url"), DEADLINE).await;
    assert_focus_in(&page, &tid("share"), "the focus back on Share").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_flow_works_by_keyboard_alone_at_desktop_width() {
    run_test(
        "one_flow_works_by_keyboard_alone_at_desktop_width",
        async |ctx| keyboard_only(ctx, 1280, 720).await,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_flow_works_by_keyboard_alone_at_phone_width() {
    run_test(
        "one_flow_works_by_keyboard_alone_at_phone_width",
        async |ctx| keyboard_only(ctx, 390, 844).await,
    )
    .await;
}

/// Records every text the page's live regions take from now on, and the
/// elements that are live regions at all.
const WATCH_LIVE: &str = r#"
window.__said = [];
const live = '[aria-live]:not([aria-live="off"]), [role="status"], [role="alert"], [role="log"]';
new MutationObserver(records => {
  for (const r of records) {
    const region = (r.target.nodeType === 1 ? r.target : r.target.parentElement).closest(live);
    if (region && region.textContent.trim()) window.__said.push(region.textContent.trim());
  }
}).observe(document.body, {childList: true, characterData: true, subtree: true});
return true;
"#;

async fn said(page: &Page) -> Vec<String> {
    let said = page.eval("return window.__said").await;
    said.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changes_are_announced_once_and_other_people_never_take_the_focus() {
    run_test(
        "changes_are_announced_once_and_other_people_never_take_the_focus",
        async |ctx| {
            let editor = tid("editor");
            let page = still_page(ctx).await;
            let doc = page.new_document().await;
            let other = ctx.page().await;
            other.open_editor(doc.url.as_str()).await;
            page.wait_for_attr(&tid("participants"), "data-count", "2", DEADLINE)
                .await;
            page.eval(WATCH_LIVE).await;

            // Both type: the badges flicker between saving and saved, the
            // other caret moves, and nothing is announced.
            page.type_into(&editor, "Mine. ").await;
            other.wait_for_value(&editor, "Mine. ", DEADLINE).await;
            other.type_at(&editor, 6, "Hers too and more.").await;
            page.type_at(&editor, 0, "First. ").await;
            page.wait_for(&tid("remote-caret"), DEADLINE).await;
            page.wait_for_value(&editor, "First. Mine. Hers too and more.", DEADLINE)
                .await;
            page.wait_for_attr(&tid("save-state"), "data-state", "saved", DEADLINE)
                .await;
            assert_eq!(
                said(&page).await,
                Vec::<String>::new(),
                "nothing announced while typing"
            );
            assert_focus_in(&page, &editor, "the focus still in the editor").await;
            let hidden = page
                .eval(
                    "const c = document.querySelector('[data-testid=\"remote-caret\"]');\
                     return !!c.closest('[aria-hidden=\"true\"]');",
                )
                .await;
            assert_eq!(
                hidden,
                json!(true),
                "other people's carets are hidden from screen readers"
            );

            // The server goes: announced once, however long the countdown.
            ctx.server.stop().await;
            page.type_at(&editor, 0, "Offline. ").await;
            page.wait_for_connection("reconnecting", DEADLINE).await;
            let first = page.text(&tid("connection-state")).await;
            poll("the countdown to tick", DEADLINE, async || {
                let now = page.text(&tid("connection-state")).await;
                (now != first).then_some(()).ok_or(now)
            })
            .await;
            assert_eq!(
                said(&page).await,
                ["Connection lost. Reconnecting; your edits are kept in this browser."],
                "one announcement for the outage"
            );

            // Back: connected, then the waiting edit saved; each said once.
            ctx.server.restart().await;
            page.wait_for_connection("connected", RECONNECT).await;
            page.wait_for_attr(&tid("save-state"), "data-state", "saved", DEADLINE)
                .await;
            poll("the return announced", DEADLINE, async || {
                let said = said(&page).await;
                let all: String = said.join(" ");
                (all.contains("Connected.") && all.contains("All changes saved."))
                    .then_some(())
                    .ok_or(format!("{said:?}"))
            })
            .await;
            let said = said(&page).await;
            assert_eq!(
                said.iter()
                    .filter(|s| s.contains("All changes saved."))
                    .count(),
                1,
                "saved said once: {said:?}"
            );
        },
    )
    .await;
}

/// Every element that moves by itself now: a running CSS animation (other
/// than a step, which jumps) or a transition longer than zero.
const MOVING: &str = r#"
return [...document.querySelectorAll('*')].filter(e => {
  const s = getComputedStyle(e);
  const animated = s.animationName !== 'none' && !s.animationTimingFunction.startsWith('step');
  const transitions = s.transitionProperty !== 'none'
    && s.transitionDuration.split(',').some(d => parseFloat(d) > 0);
  return animated || transitions;
}).map(e => e.getAttribute('data-testid') || e.className.baseVal || e.className || e.tagName);
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_moves_for_people_who_ask_for_reduced_motion() {
    run_test(
        "nothing_moves_for_people_who_ask_for_reduced_motion",
        async |ctx| {
            let page = ctx.page().await;
            let doc = page.new_document().await;
            let other = ctx.page().await;
            other.open_editor(doc.url.as_str()).await;
            other
                .type_into(&tid("editor"), "Her caret has a label.")
                .await;
            page.wait_for(&tid("remote-caret"), DEADLINE).await;
            page.click(&tid("share")).await;
            page.wait_for(&tid("share-edit-url"), DEADLINE).await;

            // Without the preference, things move (so the check can see
            // them): buttons, the popover, the other person's caret label.
            let moving = page.eval(MOVING).await;
            assert!(
                moving.as_array().is_some_and(|m| !m.is_empty()),
                "with no preference, buttons and labels animate: {moving}"
            );
            page.set_reduced_motion(true).await;
            let moving = page.eval(MOVING).await;
            assert_eq!(moving, json!([]), "nothing moves with reduced motion");
            // The caret label still rests, at once.
            page.wait_for_script(
                "the caret label to rest",
                DEADLINE,
                "const l = document.querySelector('.remote-caret-label');\
                 return l && getComputedStyle(l).visibility === 'hidden';",
                |seen| (seen == &json!(true)).then_some(()),
            )
            .await;

            // Reconnecting: the connection dot does not pulse either.
            ctx.server.stop().await;
            page.wait_for_connection("reconnecting", DEADLINE).await;
            let moving = page.eval(MOVING).await;
            assert_eq!(moving, json!([]), "nothing moves while reconnecting");
            ctx.server.restart().await;
            page.wait_for_connection("connected", RECONNECT).await;
        },
    )
    .await;
}

/// A document with every construct the preview renders (issue 26).
const MARKDOWN: &str = "# Plan\n\nSome **bold**, _emphasis_, `code` and a [link](https://example.com).\n\n\
## Tasks\n\n- [ ] write\n- [x] read\n\n| Who | What |\n|:--|--:|\n| Ada | 12 |\n\n> A quote[^1]\n\n\
```\nlet x = 1;\n```\n\n![a picture](https://example.com/p.png)\n\n[^1]: A note.\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_markdown_views_toolbar_and_outline_are_clean() {
    run_test(
        "the_markdown_views_toolbar_and_outline_are_clean",
        async |ctx| {
            let page = still_page(ctx).await;
            page.new_document().await;
            page.set_caret(&tid("editor"), 0).await;
            page.insert_text(MARKDOWN).await;
            page.wait_for_attr(&tid("save-state"), "data-state", "saved", DEADLINE)
                .await;
            for mode in ["split", "preview", "edit"] {
                page.click(&tid(&format!("view-{mode}"))).await;
                page.wait_for_attr(".doc-main", "data-mode", mode, DEADLINE)
                    .await;
                if mode != "edit" {
                    page.wait_for_text(&tid("preview"), "A note.", DEADLINE)
                        .await;
                }
                audit_everywhere(&page, &format!("Markdown in {mode} mode")).await;
            }
            // The folded half of the toolbar, open, on a phone.
            page.set_viewport(390, 844).await;
            page.click(&tid("md-more")).await;
            page.wait_for(&tid("md-quote"), DEADLINE).await;
            assert_accessible(&page, "the toolbar's More open (390 px)").await;
            page.click(&tid("md-more")).await;
            page.set_viewport(1280, 720).await;
            page.click(&tid("outline-toggle")).await;
            page.wait_for(&tid("outline-item"), DEADLINE).await;
            audit_everywhere(&page, "the outline").await;
        },
    )
    .await;
}
