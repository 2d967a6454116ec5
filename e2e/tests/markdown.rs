//! Markdown documents (issue 26), as two people in two Chromium pages see
//! them: one writes Markdown, the other's preview shows the heading, the
//! table and the task list; a task ticked in one page is ticked in the
//! other and in `/text`; the preview is the server's `/html` rendering;
//! shortcuts and the toolbar are one edit and one undo step each; Split
//! keeps editor and preview on the same block while either scrolls; a view
//! link opens in Preview with its boxes disabled; a stock Yjs client's
//! Markdown is rendered; the toolbar fits at every width the layout test
//! visits; an edit, typed or received, replaces its own block only and
//! reads no layout outside animation frames (what made typing on a long
//! document slow, see docs/BENCHMARKS.md).

use fantoccini::key::Key;
use serde_json::{Value, json};
use tandem_e2e::{DEADLINE, Page, YjsPeer, YjsRuntime, run_test, tid};

/// A document with every construct the preview is checked for.
const DOC: &str = "# Plan for *Tandem*\n\nSome **bold** and `code`, see www.example.com.\n\n\
| Who | What |\n|:----|-----:|\n| Ada | 12 |\n\n- [ ] write the tests\n- [x] read the issue\n\n\
> A quote[^1]\n\n[^1]: A footnote.\n";

/// Inserts `text` at the caret of the focused editor as one input (no key
/// events, so no list continuation).
async fn write(page: &Page, text: &str) {
    page.set_caret(
        &tid("editor"),
        page.value(&tid("editor")).await.encode_utf16().count() as u32,
    )
    .await;
    page.insert_text(text).await;
}

/// Switches `page` to `mode` (`edit`, `split`, `preview`) with the header's switch.
async fn switch(page: &Page, mode: &str) {
    page.click(&tid(&format!("view-{mode}"))).await;
    page.wait_for_attr(".doc-main", "data-mode", mode, DEADLINE)
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn markdown_typed_in_one_page_is_rendered_in_the_other_and_tasks_tick_everywhere() {
    run_test(
        "markdown_typed_in_one_page_is_rendered_in_the_other_and_tasks_tick_everywhere",
        async |ctx| {
            let room = "e2e-md-live";
            let (a, b) = (ctx.page().await, ctx.page().await);
            a.open_editor(&format!("/d/{room}")).await;
            b.open_editor(&format!("/d/{room}")).await;
            switch(&a, "split").await;
            switch(&b, "preview").await;
            write(&a, DOC).await;

            // B's preview: the heading, the table, the tasks.
            let preview = tid("preview");
            b.wait_for_text(&format!("{preview} h1"), "Plan for Tandem", DEADLINE)
                .await;
            b.wait_for_text(&format!("{preview} table td.align-right"), "12", DEADLINE)
                .await;
            let boxes = b
                .wait_for_script(
                    "two task boxes, the second ticked, both enabled",
                    DEADLINE,
                    "return [...document.querySelectorAll('[data-testid=preview] .task-list-item-checkbox')]\
                     .map(b => [b.checked, b.disabled]);",
                    |seen| (seen.as_array()?.len() == 2).then(|| seen.clone()),
                )
                .await;
            assert_eq!(boxes, json!([[false, false], [true, false]]));
            // A's own editor highlights what it rendered.
            a.wait_for_text(".editor-highlight .m-h1:not(.m-mk)", "Plan for", DEADLINE)
                .await;
            a.wait_for_script(
                "both task boxes highlighted in A's editor",
                DEADLINE,
                "return [...document.querySelectorAll('.editor-highlight .m-task')].map(e => e.textContent);",
                |seen| (seen == &json!(["[ ]", "[x]"])).then_some(()),
            )
            .await;

            // B ticks the first task: one edit, seen by A and by /text.
            b.click(&format!("{preview} .task-list-item-checkbox[data-task]"))
                .await;
            let ticked = DOC.replace("- [ ] write", "- [x] write");
            a.wait_for_value(&tid("editor"), &ticked, DEADLINE).await;
            a.wait_for_script(
                "A's preview to show both tasks ticked",
                DEADLINE,
                "return [...document.querySelectorAll('[data-testid=preview] .task-list-item-checkbox')]\
                 .map(b => b.checked);",
                |seen| (seen == &json!([true, true])).then_some(()),
            )
            .await;
            let (status, text) = ctx.server.get(&format!("/api/rooms/{room}/text")).await;
            assert_eq!((status, text.as_str()), (200, ticked.as_str()));
            // The box keeps the focus through its block's re-rendering.
            let focused = b
                .eval("return document.activeElement && document.activeElement.matches('.task-list-item-checkbox')")
                .await;
            assert_eq!(focused, json!(true), "the ticked box keeps the focus");
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_preview_and_the_servers_html_are_the_same_rendering() {
    run_test(
        "the_preview_and_the_servers_html_are_the_same_rendering",
        async |ctx| {
            let room = "e2e-md-export";
            let a = ctx.page().await;
            a.open_editor(&format!("/d/{room}")).await;
            switch(&a, "split").await;
            write(&a, DOC).await;
            a.wait_for_text(&format!("{} blockquote", tid("preview")), "A quote", DEADLINE)
                .await;
            let seen = a
                .wait_for_script(
                    "the preview to equal the export",
                    DEADLINE,
                    &format!(
                        "return (async () => {{ const r = await fetch('/api/rooms/{room}/html'); \
                         const page = await r.text(); \
                         const exported = new DOMParser().parseFromString(page, 'text/html').querySelector('article'); \
                         const preview = document.createElement('div'); \
                         for (const b of document.querySelectorAll('[data-testid=preview] > .md-block')) preview.insertAdjacentHTML('beforeend', b.innerHTML); \
                         for (const i of [...preview.querySelectorAll('input'), ...exported.querySelectorAll('input')]) {{ i.removeAttribute('disabled'); i.setAttribute('disabled', ''); }} \
                         const norm = el => el.innerHTML.replace(/\\s+/g, ' ').trim(); \
                         return {{preview: norm(preview), exported: norm(exported), csp: page.includes(\"default-src 'none'\")}}; }})()"
                    ),
                    |seen: &Value| {
                        (seen["preview"].as_str()?.contains("Plan for")).then(|| seen.clone())
                    },
                )
                .await;
            assert_eq!(seen["preview"], seen["exported"], "preview and /html differ");
            assert_eq!(seen["csp"], json!(true), "the page carries its own policy");
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shortcuts_and_the_toolbar_are_one_edit_and_one_undo_step() {
    run_test(
        "shortcuts_and_the_toolbar_are_one_edit_and_one_undo_step",
        async |ctx| {
            let editor = tid("editor");
            let room = "/d/e2e-md-keys";
            let (a, b) = (ctx.page().await, ctx.page().await);
            a.open_editor(room).await;
            b.open_editor(room).await;
            a.type_into(&editor, "make this bold").await;
            // Select "bold" and press Ctrl+B.
            a.eval_with(
                "const el = document.querySelector(arguments[0]); el.focus(); el.setSelectionRange(10, 14);",
                vec![json!(editor)],
            )
            .await;
            a.press_shortcut(&[Key::Control], 'b').await;
            a.wait_for_value(&editor, "make this **bold**", DEADLINE).await;
            b.wait_for_value(&editor, "make this **bold**", DEADLINE).await;
            assert_eq!(a.selection(&editor).await, (12, 16), "the word stays selected");
            // Once more: off again.
            a.press_shortcut(&[Key::Control], 'b').await;
            a.wait_for_value(&editor, "make this bold", DEADLINE).await;
            // One undo step each: the unbolding, then the bolding.
            a.press_shortcut(&[Key::Control], 'z').await;
            a.wait_for_value(&editor, "make this **bold**", DEADLINE).await;
            a.press_shortcut(&[Key::Control], 'z').await;
            a.wait_for_value(&editor, "make this bold", DEADLINE).await;
            b.wait_for_value(&editor, "make this bold", DEADLINE).await;

            // Enter continues a list and ends it on an empty item.
            a.set_caret(&editor, 14).await;
            a.type_into(&editor, "\n- one").await;
            a.press_keys("\u{E007}").await;
            a.wait_for_value(&editor, "make this bold\n- one\n- ", DEADLINE)
                .await;
            a.press_keys("\u{E007}").await;
            a.wait_for_value(&editor, "make this bold\n- one\n", DEADLINE)
                .await;
            // Tab indents an item, Shift+Tab brings it back.
            a.type_into(&editor, "- two").await;
            a.press_keys("\u{E004}").await;
            a.wait_for_value(&editor, "make this bold\n- one\n  - two", DEADLINE)
                .await;
            a.press_shortcut(&[Key::Shift], '\u{E004}').await;
            a.wait_for_value(&editor, "make this bold\n- one\n- two", DEADLINE)
                .await;

            // The toolbar: a heading on the first line, one undo step.
            a.set_caret(&editor, 3).await;
            a.click(&tid("md-heading-up")).await;
            a.wait_for_value(&editor, "### make this bold\n- one\n- two", DEADLINE)
                .await;
            b.wait_for_value(&editor, "### make this bold\n- one\n- two", DEADLINE)
                .await;
            a.press_shortcut(&[Key::Control], 'z').await;
            a.wait_for_value(&editor, "make this bold\n- one\n- two", DEADLINE)
                .await;
        },
    )
    .await;
}

/// How far (px) the block holding `text` is from the top of the pane
/// `pane` shows, in each pane: `[editor, preview]`.
const OFFSETS: &str = r#"
const section = 'SECTION';
const pane = (sel) => document.querySelector(sel);
const editor = pane('[data-testid=editor]').closest('.editor-surface');
const preview = pane('[data-testid=preview-scroll]');
const edBlock = [...document.querySelectorAll('.editor-highlight > .m-b')].find(b => b.textContent.startsWith('## ' + section + '\n'));
const prBlock = [...document.querySelectorAll('[data-testid=preview] > .md-block')].find(b => b.textContent.trim() === section);
if (!edBlock || !prBlock) return null;
return [edBlock.getBoundingClientRect().top - editor.getBoundingClientRect().top,
        prBlock.getBoundingClientRect().top - preview.getBoundingClientRect().top];
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_split_mode_the_panes_follow_each_other_block_by_block() {
    run_test(
        "in_split_mode_the_panes_follow_each_other_block_by_block",
        async |ctx| {
            let a = ctx.page().await;
            a.open_editor("/d/e2e-md-scroll").await;
            switch(&a, "split").await;
            let mut doc = String::new();
            for n in 1..=80 {
                doc.push_str(&format!(
                    "## Section {n}\n\nParagraph {n} with enough words to wrap at least once in a narrow pane, and then some more words.\n\n"
                ));
            }
            write(&a, &doc).await;
            a.wait_for_text(&tid("preview"), "Section 80", DEADLINE).await;

            // Scroll the editor to Section 60: the preview follows.
            a.eval_with(
                "const b = [...document.querySelectorAll('.editor-highlight > .m-b')].find(b => b.textContent.startsWith('## ' + arguments[0] + '\\n'));\
                 b.closest('.editor-surface').scrollTop = b.offsetTop;",
                vec![json!("Section 60")],
            )
            .await;
            a.wait_for_script(
                "the preview to show Section 60 at its top",
                DEADLINE,
                &OFFSETS.replace("SECTION", "Section 60"),
                |seen| {
                    let (ed, pr) = (seen[0].as_f64()?, seen[1].as_f64()?);
                    (ed.abs() < 2.0 && pr.abs() < 2.0).then_some(())
                },
            )
            .await;
            // Scroll the preview to Section 20: the editor follows.
            a.eval_with(
                "const b = [...document.querySelectorAll('[data-testid=preview] > .md-block')].find(b => b.textContent.trim() === arguments[0]);\
                 document.querySelector('[data-testid=preview-scroll]').scrollTop = b.offsetTop;",
                vec![json!("Section 20")],
            )
            .await;
            a.wait_for_script(
                "the editor to show Section 20 at its top",
                DEADLINE,
                &OFFSETS.replace("SECTION", "Section 20"),
                |seen| {
                    let (ed, pr) = (seen[0].as_f64()?, seen[1].as_f64()?);
                    (ed.abs() < 2.0 && pr.abs() < 2.0).then_some(())
                },
            )
            .await;
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_view_link_opens_in_preview_with_its_boxes_disabled() {
    run_test(
        "a_view_link_opens_in_preview_with_its_boxes_disabled",
        async |ctx| {
            let writer = ctx.page().await;
            writer.goto("/").await;
            writer.click(&tid("new-doc")).await;
            writer
                .wait_for_path("/d/{room}", DEADLINE, |p| p.starts_with("/d/"))
                .await;
            writer.wait_for_connection("connected", DEADLINE).await;
            write(&writer, "- [ ] only editors tick this\n").await;
            writer.click(&tid("share")).await;
            writer.wait_for(&tid("share-view-url"), DEADLINE).await;
            let view_link = writer.value(&tid("share-view-url")).await;

            let reader = ctx.page().await;
            // The editor is hidden in Preview: wait for the connection only.
            reader.goto(&view_link).await;
            reader.wait_for_connection("connected", DEADLINE).await;
            reader
                .wait_for_attr(".doc-main", "data-mode", "preview", DEADLINE)
                .await;
            reader
                .wait_for_script(
                    "a disabled box",
                    DEADLINE,
                    "const b = document.querySelector('[data-testid=preview] .task-list-item-checkbox');\
                     return b ? b.disabled : null;",
                    |seen| (seen == &json!(true)).then_some(()),
                )
                .await;
            assert!(
                !reader.is_present(&tid("md-toolbar")).await,
                "no formatting toolbar for a reader"
            );
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stock_yjs_client_writes_markdown_and_the_preview_renders_it() {
    run_test(
        "a_stock_yjs_client_writes_markdown_and_the_preview_renders_it",
        async |ctx| {
            let room = "e2e-md-yjs";
            let page = ctx.page().await;
            page.open_editor(&format!("/d/{room}")).await;
            switch(&page, "preview").await;
            let mut peer =
                YjsPeer::start(YjsRuntime::Node, &ctx.server.ws_base(), room, "Node", None).await;
            peer.insert(
                0,
                "# Written in Node\n\n| a |\n|---|\n| b |\n\n- [x] synced\n",
            )
            .await;
            let preview = tid("preview");
            page.wait_for_text(&format!("{preview} h1"), "Written in Node", DEADLINE)
                .await;
            page.wait_for_text(&format!("{preview} td"), "b", DEADLINE)
                .await;
            page.wait_for(
                &format!("{preview} .task-list-item-checkbox[checked]"),
                DEADLINE,
            )
            .await;
            peer.quit().await;
        },
    )
    .await;
}

/// Every visible control of the Markdown bar: none may leave the viewport,
/// overlap another or clip its text.
const BAR: &str = r#"
const bar = document.querySelector('[data-testid=md-bar]');
if (!bar) return ['no bar'];
const vw = document.documentElement.clientWidth;
const items = [...bar.querySelectorAll('button')].filter(e => {
  const r = e.getBoundingClientRect(); return r.width > 0 && r.height > 0;
});
const problems = [];
items.forEach((e, i) => {
  const r = e.getBoundingClientRect();
  if (r.left < -0.5 || r.right > vw + 0.5) problems.push(`${e.dataset.testid} leaves the viewport`);
  if (e.scrollWidth > e.clientWidth + 1) problems.push(`${e.dataset.testid} clips its text`);
  items.slice(i + 1).forEach(o => {
    const q = o.getBoundingClientRect();
    const w = Math.min(r.right, q.right) - Math.max(r.left, q.left);
    const h = Math.min(r.bottom, q.bottom) - Math.max(r.top, q.top);
    if (w > 0.5 && h > 0.5) problems.push(`${e.dataset.testid} overlaps ${o.dataset.testid}`);
  });
});
return problems;
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_toolbar_and_modes_fit_at_every_width() {
    run_test("the_toolbar_and_modes_fit_at_every_width", async |ctx| {
        let page = ctx.page().await;
        page.open_editor("/d/e2e-md-widths").await;
        for (width, height, dark) in [(1280, 720, false), (390, 844, true), (320, 640, true)] {
            page.set_dark_mode(dark).await;
            page.set_viewport(width, height).await;
            for mode in ["edit", "split", "preview"] {
                switch(&page, mode).await;
                page.wait_for_script(
                    &format!("a tidy Markdown bar ({mode}, {width} px)"),
                    DEADLINE,
                    BAR,
                    |seen| seen.as_array()?.is_empty().then_some(()),
                )
                .await;
                ctx.keep_artifacts(&page, &format!("md-{mode}-{width}"))
                    .await;
            }
            switch(&page, "edit").await;
            if width < 600 {
                // The folded half opens behind "More".
                page.click(&tid("md-more")).await;
                page.wait_for(&tid("md-quote"), DEADLINE).await;
                page.click(&tid("md-more")).await;
            }
            page.click(&tid("outline-toggle")).await;
            page.wait_for(&tid("outline"), DEADLINE).await;
            ctx.keep_artifacts(&page, &format!("md-outline-{width}"))
                .await;
            page.press_keys("\u{E00C}").await;
            page.wait_for_script(
                "Escape to close the outline",
                DEADLINE,
                "return document.querySelector('[data-testid=outline]') === null;",
                |seen| (seen == &json!(true)).then_some(()),
            )
            .await;
        }
    })
    .await;
}

/// Installed in a page: counts the layout reads made outside animation
/// frame callbacks (a read right after an edit's writes makes the browser
/// lay the page out there and then, once more for the frame) and the
/// block elements added to the preview and the highlight layer.
const WATCH_RENDERING: &str = r#"
window.__reads = {outside: [], inside: 0};
let inFrame = 0;
const raf = window.requestAnimationFrame.bind(window);
window.requestAnimationFrame = (cb) => raf((t) => { inFrame++; try { cb(t); } finally { inFrame--; } });
const note = (what) => {
  if (inFrame) { window.__reads.inside++; return; }
  const stack = (new Error().stack || '').split('\n').slice(3, 6).map(s => s.trim()).join(' < ');
  window.__reads.outside.push(what + ' at ' + stack);
};
const method = (proto, name) => {
  const f = proto[name];
  proto[name] = function (...args) { note(name); return f.apply(this, args); };
};
const getter = (proto, name) => {
  const d = Object.getOwnPropertyDescriptor(proto, name);
  Object.defineProperty(proto, name, {...d, get() { note(name); return d.get.call(this); }});
};
for (const m of ['getBoundingClientRect', 'getClientRects']) { method(Element.prototype, m); method(Range.prototype, m); }
for (const g of ['scrollTop', 'scrollLeft', 'scrollWidth', 'scrollHeight', 'clientWidth', 'clientHeight']) getter(Element.prototype, g);
for (const g of ['offsetTop', 'offsetLeft', 'offsetWidth', 'offsetHeight', 'innerText']) getter(HTMLElement.prototype, g);
const style = window.getComputedStyle;
window.getComputedStyle = function (...args) { note('getComputedStyle'); return style.apply(this, args); };
window.__added = {preview: 0, layer: 0};
const count = (selector, key) => new MutationObserver((records) => {
  for (const r of records) window.__added[key] += [...r.addedNodes].filter(n => n.nodeType === 1).length;
}).observe(document.querySelector(selector), {childList: true});
count('[data-testid="preview"]', 'preview');
count('.editor-highlight', 'layer');
return true;
"#;

/// What [`WATCH_RENDERING`] counted, once two more frames have gone by.
const RENDERING_SEEN: &str = r#"
const done = arguments[arguments.length - 1];
requestAnimationFrame(() => requestAnimationFrame(() => done({reads: window.__reads, added: window.__added})));
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_edit_re_renders_its_block_and_reads_no_layout_until_the_frame() {
    run_test(
        "an_edit_re_renders_its_block_and_reads_no_layout_until_the_frame",
        async |ctx| {
            let editor = tid("editor");
            let (a, b) = (ctx.page().await, ctx.page().await);
            let doc = a.new_document().await;
            b.open_editor(doc.url.as_str()).await;
            switch(&a, "split").await;
            switch(&b, "split").await;
            let mut text = String::new();
            for n in 1..=30 {
                text.push_str(&format!(
                    "## Section {n}\n\nParagraph {n}, long enough to wrap in a pane of the split view, with *emphasis* and `code`.\n\n"
                ));
            }
            text.push_str("| a | b |\n|---|---|\n| 1 | 2 |\n\n- [ ] one\n- [x] two\n");
            write(&a, &text).await;
            b.wait_for_text(&tid("preview"), "Section 30", DEADLINE).await;

            // A's caret in the second paragraph, which both pages show.
            let at = text.find("Paragraph 2,").map_or(0, |i| i + "Paragraph 2".len());
            a.set_caret(&editor, at as u32).await;
            b.wait_for(&tid("remote-caret"), DEADLINE).await;
            for page in [&a, &b] {
                page.eval(WATCH_RENDERING).await;
            }

            // A types; each keystroke reaches B's field and preview.
            let typed = "xyzzy";
            for (n, key) in typed.chars().enumerate() {
                a.press_keys(&key.to_string()).await;
                let so_far: String = format!("Paragraph 2{}", typed.chars().take(n + 1).collect::<String>());
                b.wait_for_script(
                    &format!("keystroke {} in B's preview", n + 1),
                    DEADLINE,
                    &format!(
                        "return document.querySelector('[data-testid=\"preview\"]').textContent.includes({so_far:?})"
                    ),
                    |seen| (seen == &json!(true)).then_some(()),
                )
                .await;
            }

            for (who, page) in [("A (typing)", &a), ("B (receiving)", &b)] {
                let seen = match page.client().execute_async(RENDERING_SEEN, Vec::new()).await {
                    Ok(seen) => seen,
                    Err(err) => panic!("cannot read what {who} counted: {err}"),
                };
                assert_eq!(
                    seen["reads"]["outside"],
                    json!([]),
                    "{who} read layout only in animation frames"
                );
                let added = |key: &str| seen["added"][key].as_u64().unwrap_or(u64::MAX);
                for key in ["preview", "layer"] {
                    assert!(
                        (1..=typed.len() as u64).contains(&added(key)),
                        "{who} replaced one {key} block per keystroke at most, not the \
                         document's: {seen}"
                    );
                }
            }
            // B placed A's moving caret by measuring, in frames.
            let seen = match b.client().execute_async(RENDERING_SEEN, Vec::new()).await {
                Ok(seen) => seen,
                Err(err) => panic!("cannot read what B counted: {err}"),
            };
            assert!(
                seen["reads"]["inside"].as_u64().unwrap_or(0) > 0,
                "B measured A's caret in animation frames: {seen}"
            );
        },
    )
    .await;
}
