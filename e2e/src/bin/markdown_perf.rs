//! `markdown-perf`: the Markdown editor and preview on a real document
//! (issue 26), in headless Chromium on loopback. A measurement, not a test.
//!
//! ```sh
//! TANDEM_E2E_DIST=$PWD/dist cargo run --release -p tandem-e2e --bin markdown-perf \
//!     [-- ../shared/bench-data/automerge-paper.json.gz]
//! ```
//!
//! The document is the final text of an editing trace (`endContent`, read
//! with `gzip -dc`; by default the 259,778-edit automerge paper, 104,852
//! characters). Two sessions, A and B, open one room at 1280 × 900. Then:
//!
//! 1. **Keystrokes on an empty document, Edit mode** (the baseline, as
//!    `keystroke-latency` measures it): 50 characters typed in A, one at a
//!    time; *local paint* is A's `keydown` to the next animation frame after
//!    A's `input` event (the frame that paints the character and its
//!    highlighting); *remote* is A's `keydown` to the character in B's field.
//! 2. The document is pasted in A (one insertion); both switch to **Split**.
//! 3. **First render of the whole preview**: B switches Edit → Split ten
//!    times; each time from the click to the preview holding every block,
//!    and to the next animation frame after that.
//! 4. **Keystrokes on the document, Split mode in both**: 50 characters typed
//!    in A in the middle of the text; local paint and remote as in 1, and
//!    *remote preview*: A's `keydown` to B's preview changing (a mutation
//!    observer on B's preview).
//!
//! Stamps are `performance.timeOrigin + performance.now()` in both sessions
//! (see `keystroke-latency` for why they compare). It prints median, p95 and
//! maximum of each, and exits; nothing is asserted.

use std::process::{Command, ExitCode};

use serde_json::Value;
use tandem_e2e::{Browser, DEADLINE, Page, start_server, tid};

/// Characters typed per phase.
const KEYSTROKES: usize = 50;
/// Preview first renders measured.
const RENDERS: usize = 10;

/// Installed in A: stamps each single-character keydown, and the animation
/// frame after each input event.
const STAMP_LOCAL: &str = r#"
window.__sent = []; window.__painted = [];
window.addEventListener('keydown', (ev) => {
  if (ev.key.length === 1) window.__sent.push(performance.timeOrigin + performance.now());
}, true);
document.querySelector('[data-testid="editor"]').addEventListener('input', () => {
  requestAnimationFrame(() => window.__painted.push(performance.timeOrigin + performance.now()));
});
return true;
"#;

/// Installed in B: stamps the moment the editor first holds each new
/// length, and each change of the preview.
const STAMP_REMOTE: &str = r#"
const el = document.querySelector('[data-testid="editor"]');
const value = Object.getOwnPropertyDescriptor(HTMLTextAreaElement.prototype, 'value');
const setRangeText = HTMLTextAreaElement.prototype.setRangeText;
window.__shown = []; window.__previewed = [];
let seen = value.get.call(el).length;
const check = () => {
  const now = performance.timeOrigin + performance.now();
  const length = value.get.call(el).length;
  while (seen < length) { seen += 1; window.__shown.push(now); }
};
Object.defineProperty(el, 'value', {
  configurable: true,
  get() { return value.get.call(this); },
  set(v) { value.set.call(this, v); check(); },
});
el.setRangeText = function (...args) { const r = setRangeText.apply(this, args); check(); return r; };
return seen;
"#;

/// Installed in B once its preview shows: stamps each change of it.
const STAMP_PREVIEW: &str = r#"
const preview = document.querySelector('[data-testid="preview"]');
new MutationObserver(() => window.__previewed.push(performance.timeOrigin + performance.now()))
  .observe(preview, {childList: true, subtree: true, characterData: true});
return true;
"#;

/// In B: from a click on Split to a preview with every block, and to the
/// next frame. Resolves to `[to DOM, to frame]` in milliseconds.
const FIRST_RENDER: &str = r#"
const blocks = document.querySelectorAll('.editor-highlight > .m-b').length;
const main = document.querySelector('.doc-main');
return new Promise((resolve) => {
  const t0 = performance.now();
  const done = () => {
    const article = document.querySelector('[data-testid="preview"]');
    if (!article || article.children.length < blocks) return false;
    const t1 = performance.now();
    requestAnimationFrame(() => resolve([t1 - t0, performance.now() - t0, blocks]));
    return true;
  };
  const observer = new MutationObserver(() => { if (done()) observer.disconnect(); });
  observer.observe(main, {childList: true, subtree: true});
  document.querySelector('[data-testid="view-split"]').click();
});
"#;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> ExitCode {
    if std::env::var_os(tandem_e2e::env::DIST).is_none_or(|v| v.is_empty()) {
        eprintln!(
            "error: set {} to the built client (see the file's header)",
            tandem_e2e::env::DIST
        );
        return ExitCode::FAILURE;
    }
    let trace = std::env::args().nth(1).unwrap_or_else(|| {
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../shared/bench-data/automerge-paper.json.gz"
        )
        .to_owned()
    });
    let text = match end_content(&trace) {
        Ok(text) => text,
        Err(e) => {
            eprintln!("error: cannot read {trace}: {e}");
            return ExitCode::FAILURE;
        }
    };
    let mut server = start_server().await;
    let browser = Browser::start().await;
    let a = browser.session(server.url()).await;
    let b = browser.session(server.url()).await;
    let path = "/d/markdown-perf";
    for page in [&a, &b] {
        page.set_viewport(1280, 900).await;
        page.open_editor(path).await;
        switch(page, "edit").await;
    }

    // 1. The baseline: an empty document, Edit mode.
    a.eval(STAMP_LOCAL).await;
    b.eval(STAMP_REMOTE).await;
    let empty = keystrokes(&a, &b, 0, false).await;

    // 2. The document, in one paste.
    let typed = a.value(&tid("editor")).await;
    a.set_caret(&tid("editor"), typed.encode_utf16().count() as u32)
        .await;
    a.insert_text(&format!("\n{text}")).await;
    let units = typed.encode_utf16().count() + 1 + text.encode_utf16().count();
    b.wait_for_script(
        "the document to reach B",
        DEADLINE,
        "return document.querySelector('[data-testid=\"editor\"]').value.length;",
        |seen| (seen.as_u64() == Some(units as u64)).then_some(()),
    )
    .await;

    // 3. First renders of the whole preview in B.
    let mut to_dom = Vec::new();
    let mut to_frame = Vec::new();
    let mut blocks = 0;
    for _ in 0..RENDERS {
        let seen = b.eval(FIRST_RENDER).await;
        to_dom.push(seen[0].as_f64().unwrap_or(f64::NAN));
        to_frame.push(seen[1].as_f64().unwrap_or(f64::NAN));
        blocks = seen[2].as_u64().unwrap_or(0);
        switch(&b, "edit").await;
    }

    // 4. Keystrokes on the document, both in Split.
    switch(&a, "split").await;
    switch(&b, "split").await;
    b.eval(STAMP_PREVIEW).await;
    let middle = (units / 2) as u32;
    let paper = keystrokes(&a, &b, middle, true).await;

    a.close().await;
    b.close().await;
    server.stop().await;
    drop(browser);

    println!(
        "Markdown on {trace} ({} characters, {blocks} blocks), headless Chromium, loopback:",
        text.chars().count()
    );
    println!("| figure | median | p95 | max |");
    println!("|---|---:|---:|---:|");
    row("empty document, Edit: keystroke → local paint", &empty.0);
    row(
        "empty document, Edit: keystroke → remote character",
        &empty.1,
    );
    row("paper, Split: keystroke → local paint", &paper.0);
    row("paper, Split: keystroke → remote character", &paper.1);
    row("paper, Split: keystroke → remote preview updated", &paper.2);
    row("paper: first render of the whole preview (to DOM)", &to_dom);
    row(
        "paper: first render of the whole preview (to the next frame)",
        &to_frame,
    );
    ExitCode::SUCCESS
}

/// `endContent` of a gzipped trace.
fn end_content(path: &str) -> Result<String, String> {
    let out = Command::new("gzip")
        .args(["-dc", path])
        .output()
        .map_err(|e| e.to_string())?;
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).into_owned());
    }
    let trace: Value = serde_json::from_slice(&out.stdout).map_err(|e| e.to_string())?;
    trace["endContent"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| "no endContent".to_owned())
}

async fn switch(page: &Page, mode: &str) {
    page.click(&tid(&format!("view-{mode}"))).await;
    page.wait_for_attr(".doc-main", "data-mode", mode, DEADLINE)
        .await;
}

/// Types the keystrokes at `at` in A; returns (local paint, remote
/// character, remote preview) latencies in milliseconds.
async fn keystrokes(a: &Page, b: &Page, at: u32, preview: bool) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
    let editor = tid("editor");
    a.set_caret(&editor, at).await;
    let field = a.wait_for(&editor, DEADLINE).await;
    // Warm-up keys, not counted.
    for key in ["x", "y"] {
        if let Err(err) = field.send_keys(key).await {
            panic!("cannot type in A: {err}");
        }
    }
    b.wait_for_script(
        "the warm-up keys to reach B",
        DEADLINE,
        "return window.__shown.length >= 2",
        |done| (done.as_bool() == Some(true)).then_some(()),
    )
    .await;
    a.eval("window.__sent = []; window.__painted = [];").await;
    b.eval("window.__shown = []; window.__previewed = [];")
        .await;
    let mut previewed = Vec::new();
    for i in 0..KEYSTROKES {
        let key = char::from(b'a' + u8::try_from(i % 26).unwrap_or(0)).to_string();
        let before = b.eval("return window.__previewed.length").await;
        if let Err(err) = field.send_keys(&key).await {
            panic!("cannot type {key:?} in A: {err}");
        }
        b.wait_for_script(
            &format!("keystroke {} to reach B", i + 1),
            DEADLINE,
            &format!("return window.__shown.length >= {}", i + 1),
            |done| (done.as_bool() == Some(true)).then_some(()),
        )
        .await;
        if preview {
            let first = b
                .wait_for_script(
                    &format!("keystroke {} in B's preview", i + 1),
                    DEADLINE,
                    &format!(
                        "return window.__previewed.length > {} ? window.__previewed[{}] : null",
                        before, before
                    ),
                    |seen| seen.as_f64(),
                )
                .await;
            previewed.push(first);
        }
    }
    let sent = numbers(a.eval("return window.__sent").await);
    let painted = numbers(a.eval("return window.__painted").await);
    let shown = numbers(b.eval("return window.__shown").await);
    let local = sent.iter().zip(&painted).map(|(s, p)| p - s).collect();
    let remote = sent.iter().zip(&shown).map(|(s, r)| r - s).collect();
    let previews = sent.iter().zip(&previewed).map(|(s, r)| r - s).collect();
    (local, remote, previews)
}

fn numbers(value: Value) -> Vec<f64> {
    value
        .as_array()
        .map(|items| items.iter().filter_map(Value::as_f64).collect())
        .unwrap_or_default()
}

fn row(what: &str, samples: &[f64]) {
    if samples.is_empty() {
        println!("| {what} | — | — | — |");
        return;
    }
    let mut sorted = samples.to_vec();
    sorted.sort_by(f64::total_cmp);
    let at = |q: f64| {
        let rank = (q * sorted.len() as f64).ceil() as usize;
        sorted[rank.clamp(1, sorted.len()) - 1]
    };
    println!(
        "| {what} | {:.1} ms | {:.1} ms | {:.1} ms |",
        at(0.5),
        at(0.95),
        at(1.0)
    );
}
