//! `keystroke-latency`: how long a keystroke in one browser takes to show in
//! another's editor, on loopback. A measurement, not a test.
//!
//! ```sh
//! TANDEM_E2E_DIST=$PWD/target/e2e-dist cargo run --release -p tandem-e2e --bin keystroke-latency
//! ```
//!
//! It starts the real server in-process (SQLite in a scratch folder under
//! `target/`, loopback only) and two headless Chromium sessions, A and B, on
//! one room, then types 50 single characters in A, one at a time, waiting
//! for each to reach B before the next. For each it takes:
//!
//! - **sent**: in A, a `keydown` listener on `window` (capture phase, so it
//!   runs before the editor's own handlers) stamps the key;
//! - **shown**: in B, the editor's `value` setter and `setRangeText` are
//!   wrapped and its `input` event is watched (the ways the page writes
//!   remote text into the field: a focused field is edited in place with
//!   the browser's editing command, which fires `input`), and the moment the
//!   field first holds the new character is stamped.
//!
//! Both stamps are `performance.timeOrigin + performance.now()`: high
//! resolution, on the machine's wall clock, so the two sessions' stamps are
//! comparable (each Chromium maps its monotonic clock to the wall clock once
//! at start-up). Pages that are not cross-origin isolated get that clock in
//! steps of 0.1 ms. It prints the median, 90th percentile and maximum, and
//! exits; nothing is asserted.

use std::process::ExitCode;

use tandem_e2e::perf::{STAMP_REMOTE, numbers};
use tandem_e2e::{Browser, DEADLINE, Page, start_server, tid};

/// How many characters are typed.
const KEYSTROKES: usize = 50;
/// The room both sessions open.
const ROOM: &str = "keystroke-latency";

/// Installed in A: stamps every single-character keydown.
const STAMP_KEYS: &str = r#"
window.__sent = [];
window.addEventListener('keydown', (ev) => {
  if (ev.key.length === 1) window.__sent.push(performance.timeOrigin + performance.now());
}, true);
"#;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> ExitCode {
    if std::env::var_os(tandem_e2e::env::DIST).is_none_or(|v| v.is_empty()) {
        eprintln!(
            "error: set {} to the built client, e.g.\n  \
             {}=$PWD/target/e2e-dist cargo run --release -p tandem-e2e --bin keystroke-latency",
            tandem_e2e::env::DIST,
            tandem_e2e::env::DIST
        );
        return ExitCode::FAILURE;
    }
    let mut server = start_server().await;
    let browser = Browser::start().await;
    let a = browser.session(server.url()).await;
    let b = browser.session(server.url()).await;
    let latencies = measure(&a, &b).await;
    a.close().await;
    b.close().await;
    server.stop().await;
    drop(browser);

    report(&latencies);
    ExitCode::SUCCESS
}

/// Types the keystrokes and returns each one's latency in milliseconds.
async fn measure(a: &Page, b: &Page) -> Vec<f64> {
    let editor = tid("editor");
    let path = format!("/d/{ROOM}");
    a.open_editor(&path).await;
    b.open_editor(&path).await;
    a.eval(STAMP_KEYS).await;
    let start = b.eval(STAMP_REMOTE).await;
    assert_eq!(start, 0, "the room starts empty");

    // A couple of warm-up keys, not counted: the first edit of a session
    // pays for code paths being compiled.
    a.type_into(&editor, "..").await;
    b.wait_for_value(&editor, "..", DEADLINE).await;
    a.eval("window.__sent = [];").await;
    b.eval("window.__shown = [];").await;

    let field = a.wait_for(&editor, DEADLINE).await;
    for i in 0..KEYSTROKES {
        let key = char::from(b'a' + u8::try_from(i % 26).unwrap_or(0)).to_string();
        if let Err(err) = field.send_keys(&key).await {
            panic!("cannot type {key:?} in A: {err}");
        }
        let arrived = format!("return window.__shown.length >= {}", i + 1);
        b.wait_for_script(
            &format!("keystroke {} to reach B", i + 1),
            DEADLINE,
            &arrived,
            |done| (done.as_bool() == Some(true)).then_some(()),
        )
        .await;
    }

    let sent = numbers(a.eval("return window.__sent").await);
    let shown = numbers(b.eval("return window.__shown").await);
    assert_eq!(
        sent.len(),
        KEYSTROKES,
        "A stamped every keystroke: {sent:?}"
    );
    assert_eq!(
        shown.len(),
        KEYSTROKES,
        "B stamped every arrival: {shown:?}"
    );
    sent.iter().zip(&shown).map(|(s, r)| r - s).collect()
}

fn report(latencies: &[f64]) {
    let mut sorted = latencies.to_vec();
    sorted.sort_by(f64::total_cmp);
    let at = |q: f64| {
        let rank = (q * sorted.len() as f64).ceil() as usize;
        sorted[rank.clamp(1, sorted.len()) - 1]
    };
    let median = if sorted.len().is_multiple_of(2) {
        (sorted[sorted.len() / 2 - 1] + sorted[sorted.len() / 2]) / 2.0
    } else {
        sorted[sorted.len() / 2]
    };
    println!(
        "keystroke latency, browser A keydown → character in browser B's editor, {} keystrokes on loopback:",
        sorted.len()
    );
    println!(
        "  median {median:.1} ms   p90 {:.1} ms   max {:.1} ms   (min {:.1} ms)",
        at(0.9),
        at(1.0),
        sorted[0]
    );
    println!(
        "  command: {}=$PWD/dist cargo run --release -p tandem-e2e --bin keystroke-latency",
        tandem_e2e::env::DIST
    );
}
