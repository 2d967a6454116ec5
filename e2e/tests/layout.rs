//! The document page's header under stress (issue 19): connected with many
//! people, reconnecting after the server went away while typing, offline
//! with unsaved changes, and view-only, each at desktop (1280 × 720), phone
//! (390 px, dark) and the narrowest supported (320 px, dark) widths. In
//! every case no header item may leave the viewport, overlap another, or
//! clip its own text, the title keeps a readable width, and the state's own
//! items are shown. A screenshot of each case is kept as a test artifact
//! (`target/e2e-artifacts/<test>-<state>-<width>.png`).
//!
//! Also the name labels of other people's carets: labels of close carets
//! never cover each other, a label rests (hidden, leaving a small flag) a
//! few seconds after its caret moved so it does not cover the line above,
//! and shows again while the pointer is over its caret.

use std::time::Duration;

use serde_json::Value;
use tandem_e2e::{DEADLINE, NativePeer, Page, TestContext, run_test, tid};

/// A reconnect may wait out a few backoff steps (1 s doubling, with jitter).
const RECONNECT: Duration = Duration::from_secs(45);

/// Width, height and dark mode of each case.
const SIZES: [(u32, u32, bool); 3] = [(1280, 720, false), (390, 844, true), (320, 640, true)];

/// Every visible item of the header (links, buttons, fields, badges, the
/// participant group), outermost only, with its box; then what is wrong:
/// an item outside the viewport, two items overlapping, a badge or button
/// whose text does not fit, an item out of reading order, a title squeezed
/// below a readable width.
const CHECK: &str = r#"
const header = document.querySelector('.doc-header');
if (!header) return {problems: ['no header'], shown: []};
const vw = document.documentElement.clientWidth;
const candidates = [...header.querySelectorAll('a, button, input, .badge, .participants')]
  .filter(e => !e.closest('.popover'));
const items = candidates.filter(e => !candidates.some(o => o !== e && o.contains(e)));
const name = e => e.getAttribute('data-testid') || e.className.baseVal || e.className || e.tagName;
const visible = items.filter(e => {
  const r = e.getBoundingClientRect();
  return r.width > 0 && r.height > 0 && getComputedStyle(e).visibility !== 'hidden';
});
const boxes = visible.map(e => [name(e), e.getBoundingClientRect(), e]);
const problems = [];
const px = v => Math.round(v);
for (const [n, r, e] of boxes) {
  if (r.left < -0.5 || r.right > vw + 0.5 || r.top < -0.5) {
    problems.push(`${n} leaves the viewport: ${px(r.left)}..${px(r.right)} of ${vw}`);
  }
  if ((e.matches('.badge, button') ) && e.scrollWidth > e.clientWidth + 1) {
    problems.push(`${n} clips its text: ${e.scrollWidth} > ${e.clientWidth}`);
  }
}
for (let i = 0; i < boxes.length; i++) {
  for (let j = i + 1; j < boxes.length; j++) {
    const [a, ra] = boxes[i], [b, rb] = boxes[j];
    const w = Math.min(ra.right, rb.right) - Math.max(ra.left, rb.left);
    const h = Math.min(ra.bottom, rb.bottom) - Math.max(ra.top, rb.top);
    if (w > 0.5 && h > 0.5) problems.push(`${a} overlaps ${b} by ${px(w)}×${px(h)}`);
  }
}
// Reading order: each item is right of the one before it, or on a later line.
for (let i = 1; i < boxes.length; i++) {
  const [a, ra] = boxes[i - 1], [b, rb] = boxes[i];
  if (rb.top < ra.bottom - 1 && rb.left < ra.right - 0.5) problems.push(`${b} is not after ${a}`);
}
const title = header.querySelector('[data-testid="title"]');
const tw = title ? title.getBoundingClientRect().width : 0;
if (tw < Math.min(200, vw * 0.5)) problems.push(`the title is ${px(tw)} px wide`);
return {problems, shown: boxes.map(([n]) => n)};
"#;

/// Checks the header of `page` at every size of [`SIZES`], wanting the
/// items `shown` among the visible ones, and keeps a screenshot of each.
async fn check_header(ctx: &TestContext, page: &Page, state: &str, shown: &[&str]) {
    for (width, height, dark) in SIZES {
        page.set_dark_mode(dark).await;
        page.set_viewport(width, height).await;
        page.wait_for_script(
            &format!("a tidy header ({state}, {width} px, showing {shown:?})"),
            DEADLINE,
            CHECK,
            |seen: &Value| {
                let problems = seen["problems"].as_array()?;
                let visible = seen["shown"].as_array()?;
                let all_shown = shown
                    .iter()
                    .all(|want| visible.iter().any(|v| v.as_str() == Some(want)));
                (problems.is_empty() && all_shown).then_some(())
            },
        )
        .await;
        ctx.keep_artifacts(page, &format!("{state}-{width}")).await;
    }
}

/// The items every document header shows (with the Markdown view modes,
/// issue 26).
const ALWAYS: [&str; 8] = [
    "title",
    "connection-state",
    "save-state",
    "share",
    "download-menu",
    "view-edit",
    "view-split",
    "view-preview",
];

fn with(extra: &[&'static str]) -> Vec<&'static str> {
    ALWAYS.iter().chain(extra).copied().collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_header_holds_with_many_people_in_the_room() {
    run_test(
        "the_header_holds_with_many_people_in_the_room",
        async |ctx| {
            let room = "e2e-layout-many";
            let mut peers = Vec::new();
            for n in 1..=9 {
                let name = format!("Participant number {n} with a long name");
                peers.push(NativePeer::join(&ctx.server.ws_base(), room, None, &name).await);
            }
            let page = ctx.page().await;
            page.open_editor(&format!("/d/{room}")).await;
            page.set_name("Somebody with a rather long name indeed")
                .await;
            page.wait_for_attr(&tid("participants"), "data-count", "10", DEADLINE)
                .await;
            page.type_into(&tid("title"), "Quarterly planning notes for the whole team")
                .await;
            check_header(ctx, &page, "many-people", &with(&["participants"])).await;
            drop(peers);
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_header_holds_while_reconnecting_and_offline_with_unsaved_changes() {
    run_test(
        "the_header_holds_while_reconnecting_and_offline_with_unsaved_changes",
        async |ctx| {
            let (editor, save) = (tid("editor"), tid("save-state"));
            let peer = NativePeer::join(
                &ctx.server.ws_base(),
                "e2e-layout-outage",
                None,
                "Grace Hopper",
            )
            .await;
            let page = ctx.page().await;
            page.set_viewport(1280, 720).await;
            page.open_editor("/d/e2e-layout-outage").await;
            page.wait_for_attr(&tid("participants"), "data-count", "2", DEADLINE)
                .await;
            page.type_into(&tid("title"), "Launch checklist").await;
            page.type_into(&editor, "Typing while ").await;
            page.wait_for_attr(&save, "data-state", "saved", DEADLINE)
                .await;
            check_header(ctx, &page, "connected", &with(&["participants"])).await;

            // The server is killed while the person types.
            ctx.server.stop().await;
            drop(peer);
            page.type_at(&editor, 13, "the server goes away").await;
            page.wait_for_connection("reconnecting", DEADLINE).await;
            page.wait_for_attr(&save, "data-state", "unsaved", DEADLINE)
                .await;
            check_header(ctx, &page, "reconnecting", &with(&["retry-now"])).await;

            // The network goes too: offline, the edits kept.
            page.set_offline(true).await;
            page.wait_for_connection("offline", DEADLINE).await;
            check_header(ctx, &page, "offline", &ALWAYS).await;

            page.set_offline(false).await;
            ctx.server.restart().await;
            page.wait_for_connection("connected", RECONNECT).await;
            page.wait_for_attr(&save, "data-state", "saved", DEADLINE)
                .await;
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_header_holds_for_a_view_only_reader() {
    run_test("the_header_holds_for_a_view_only_reader", async |ctx| {
        let writer = ctx.page().await;
        writer.new_document().await;
        writer
            .type_into(&tid("title"), "Minutes of the annual general meeting")
            .await;
        let (_, view_link) = writer.share_links().await;

        let reader = ctx.page().await;
        reader.open_editor(&view_link).await;
        reader.wait_for(&tid("read-only-banner"), DEADLINE).await;
        check_header(ctx, &reader, "view-only", &with(&["read-only-banner"])).await;
    })
    .await;
}

/// Each remote caret label in `page`: name, box, and whether it shows.
const LABELS: &str = r#"
return [...document.querySelectorAll('[data-testid="remote-caret"]')].map(c => {
  const l = c.querySelector('.remote-caret-label');
  const r = l.getBoundingClientRect();
  const s = getComputedStyle(l);
  const k = c.getBoundingClientRect();
  return {name: c.getAttribute('data-name'), offset: c.getAttribute('data-offset'), left: r.left, right: r.right, top: r.top,
          bottom: r.bottom, shown: s.visibility === 'visible' && s.opacity === '1',
          caret: [k.left, (k.top + k.bottom) / 2]};
});
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn caret_labels_stay_apart_rest_and_show_on_hover() {
    run_test(
        "caret_labels_stay_apart_rest_and_show_on_hover",
        async |ctx| {
            let editor = tid("editor");
            let room = "/d/e2e-layout-carets";
            let (a, b, c) = (ctx.page().await, ctx.page().await, ctx.page().await);
            a.open_editor(room).await;
            a.set_name("Ada Lovelace").await;
            a.type_into(
                &editor,
                "First line of the text\nSecond line, where both carets are.",
            )
            .await;
            b.open_editor(room).await;
            b.set_name("Grace Hopper").await;
            c.open_editor(room).await;
            c.wait_for_value(
                &editor,
                "First line of the text\nSecond line, where both carets are.",
                DEADLINE,
            )
            .await;

            // Two carets one character apart on the second line.
            a.set_caret(&editor, 40).await;
            b.set_caret(&editor, 41).await;
            let labels = c
                .wait_for_script(
                    "both carets, one character apart",
                    DEADLINE,
                    LABELS,
                    |seen| {
                        let labels = seen.as_array()?;
                        let at = |name: &str, offset: &str| {
                            labels
                                .iter()
                                .any(|l| l["name"] == name && l["offset"] == offset)
                        };
                        (labels.len() == 2 && at("Ada Lovelace", "40") && at("Grace Hopper", "41"))
                            .then(|| labels.clone())
                    },
                )
                .await;
            let (l, r) = (&labels[0], &labels[1]);
            let num = |v: &Value, k: &str| v[k].as_f64().unwrap_or(f64::NAN);
            let apart = num(l, "right") <= num(r, "left")
                || num(r, "right") <= num(l, "left")
                || num(l, "bottom") <= num(r, "top")
                || num(r, "bottom") <= num(l, "top");
            assert!(
                apart,
                "the labels of close carets do not cover each other: {labels:?}"
            );
            ctx.keep_artifacts(&c, "carets-moved").await;

            // Resting: no label covers the text any more.
            c.wait_for_script("both labels to rest", DEADLINE, LABELS, |seen| {
                let labels = seen.as_array()?;
                (labels.len() == 2 && labels.iter().all(|l| l["shown"] == false)).then_some(())
            })
            .await;
            ctx.keep_artifacts(&c, "carets-resting").await;

            // The pointer over Ada's caret shows her label again.
            let ada = c
                .wait_for_script("Ada's caret", DEADLINE, LABELS, |seen| {
                    seen.as_array()?
                        .iter()
                        .find(|l| l["name"] == "Ada Lovelace")
                        .cloned()
                })
                .await;
            let (x, y) = (
                ada["caret"][0].as_f64().unwrap_or(0.0),
                ada["caret"][1].as_f64().unwrap_or(0.0),
            );
            c.move_pointer_to(x, y).await;
            c.wait_for_script("Ada's label on hover", DEADLINE, LABELS, |seen| {
                let labels = seen.as_array()?;
                let shown = |name: &str| {
                    labels
                        .iter()
                        .any(|l| l["name"] == name && l["shown"] == true)
                };
                (shown("Ada Lovelace") && !shown("Grace Hopper")).then_some(())
            })
            .await;
            ctx.keep_artifacts(&c, "carets-hover").await;
        },
    )
    .await;
}
