//! `authors-perf`: who wrote what on long documents (issue 28), in headless
//! Chromium on loopback. A measurement, not a test.
//!
//! ```sh
//! TANDEM_E2E_DIST=$PWD/dist cargo run --release -p tandem-e2e --bin authors-perf \
//!     [-- ../shared/bench-data/automerge-paper.json.gz]
//! ```
//!
//! Three documents are made from one editing trace (by default the
//! 259,778-edit automerge paper) by replaying its edits through the real
//! protocol: by one native client (one author), by two and by three. Several
//! authors take turns every [`TURN`] edits; each sends its turn as one
//! update once it has read the others', so the text ends as a patchwork of
//! their runs, as a document written together does, with the trace's own
//! item structure (every insert and delete its own item). Each author is a
//! person to the room (an author secret in its hello).
//!
//! For each document a fresh page opens it in Split at 1280 × 900 and turns
//! "Show authors" on, then off and on again, [`READS`] times in all. Each time the page reads every item of the
//! body and computes the runs under the room's authorship: the page's own
//! User Timing measure `tandem:authors-runs` (see `client/src/authors`).
//!
//! Then, on the one-author paper, two pages A and B in Split: keystrokes in
//! the middle of the text with the toggle off in A, then on (as
//! `markdown-perf` measures them: A's keydown to A's next frame painted, and
//! to the character in B's field), and the page's measure
//! `tandem:authors-update` (one keystroke's runs brought up to date) while
//! typing with the toggle on. It prints median, p95 and maximum of each, and
//! exits; nothing is asserted.

use std::path::Path;
use std::process::ExitCode;

use serde_json::Value;
use tandem_e2e::perf::{PAPER, STAMP_LOCAL, STAMP_REMOTE, dist_given, keystrokes, numbers, row};
use tandem_e2e::{Browser, DEADLINE, Page, start_server, tid};
use tandem_loadgen::trace::{Trace, Utf16Edit, to_utf16};
use tandem_testkit::{Client, TestServer};
use yrs::{Text as _, Transact as _};

/// Edits in one author's turn, when several take turns.
const TURN: usize = 400;
/// Edits in one update, when one author writes everything.
const ONE_AUTHOR_UPDATE: usize = 2000;
/// Whole reads measured per document.
const READS: usize = 10;

/// The runs measured in a page: the durations of `name` so far, in ms.
const MEASURES: &str = r#"
return performance.getEntriesByName(arguments[0], 'measure').map(m => m.duration);
"#;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> ExitCode {
    if !dist_given() {
        return ExitCode::FAILURE;
    }
    let path = std::env::args().nth(1).unwrap_or_else(|| PAPER.to_owned());
    let (edits, text) = match Trace::load(Path::new(&path)).and_then(|t| to_utf16(&t, None)) {
        Ok(loaded) => loaded,
        Err(e) => {
            eprintln!("error: cannot read {path}: {e:#}");
            return ExitCode::FAILURE;
        }
    };
    let mut server = start_server().await;
    let browser = Browser::start().await;

    let mut reads = Vec::new();
    for authors in 1..=3 {
        let room = format!("authors-perf-{authors}");
        replay(&server, &room, &edits, authors, &text).await;
        let page = browser.session(server.url()).await;
        page.set_viewport(1280, 900).await;
        page.open_editor(&format!("/d/{room}")).await;
        page.click(&tid("view-split")).await;
        page.wait_for_attr(".doc-main", "data-mode", "split", DEADLINE)
            .await;
        page.click(&tid("authors-toggle")).await;
        wait_for_legend(&page, authors).await;
        let runs = page
            .eval("return document.querySelectorAll('.editor-highlight span.au').length")
            .await;
        for _ in 1..READS {
            page.click(&tid("authors-toggle")).await;
            page.wait_for_gone(&tid("authors-legend"), DEADLINE).await;
            page.click(&tid("authors-toggle")).await;
            wait_for_legend(&page, authors).await;
        }
        let seen = measures(&page, "tandem:authors-runs").await;
        if seen.len() != READS {
            panic!(
                "the page measured {} whole reads for {READS} toggles",
                seen.len()
            );
        }
        reads.push((authors, runs, seen));
        page.close().await;
    }

    // Keystrokes on the one-author paper, the toggle off and then on.
    let (a, b) = (
        browser.session(server.url()).await,
        browser.session(server.url()).await,
    );
    for page in [&a, &b] {
        page.set_viewport(1280, 900).await;
        page.open_editor("/d/authors-perf-1").await;
        page.click(&tid("view-split")).await;
        page.wait_for_attr(".doc-main", "data-mode", "split", DEADLINE)
            .await;
    }
    a.eval(STAMP_LOCAL).await;
    b.eval(STAMP_REMOTE).await;
    let middle = (text.encode_utf16().count() / 2) as u32;
    let off = keystrokes(&a, &b, middle, false).await;
    a.click(&tid("authors-toggle")).await;
    // The paper's author, and A (who typed the first phase).
    wait_for_legend(&a, 2).await;
    let before = measures(&a, "tandem:authors-update").await.len();
    let on = keystrokes(&a, &b, middle, false).await;
    let updates: Vec<f64> = measures(&a, "tandem:authors-update")
        .await
        .into_iter()
        .skip(before)
        .collect();
    a.close().await;
    b.close().await;
    server.stop().await;
    drop(browser);

    println!(
        "Who wrote what on {path} ({} edits, {} characters), headless Chromium, loopback:",
        edits.len(),
        text.chars().count()
    );
    println!("| figure | median | p95 | max |");
    println!("|---|---:|---:|---:|");
    for (authors, runs, samples) in &reads {
        row(
            &format!(
                "{authors} author{}, {runs} tinted spans: runs from the whole body (`tandem:authors-runs`)",
                if *authors == 1 { "" } else { "s" }
            ),
            samples,
        );
    }
    row(
        "1 author, Split, authors hidden: keystroke → local paint",
        &off.painted,
    );
    row(
        "1 author, Split, authors shown: keystroke → local paint",
        &on.painted,
    );
    row(
        "1 author, Split, authors hidden: keystroke → remote character",
        &off.remote,
    );
    row(
        "1 author, Split, authors shown: keystroke → remote character",
        &on.remote,
    );
    row(
        "1 author, authors shown: one keystroke's runs (`tandem:authors-update`)",
        &updates,
    );
    ExitCode::SUCCESS
}

/// Replays `edits` into `room` through `authors` native clients taking
/// turns, and waits until the server has saved everything and holds
/// `expected`.
async fn replay(
    server: &TestServer,
    room: &str,
    edits: &[Utf16Edit],
    authors: usize,
    expected: &str,
) {
    let url = server.ws_url(room);
    let mut clients = Vec::new();
    for i in 0..authors {
        let secret = format!("authorsperfsecret{i}x{}", room.len());
        clients.push(Client::connect_as(&url, None, &secret).await);
    }
    let turn = if authors == 1 {
        ONE_AUTHOR_UPDATE
    } else {
        TURN
    };
    for (n, chunk) in edits.chunks(turn).enumerate() {
        let writer = n % authors;
        let update = {
            let client = &clients[writer];
            let body = client.doc().get_or_insert_text(tandem_shared::doc::CONTENT);
            let mut txn = client.doc().transact_mut();
            for edit in chunk {
                if edit.remove > 0 {
                    body.remove_range(&mut txn, edit.index, edit.remove);
                }
                if !edit.insert.is_empty() {
                    body.insert(&mut txn, edit.index, &edit.insert);
                }
            }
            txn.encode_update_v1()
        };
        clients[writer].send_update(update).await;
        // The next writer reads this turn before writing its own.
        let next = (n + 1) % authors;
        if next != writer {
            let want = clients[writer].content();
            clients[next]
                .pump_until("the previous turn", |c| c.content() == want)
                .await;
        }
    }
    for client in &mut clients {
        client.wait_saved().await;
    }
    let check = server.client(room).await;
    assert_eq!(
        check.content(),
        expected,
        "the replayed trace ends with the trace's text"
    );
    check.close().await;
    for client in clients {
        client.close().await;
    }
}

/// Waits until `page`'s legend lists `authors` authors.
async fn wait_for_legend(page: &Page, authors: usize) {
    page.wait_for_script(
        &format!("the legend of {authors} authors"),
        DEADLINE,
        "return document.querySelectorAll('[data-testid=\"author-share\"][data-author]').length",
        |seen| (seen.as_u64() == Some(authors as u64)).then_some(()),
    )
    .await;
}

/// The durations of the page's measures named `name`, oldest first.
async fn measures(page: &Page, name: &str) -> Vec<f64> {
    numbers(page.eval_with(MEASURES, vec![Value::from(name)]).await)
}
