//! Who wrote what, as people see it (issue 28): three pages under three
//! names type interleaved; with "Show authors" on, every run of text in the
//! editor and in the preview carries its author's tint and name (read from
//! the DOM: the tint's computed colour, the name in the tooltip and the
//! legend), with a screenshot kept; the tint survives a reload and a server
//! restart; a phone width keeps the legend readable.

use std::time::Duration;

use serde_json::{Value, json};
use tandem_e2e::{DEADLINE, Page, TestContext, run_test, tid};
use tandem_shared::palette::{Scheme, tint};

/// Every tinted stretch of `container` as `[text, author index, background
/// colour]`, adjacent stretches of one author merged.
const RUNS: &str = r#"
const container = document.querySelector(arguments[0]);
if (!container) return null;
const runs = [];
for (const span of container.querySelectorAll('span.au')) {
  const au = span.getAttribute('data-au');
  const bg = getComputedStyle(span).backgroundColor;
  const last = runs[runs.length - 1];
  if (last && last[1] === au && last[2] === bg) { last[0] += span.textContent; }
  else { runs.push([span.textContent, au, bg]); }
}
return runs;
"#;

/// The legend as `{author index: [label, percent]}`.
const LEGEND: &str = r#"
const out = {};
for (const li of document.querySelectorAll('[data-testid="author-share"]')) {
  out[li.getAttribute('data-author') ?? 'none'] = [li.getAttribute('data-label'), Number(li.getAttribute('data-percent'))];
}
return out;
"#;

/// The middle of the first tinted stretch of author `au` in `container`.
const POINT_AT: &str = r#"
const span = [...document.querySelectorAll(arguments[0] + ' span.au')]
  .find(s => s.getAttribute('data-au') === arguments[1] && s.getClientRects().length);
if (!span) return null;
span.scrollIntoView({block: 'center'});
const r = span.getClientRects()[0];
return [r.left + Math.min(r.width / 2, 4), r.top + r.height / 2];
"#;

/// `#rrggbb` as the `rgb(r, g, b)` a computed style reads.
fn rgb(hex: &str) -> String {
    let channel = |i: usize| u8::from_str_radix(&hex[i..i + 2], 16).unwrap_or(0);
    format!("rgb({}, {}, {})", channel(1), channel(3), channel(5))
}

/// The colour the room gave `page` (its own avatar's, once the room said).
async fn own_color(page: &Page) -> String {
    let js = "const a = document.querySelector('.participant.is-you');\
              return a ? a.getAttribute('data-room-color') : null;";
    page.wait_for_script("its own colour", DEADLINE, js, |v| {
        v.as_str().filter(|c| c.len() == 7).map(str::to_owned)
    })
    .await
}

/// Waits until `page`'s `container` shows `expected` runs as (text, name,
/// colour): names through the legend, colours as tints on the light paper.
async fn wait_for_runs(page: &Page, container: &str, expected: &[(&str, &str, &str)]) {
    let want: Vec<(String, String, String)> = expected
        .iter()
        .map(|(text, name, color)| {
            (
                (*text).to_owned(),
                (*name).to_owned(),
                rgb(&tint(color, Scheme::Light)),
            )
        })
        .collect();
    page.wait_for_script(
        &format!("the runs of {container}: {want:?}"),
        DEADLINE,
        &format!("const legend = (() => {{{LEGEND}}})(); const runs = (() => {{{RUNS}}})(); return [runs, legend];")
            .replace("arguments[0]", &format!("{container:?}")),
        |seen: &Value| {
            let runs = seen[0].as_array()?;
            let legend = &seen[1];
            let named: Vec<(String, String, String)> = runs
                .iter()
                .map(|r| {
                    let au = r[1].as_str().unwrap_or("none");
                    let name = legend[au][0].as_str().unwrap_or("?").to_owned();
                    (
                        r[0].as_str().unwrap_or_default().to_owned(),
                        name,
                        r[2].as_str().unwrap_or_default().to_owned(),
                    )
                })
                .collect();
            (named == want).then_some(())
        },
    )
    .await;
}

/// The author index the legend gives `name`.
async fn index_of(page: &Page, name: &str) -> String {
    let legend = page.eval(LEGEND).await;
    legend
        .as_object()
        .and_then(|o| {
            o.iter()
                .find(|(_, v)| v[0].as_str() == Some(name))
                .map(|(k, _)| k.clone())
        })
        .unwrap_or_else(|| panic!("{name} in the legend: {legend}"))
}

/// Points at `name`'s text in `container` and waits for the tooltip to
/// name them.
async fn hover_names(page: &Page, container: &str, name: &str) {
    let au = index_of(page, name).await;
    let point = page
        .eval_with(POINT_AT, vec![json!(container), json!(au)])
        .await;
    let (Some(x), Some(y)) = (point[0].as_f64(), point[1].as_f64()) else {
        panic!("no text of {name} to point at in {container}: {point}");
    };
    page.move_pointer_to(x, y).await;
    page.wait_for_text(&tid("author-tip"), name, DEADLINE).await;
}

/// Three people type, one after the other, each waiting for the others'
/// text: Ada, Bob, Cy, then Ada again.
async fn three_write(ctx: &mut TestContext, room: &str) -> [(Page, String); 3] {
    let editor = tid("editor");
    let mut pages = Vec::new();
    for name in ["Ada", "Bob", "Cy"] {
        let page = ctx.page().await;
        page.open_editor(&format!("/d/{room}")).await;
        page.set_name(name).await;
        let color = own_color(&page).await;
        pages.push((page, color));
    }
    let mut text = String::new();
    for (who, chunk) in [
        (0, "Ada wrote this. "),
        (1, "Bob wrote that. "),
        (2, "Cy: hi. "),
        (0, "Ada again."),
    ] {
        let page = &pages[who].0;
        page.wait_for_value(&editor, &text, DEADLINE).await;
        page.type_at(&editor, text.encode_utf16().count() as u32, chunk)
            .await;
        text.push_str(chunk);
        page.wait_for_value(&editor, &text, DEADLINE).await;
    }
    for (page, _) in &pages {
        page.wait_for_value(&editor, &text, DEADLINE).await;
    }
    let [a, b, c]: [(Page, String); 3] = pages
        .try_into()
        .unwrap_or_else(|_| unreachable!("three pages"));
    [a, b, c]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_people_typing_each_run_carries_its_authors_colour_and_name() {
    run_test(
        "three_people_typing_each_run_carries_its_authors_colour_and_name",
        async |ctx| {
            let [(a, ada), (_b, bob), (_c, cy)] = three_write(ctx, "e2e-authors").await;
            assert!(
                ada != bob && bob != cy && ada != cy,
                "three people, three colours: {ada} {bob} {cy}"
            );
            a.click(&tid("authors-toggle")).await;
            a.wait_for_attr(&tid("authors-toggle"), "aria-pressed", "true", DEADLINE)
                .await;
            let expected = [
                ("Ada wrote this. ", "Ada", ada.as_str()),
                ("Bob wrote that. ", "Bob", bob.as_str()),
                ("Cy: hi. ", "Cy", cy.as_str()),
                ("Ada again.", "Ada", ada.as_str()),
            ];
            wait_for_runs(&a, ".editor-highlight", &expected).await;
            // The legend: each with their share, largest first, and "you".
            a.wait_for_script("the legend", DEADLINE, LEGEND, |legend| {
                let percent = |name: &str| {
                    legend
                        .as_object()?
                        .values()
                        .find(|v| v[0].as_str() == Some(name))?[1]
                        .as_u64()
                };
                (percent("Ada")? == 52 && percent("Bob")? == 32 && percent("Cy")? == 16)
                    .then_some(())
            })
            .await;
            let you = a
                .text(&format!("{} .author-name", tid("author-share")))
                .await;
            assert_eq!(
                you, "Ada (you)",
                "the largest share is hers, and hers is marked"
            );
            // Pointing at a run names its author.
            hover_names(&a, ".editor-highlight", "Bob").await;
            hover_names(&a, ".editor-highlight", "Cy").await;
            // The caret names the author of the text before it.
            a.set_caret(&tid("editor"), 20).await;
            a.wait_for_text(&tid("author-at-caret"), "At the caret: Bob", DEADLINE)
                .await;
            ctx.keep_artifacts(&a, "editor").await;

            // The preview: the same runs, in the rendered text.
            a.click(&tid("view-split")).await;
            wait_for_runs(&a, ".markdown-body", &expected).await;
            hover_names(&a, ".markdown-body", "Cy").await;
            ctx.keep_artifacts(&a, "split").await;

            // Typing keeps the runs, block by block: Ada's edit is hers.
            a.type_at(&tid("editor"), 16, "(Ada) ").await;
            let expected = [
                ("Ada wrote this. (Ada) ", "Ada", ada.as_str()),
                ("Bob wrote that. ", "Bob", bob.as_str()),
                ("Cy: hi. ", "Cy", cy.as_str()),
                ("Ada again.", "Ada", ada.as_str()),
            ];
            wait_for_runs(&a, ".editor-highlight", &expected).await;

            // Off: no tint left, no legend.
            a.click(&tid("authors-toggle")).await;
            a.wait_for_gone(&tid("authors-legend"), DEADLINE).await;
            a.wait_for_script(
                "no tint",
                DEADLINE,
                "return document.querySelectorAll('span.au').length",
                |n| (n == 0).then_some(()),
            )
            .await;
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_tint_survives_a_reload_and_a_server_restart() {
    run_test(
        "the_tint_survives_a_reload_and_a_server_restart",
        async |ctx| {
            let editor = tid("editor");
            let (a, b) = (ctx.page().await, ctx.page().await);
            a.open_editor("/d/e2e-authors-kept").await;
            a.set_name("Ada").await;
            b.open_editor("/d/e2e-authors-kept").await;
            b.set_name("Bob").await;
            let (ada, bob) = (own_color(&a).await, own_color(&b).await);
            a.type_into(&editor, "first ").await;
            b.wait_for_value(&editor, "first ", DEADLINE).await;
            b.type_at(&editor, 6, "second").await;
            a.wait_for_value(&editor, "first second", DEADLINE).await;
            a.click(&tid("authors-toggle")).await;
            let expected = [
                ("first ", "Ada", ada.as_str()),
                ("second", "Bob", bob.as_str()),
            ];
            wait_for_runs(&a, ".editor-highlight", &expected).await;

            // The toggle is remembered; the authorship comes with the welcome.
            a.reload().await;
            a.wait_for_attr(&tid("authors-toggle"), "aria-pressed", "true", DEADLINE)
                .await;
            wait_for_runs(&a, ".editor-highlight", &expected).await;

            // The server restarts: the authorship was stored with the text.
            ctx.server.restart().await;
            a.reload().await;
            a.wait_for_connection("connected", Duration::from_secs(45))
                .await;
            wait_for_runs(&a, ".editor-highlight", &expected).await;
            ctx.keep_artifacts(&a, "after-restart").await;
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_phone_width_keeps_the_authors_readable() {
    run_test("a_phone_width_keeps_the_authors_readable", async |ctx| {
        let [(a, ada), (_b, bob), (_c, cy)] = three_write(ctx, "e2e-authors-phone").await;
        for (width, height, dark) in [(390, 844, false), (320, 640, true)] {
            a.set_viewport(width, height).await;
            a.set_dark_mode(dark).await;
            if a.attr(&tid("authors-toggle"), "aria-pressed").await.as_deref() != Some("true") {
                a.click(&tid("authors-toggle")).await;
            }
            a.wait_for(&tid("authors-legend"), DEADLINE).await;
            let scheme = if dark { Scheme::Dark } else { Scheme::Light };
            let want = |c: &str| rgb(&tint(c, scheme));
            // Every line of the legend inside the viewport, nothing
            // scrolling sideways, and the tints the scheme's.
            let seen = a
                .eval(
                    "const vw = document.documentElement.clientWidth;\
                     const out = [...document.querySelectorAll('[data-testid=\"author-share\"]')]\
                       .map(li => { const r = li.getBoundingClientRect(); return [r.left >= 0 && r.right <= vw + 0.5, li.getAttribute('data-label')]; });\
                     const bgs = [...new Set([...document.querySelectorAll('.editor-highlight span.au')].map(s => getComputedStyle(s).backgroundColor))];\
                     return [out, document.documentElement.scrollWidth <= vw, bgs];",
                )
                .await;
            let lines = seen[0].as_array().cloned().unwrap_or_default();
            assert_eq!(lines.len(), 3, "{seen}");
            assert!(lines.iter().all(|l| l[0] == true), "inside {width}px: {seen}");
            assert_eq!(seen[1], true, "nothing scrolls sideways at {width}px");
            let mut bgs: Vec<String> = seen[2]
                .as_array()
                .map(|v| v.iter().filter_map(|s| s.as_str().map(str::to_owned)).collect())
                .unwrap_or_default();
            bgs.sort();
            let mut wanted = vec![want(&ada), want(&bob), want(&cy)];
            wanted.sort();
            assert_eq!(bgs, wanted, "the tints at {width}px, dark {dark}");
            ctx.keep_artifacts(&a, &format!("phone-{width}")).await;
        }
    })
    .await;
}
