//! What the measurement binaries (`src/bin/`) share: the stamps installed in
//! two pages, A typing and B reading along, and the keystroke phase that
//! reads them (see `markdown-perf`'s header for what each stamp means), and
//! the table rows they print. Measurements, not tests: nothing is asserted.

use serde_json::Value;

use crate::{DEADLINE, Page, tid};

/// The 259,778-edit automerge paper's trace, the long document the
/// measurements use unless told otherwise.
pub const PAPER: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../shared/bench-data/automerge-paper.json.gz"
);

/// Whether the built client is named (`TANDEM_E2E_DIST`); when it is not,
/// says so on stderr.
pub fn dist_given() -> bool {
    let given = std::env::var_os(crate::env::DIST).is_some_and(|v| !v.is_empty());
    if !given {
        eprintln!(
            "error: set {} to the built client (see the binary's header)",
            crate::env::DIST
        );
    }
    given
}

/// Characters typed per phase.
pub fn keystrokes_per_phase() -> usize {
    std::env::var("PERF_KEYS")
        .ok()
        .and_then(|k| k.parse().ok())
        .unwrap_or(50)
}
/// Installed in A: stamps each single-character keydown, and the animation
/// frame after each input event.
pub const STAMP_LOCAL: &str = r#"
window.__sent = []; window.__painted = []; window.__rendered = [];
const now = () => performance.timeOrigin + performance.now();
window.addEventListener('keydown', (ev) => {
  if (ev.key.length === 1) { window.__sent.push(now()); performance.mark('key'); }
}, true);
window.__scrolls = [];
document.addEventListener('scroll', (ev) => window.__scrolls.push([window.__sent.length, ev.target.className, ev.target.scrollTop]), true);
const after = new MessageChannel();
after.port1.onmessage = () => window.__rendered.push(now());
document.querySelector('[data-testid="editor"]').addEventListener('input', () => {
  requestAnimationFrame(() => { window.__painted.push(now()); after.port2.postMessage(0); });
});
return true;
"#;

/// Installed in B: stamps the moment the editor first holds each new
/// length, and each change of the preview.
pub const STAMP_REMOTE: &str = r#"
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
// The page's in-place edits (`execCommand`) fire `input`.
el.addEventListener('input', check);
return seen;
"#;

/// Installed in B once its preview shows: stamps each change of it.
pub const STAMP_PREVIEW: &str = r#"
const preview = document.querySelector('[data-testid="preview"]');
new MutationObserver(() => window.__previewed.push(performance.timeOrigin + performance.now()))
  .observe(preview, {childList: true, subtree: true, characterData: true});
return true;
"#;

/// What one phase of keystrokes measured, in milliseconds per keystroke.
#[derive(Debug)]
pub struct Latencies {
    /// A's keydown to the next animation frame's callback.
    pub frame: Vec<f64>,
    /// A's keydown to the first task after that frame (its rendering done).
    pub painted: Vec<f64>,
    /// A's keydown to the character in B's field.
    pub remote: Vec<f64>,
    /// A's keydown to B's preview changing (phase 4 only).
    pub preview: Vec<f64>,
}

/// Types the keystrokes at `at` in A and measures them.
pub async fn keystrokes(a: &Page, b: &Page, at: u32, preview: bool) -> Latencies {
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
    a.eval("window.__sent = []; window.__painted = []; window.__rendered = [];")
        .await;
    b.eval("window.__shown = []; window.__previewed = [];")
        .await;
    let mut previewed = Vec::new();
    for i in 0..keystrokes_per_phase() {
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
        // The last key's frame, before the next key comes.
        a.wait_for_script(
            &format!("keystroke {} painted in A", i + 1),
            DEADLINE,
            &format!("return window.__rendered.length >= {}", i + 1),
            |done| (done.as_bool() == Some(true)).then_some(()),
        )
        .await;
    }
    if std::env::var_os("PERF_DEBUG").is_some() {
        eprintln!("A scrolls: {}", a.eval("return window.__scrolls").await);
    }
    let sent = numbers(a.eval("return window.__sent").await);
    let since = |stamps: Vec<f64>| sent.iter().zip(&stamps).map(|(s, r)| r - s).collect();
    Latencies {
        frame: since(numbers(a.eval("return window.__painted").await)),
        painted: since(numbers(a.eval("return window.__rendered").await)),
        remote: since(numbers(b.eval("return window.__shown").await)),
        preview: since(previewed),
    }
}

pub fn numbers(value: Value) -> Vec<f64> {
    value
        .as_array()
        .map(|items| items.iter().filter_map(Value::as_f64).collect())
        .unwrap_or_default()
}

pub fn row(what: &str, samples: &[f64]) {
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
