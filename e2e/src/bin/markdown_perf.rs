//! `markdown-perf`: the Markdown editor and preview on a real document
//! (issue 26), in headless Chromium on loopback. A measurement, not a test.
//!
//! ```sh
//! TANDEM_E2E_DIST=$PWD/dist cargo run --release -p tandem-e2e --bin markdown-perf \
//!     [-- [--trace DIR] ../shared/bench-data/automerge-paper.json.gz]
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
//! (see `keystroke-latency` for why they compare). *Local paint* is taken
//! twice: at the next animation frame's callback (before that frame's style,
//! layout and paint run) and at the first task after it (a `MessageChannel`
//! message posted from the callback, which Chromium runs once the frame's
//! rendering work on the main thread is done): the second is what a person
//! waits for. It prints median, p95 and maximum of each, and exits; nothing
//! is asserted.
//!
//! 5. **Keystrokes on the document, Edit mode in both**: as 4, without the
//!    preview (what the highlight layer costs, apart from the preview).
//!
//! With `--plain` it measures a client without Markdown (an earlier build,
//! e.g. the commit before issue 26, in `TANDEM_E2E_DIST`): no mode is
//! switched and phases 3 and 5 are skipped, so phase 4 is the paper in the
//! plain-text pad, the baseline the Markdown editor is held to.
//!
//! With `--trace DIR` it also records a DevTools performance trace of each
//! browser (what the Performance panel records: events, layouts, paints and
//! CPU samples; open the files in DevTools or ui.perfetto.dev) over phases 1,
//! 3 and 4: `DIR/{a,b}-{empty,first-render,paper}.json`. Each keystroke is a
//! `performance.mark("key")` in A's trace. The trace goes through a second
//! DevTools connection to each Chromium (the port chromedriver asked it to
//! write into its profile, `DevToolsActivePort`).

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use futures_util::{SinkExt as _, StreamExt as _};
use serde_json::{Value, json};
use tandem_e2e::perf::{
    PAPER, STAMP_LOCAL, STAMP_PREVIEW, STAMP_REMOTE, dist_given, keystrokes, row,
};
use tandem_e2e::{Browser, DEADLINE, Page, start_server, tid};
use tokio_tungstenite::tungstenite::Message;

/// Preview first renders measured.
const RENDERS: usize = 10;

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
    if !dist_given() {
        return ExitCode::FAILURE;
    }
    let mut trace = None;
    let mut traces_dir = None;
    let mut plain = false;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        if arg == "--plain" {
            plain = true;
        } else if arg == "--trace" {
            let Some(dir) = args.next() else {
                eprintln!("error: --trace needs a folder");
                return ExitCode::FAILURE;
            };
            if let Err(e) = std::fs::create_dir_all(&dir) {
                eprintln!("error: cannot create {dir}: {e}");
                return ExitCode::FAILURE;
            }
            traces_dir = Some(PathBuf::from(dir));
        } else {
            trace = Some(arg);
        }
    }
    let trace = trace.unwrap_or_else(|| PAPER.to_owned());
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
    let tracing = traces_dir.map(|dir| {
        let profiles = session_profiles();
        match profiles.as_slice() {
            [a, b] => Tracing {
                dir,
                a: a.clone(),
                b: b.clone(),
            },
            other => panic!("expected the profiles of A and B, found {other:?}"),
        }
    });
    let path = "/d/markdown-perf";
    for page in [&a, &b] {
        page.set_viewport(1280, 900).await;
        page.open_editor(path).await;
        if !plain {
            switch(page, "edit").await;
        }
    }

    // 1. The baseline: an empty document, Edit mode.
    a.eval(STAMP_LOCAL).await;
    b.eval(STAMP_REMOTE).await;
    let recording = Recording::start(tracing.as_ref()).await;
    let empty = keystrokes(&a, &b, 0, false).await;
    recording.stop("empty").await;

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
    let recording = Recording::start(tracing.as_ref()).await;
    for _ in 0..if plain { 0 } else { RENDERS } {
        let seen = b.eval(FIRST_RENDER).await;
        to_dom.push(seen[0].as_f64().unwrap_or(f64::NAN));
        to_frame.push(seen[1].as_f64().unwrap_or(f64::NAN));
        blocks = seen[2].as_u64().unwrap_or(0);
        switch(&b, "edit").await;
    }
    recording.stop("first-render").await;

    // 4. Keystrokes on the document, both in Split (or the plain pad).
    if !plain {
        switch(&a, "split").await;
        switch(&b, "split").await;
        b.eval(STAMP_PREVIEW).await;
    }
    let middle = (units / 2) as u32;
    let recording = Recording::start(tracing.as_ref()).await;
    let paper = keystrokes(&a, &b, middle, !plain).await;
    recording.stop("paper").await;

    // 5. Keystrokes on the document, both in Edit.
    let edit = if plain {
        None
    } else {
        switch(&a, "edit").await;
        switch(&b, "edit").await;
        Some(keystrokes(&a, &b, middle, false).await)
    };

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
    row(
        "empty document, Edit: keystroke → next frame (rAF)",
        &empty.frame,
    );
    row(
        "empty document, Edit: keystroke → local paint",
        &empty.painted,
    );
    row(
        "empty document, Edit: keystroke → remote character",
        &empty.remote,
    );
    let mode = if plain { "plain pad" } else { "Split" };
    row(
        &format!("paper, {mode}: keystroke → next frame (rAF)"),
        &paper.frame,
    );
    row(
        &format!("paper, {mode}: keystroke → local paint"),
        &paper.painted,
    );
    row(
        &format!("paper, {mode}: keystroke → remote character"),
        &paper.remote,
    );
    if let Some(edit) = edit {
        row(
            "paper, Split: keystroke → remote preview updated",
            &paper.preview,
        );
        row("paper, Edit: keystroke → next frame (rAF)", &edit.frame);
        row("paper, Edit: keystroke → local paint", &edit.painted);
        row("paper, Edit: keystroke → remote character", &edit.remote);
        row("paper: first render of the whole preview (to DOM)", &to_dom);
        row(
            "paper: first render of the whole preview (to the next frame)",
            &to_frame,
        );
    }
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

/// Where the traces go and the profiles of the two Chromium sessions.
struct Tracing {
    /// `--trace DIR`.
    dir: PathBuf,
    /// A's `--user-data-dir`.
    a: PathBuf,
    /// B's.
    b: PathBuf,
}

/// The `--user-data-dir` of every session this process opened, in the
/// order they were opened (the harness numbers them, see `tandem_e2e`'s
/// `paths`).
fn session_profiles() -> Vec<PathBuf> {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../target")));
    let dir = target.join("e2e-tmp").join(std::process::id().to_string());
    let mut found: Vec<(u64, PathBuf)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .filter_map(|entry| {
            let path = entry.ok()?.path();
            let n = path
                .file_name()?
                .to_str()?
                .strip_prefix("profile-")?
                .parse()
                .ok()?;
            Some((n, path))
        })
        .collect();
    found.sort();
    found.into_iter().map(|(_, path)| path).collect()
}

/// A trace being recorded in both browsers (or nothing, without `--trace`).
struct Recording<'a> {
    /// Where the files go, and the two recorders.
    running: Option<(&'a Path, Recorder, Recorder)>,
}

impl<'a> Recording<'a> {
    async fn start(tracing: Option<&'a Tracing>) -> Recording<'a> {
        let Some(tracing) = tracing else {
            return Recording { running: None };
        };
        let a = Recorder::start(&tracing.a).await;
        let b = Recorder::start(&tracing.b).await;
        Recording {
            running: Some((&tracing.dir, a, b)),
        }
    }

    /// Ends the recording; writes `{a,b}-{phase}.json`.
    async fn stop(self, phase: &str) {
        let Some((dir, a, b)) = self.running else {
            return;
        };
        for (who, recorder) in [("a", a), ("b", b)] {
            let out = dir.join(format!("{who}-{phase}.json"));
            let events = recorder.stop().await;
            let n = events.len();
            let file = json!({ "traceEvents": events }).to_string();
            match std::fs::write(&out, file) {
                Ok(()) => eprintln!("trace: {} ({n} events)", out.display()),
                Err(e) => eprintln!("cannot write {}: {e}", out.display()),
            }
        }
    }
}

/// The categories DevTools' Performance panel records.
const CATEGORIES: [&str; 12] = [
    "-*",
    "devtools.timeline",
    "disabled-by-default-devtools.timeline",
    "disabled-by-default-devtools.timeline.frame",
    "disabled-by-default-devtools.timeline.stack",
    "v8.execute",
    "disabled-by-default-v8.cpu_profiler",
    "blink.user_timing",
    "blink.console",
    "latencyInfo",
    "toplevel",
    "loading",
];

/// One browser's trace, over its own DevTools connection.
struct Recorder {
    /// Where commands go.
    commands: futures_util::stream::SplitSink<
        tokio_tungstenite::WebSocketStream<
            tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
        >,
        Message,
    >,
    /// Collects the trace's events until `Tracing.tracingComplete`.
    reader: tokio::task::JoinHandle<Vec<Value>>,
}

impl Recorder {
    /// Connects to the Chromium whose profile is `profile` and starts tracing.
    async fn start(profile: &Path) -> Recorder {
        let file = profile.join("DevToolsActivePort");
        let port_file = std::fs::read_to_string(&file)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", file.display()));
        let mut lines = port_file.lines();
        let (Some(port), Some(path)) = (lines.next(), lines.next()) else {
            panic!("{} holds no port and path: {port_file:?}", file.display());
        };
        let url = format!("ws://127.0.0.1:{port}{path}");
        let (socket, _) = tokio_tungstenite::connect_async(&url)
            .await
            .unwrap_or_else(|e| panic!("cannot open DevTools at {url}: {e}"));
        let (mut commands, mut events) = socket.split();
        let (started, on_start) = tokio::sync::oneshot::channel();
        let reader = tokio::spawn(async move {
            let mut started = Some(started);
            let mut collected = Vec::new();
            while let Some(Ok(message)) = events.next().await {
                let Message::Text(text) = message else {
                    continue;
                };
                let Ok(message) = serde_json::from_str::<Value>(&text) else {
                    continue;
                };
                if message["id"] == json!(1)
                    && let Some(started) = started.take()
                {
                    let _ = started.send(message["error"].clone());
                }
                match message["method"].as_str() {
                    Some("Tracing.dataCollected") => {
                        if let Some(Value::Array(values)) = message["params"].get("value") {
                            collected.extend(values.iter().cloned());
                        }
                    }
                    Some("Tracing.tracingComplete") => break,
                    _ => {}
                }
            }
            collected
        });
        let mut categories: Vec<String> = CATEGORIES.iter().map(|c| (*c).to_owned()).collect();
        if let Ok(extra) = std::env::var("PERF_EXTRA_CATEGORIES") {
            categories.extend(extra.split(',').map(str::to_owned));
        }
        let start = json!({
            "id": 1,
            "method": "Tracing.start",
            "params": {
                "traceConfig": {
                    "includedCategories": categories,
                    // Not a ring buffer: the CPU profile's early chunks
                    // name the functions of all later samples.
                    "recordMode": "recordAsMuchAsPossible",
                    "traceBufferSizeInKb": 1_000_000,
                },
                "transferMode": "ReportEvents",
            },
        });
        if let Err(e) = commands.send(Message::text(start.to_string())).await {
            panic!("cannot start tracing: {e}");
        }
        match on_start.await {
            Ok(Value::Null) => {}
            Ok(error) => panic!("Tracing.start failed: {error}"),
            Err(_) => panic!("DevTools closed before tracing started"),
        }
        Recorder { commands, reader }
    }

    /// Ends the trace and returns its events.
    async fn stop(mut self) -> Vec<Value> {
        let end = json!({"id": 2, "method": "Tracing.end"});
        if let Err(e) = self.commands.send(Message::text(end.to_string())).await {
            panic!("cannot end tracing: {e}");
        }
        // A loaded machine takes a while to hand over a long trace.
        let deadline = DEADLINE * 10;
        match tokio::time::timeout(deadline, self.reader).await {
            Ok(Ok(events)) => events,
            Ok(Err(e)) => panic!("the trace reader failed: {e}"),
            Err(_) => panic!("the trace did not complete within {deadline:?}"),
        }
    }
}
