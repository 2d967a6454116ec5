//! What the page does with each way the server ends a connection (the close
//! table of `docs/PROTOCOL.md`), as a person sees it in the header:
//!
//! - 1008 (the link's key was revoked) and 4005 (the document is at its size
//!   limit): no more reconnecting, and the header says why;
//! - 1013 (the server is at capacity): "Reconnecting in N s" counts down
//!   from the server's retry hint, and "Retry now" reconnects at once;
//! - 4002 (the page fell too far behind): the server cuts it off, the page
//!   resyncs by itself and nothing is lost.

use std::time::Duration;

use tandem_e2e::{
    DEADLINE, NativePeer, Page, ServerProcess, TestServer, poll, run_test, run_test_with, tid,
};
use tandem_shared::close::{CloseCode, retry_after};

/// A reconnect may wait out a few backoff steps (1 s doubling, with jitter).
const RECONNECT: Duration = Duration::from_secs(45);

/// Two secrets for the real binary: replacing the first with the second
/// revokes every key signed with the first.
const FIRST_SECRET: &str = "e2e-first-secret-e2e-first-secret-e2e";
const SECOND_SECRET: &str = "e2e-second-secret-e2e-second-secret-e2e";

/// The reason of the last close with `code` the page's sockets received,
/// once there is one (recorded by [`Page::record_connection`]).
async fn close_reason(page: &Page, code: CloseCode) -> String {
    let wanted = code.number();
    poll(
        &format!("the page to receive a close {wanted} with a reason"),
        DEADLINE,
        async || {
            let closes = page.closes().await;
            closes
                .iter()
                .rev()
                .find(|(code, reason)| *code == wanted && !reason.is_empty())
                .map(|(_, reason)| reason.clone())
                .ok_or_else(|| format!("closes {closes:?}"))
        },
    )
    .await
}

/// The page gave up for good and says why: the badge is `closed` and reads
/// "Disconnected: {reason}", with no "Retry now".
async fn assert_gave_up_saying(page: &Page, reason: &str) {
    page.wait_for_connection("closed", DEADLINE).await;
    let shown = page.text(&tid("connection-state")).await;
    assert_eq!(
        shown.trim(),
        format!("Disconnected: {reason}"),
        "the header says why the connection ended"
    );
    assert!(
        !page.is_present(&tid("retry-now")).await,
        "nothing to retry once the server refused"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_key_stops_reconnecting_and_says_why() {
    run_test(
        "a_revoked_key_stops_reconnecting_and_says_why",
        async |ctx| {
            let (editor, save) = (tid("editor"), tid("save-state"));
            let mut server = ServerProcess::start(&["--secret", FIRST_SECRET]).await;
            let page = ctx.page_on(server.url()).await;
            page.record_connection().await;
            let doc = page.new_document().await;
            let (room, key) = (doc.room.as_str(), doc.key.as_str());
            page.type_into(&editor, "Written with a key.").await;
            page.wait_for_attr(&save, "data-state", "saved", DEADLINE)
                .await;
            // The key works: it edits, and it reads the server's copy.
            assert!(
                !page.is_present(&tid("read-only-banner")).await,
                "the edit key edits"
            );
            let (status, body) = server
                .get(&format!("/api/rooms/{room}/text?key={key}"))
                .await;
            assert_eq!((status, body.as_str()), (200, "Written with a key."));

            // A new secret revokes every key signed with the old one.
            server.restart_with(&["--secret", SECOND_SECRET]).await;
            page.wait_for_connection("closed", RECONNECT).await;
            let reason = close_reason(&page, CloseCode::Policy).await;
            assert_gave_up_saying(&page, &reason).await;
            assert_eq!(
                page.value(&editor).await,
                "Written with a key.",
                "the text stays on screen"
            );
        },
    )
    .await;
}

/// The largest document the 4005 test's server keeps, in bytes.
const SMALL_DOCUMENT: u64 = 4096;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_document_at_its_size_limit_stops_reconnecting_and_says_why() {
    run_test_with(
        "a_document_at_its_size_limit_stops_reconnecting_and_says_why",
        |config| config.max_document_bytes = SMALL_DOCUMENT,
        async |ctx| {
            let (editor, save) = (tid("editor"), tid("save-state"));
            let page = ctx.page().await;
            page.record_connection().await;
            page.open_editor("/d/e2e-too-large").await;
            page.type_into(&editor, "Short and saved.").await;
            page.wait_for_attr(&save, "data-state", "saved", DEADLINE)
                .await;

            // A paste twice the size the server keeps.
            let pasted = "x".repeat(2 * SMALL_DOCUMENT as usize);
            page.set_caret(&editor, 16).await;
            page.insert_text(&pasted).await;
            page.wait_for_connection("closed", DEADLINE).await;
            let reason = close_reason(&page, CloseCode::DocumentTooLarge).await;
            assert_gave_up_saying(&page, &reason).await;

            // The paste stays on screen, never claimed as saved, and the
            // server kept what it had.
            assert_eq!(
                page.value(&editor).await,
                format!("Short and saved.{pasted}")
            );
            page.wait_for_attr(&save, "data-state", "unsaved", DEADLINE)
                .await;
            // Not "offline": no reconnect is coming; the edits wait here.
            page.wait_for_text(&save, "kept in this browser", DEADLINE)
                .await;
            let (status, body) = ctx.server.get("/api/rooms/e2e-too-large/text").await;
            assert_eq!((status, body.as_str()), (200, "Short and saved."));
        },
    )
    .await;
}

/// The seconds left in a "Reconnecting in N s (attempt M)" badge text or
/// recorded state.
fn countdown(state: &str) -> Option<u64> {
    let (_, rest) = state.split_once("Reconnecting in ")?;
    rest.split_once(" s")?.0.parse().ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_server_is_retried_after_its_hint_and_retry_now_reconnects_at_once() {
    run_test_with(
        "a_full_server_is_retried_after_its_hint_and_retry_now_reconnects_at_once",
        |config| config.max_connections = 1,
        async |ctx| {
            // Someone else holds the server's only connection.
            let other = NativePeer::join(&ctx.server.ws_base(), "e2e-full", None, "Grace").await;
            let page = ctx.page().await;
            page.record_connection().await;
            page.goto("/d/e2e-full").await;
            page.wait_for_connection("reconnecting", DEADLINE).await;

            // The countdown starts from the server's hint, not the backoff
            // schedule (whose first step is at most 1 s).
            let reason = close_reason(&page, CloseCode::TryAgainLater).await;
            let hint = retry_after(&reason)
                .unwrap_or_else(|| panic!("a 1013 close carries a retry hint: {reason:?}"));
            let states = page.connection_states().await;
            let first = states.iter().find(|s| s.starts_with("reconnecting"));
            assert_eq!(
                first.map(String::as_str),
                Some(format!("reconnecting Reconnecting in {hint} s (attempt 1)").as_str()),
                "the first countdown after {reason:?}; states seen: {states:?}"
            );

            // The server has room again; "Retry now" does not wait for the
            // countdown to run out.
            drop(other);
            let limits = ctx.server.state.limits.clone();
            poll(
                "the other connection to be gone",
                DEADLINE,
                async || match limits.open() {
                    0 => Ok(()),
                    open => Err(format!("{open} connections open")),
                },
            )
            .await;
            let left = countdown(&page.text(&tid("connection-state")).await);
            assert!(
                left.is_some_and(|s| s >= 2),
                "the countdown still has seconds to run before Retry now is pressed: {left:?}"
            );
            page.click(&tid("retry-now")).await;
            page.wait_for_connection("connected", DEADLINE).await;
            let states = page.connection_states().await;
            let last_count = states.iter().rev().find_map(|s| countdown(s));
            assert!(
                last_count.is_some_and(|s| s >= 2),
                "the page reconnected before its countdown ran out; states seen: {states:?}"
            );
            page.wait_for_attr(&tid("save-state"), "data-state", "saved", DEADLINE)
                .await;
        },
    )
    .await;
}

/// How many connections the server has cut off for falling behind
/// (`tandem_disconnects_total{reason="slow_consumer"}`, all rooms).
async fn slow_consumer_cuts(server: &TestServer) -> u64 {
    let (status, metrics) = server.get("/metrics").await;
    assert_eq!(status, 200, "GET /metrics");
    metrics
        .lines()
        .filter(|l| {
            l.starts_with("tandem_disconnects_total") && l.contains("reason=\"slow_consumer\"")
        })
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum::<f64>() as u64
}

/// Each step of the burst inserts and deletes this many characters (the
/// text stays small, the traffic does not), then a marker.
const CHUNK: u32 = 64 * 1024;
/// At most this many steps (24 MiB of inserts): far more than the socket
/// buffers and the outbox hold; the burst stops at the cut.
const MAX_STEPS: u32 = 384;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_that_falls_behind_is_cut_off_then_resyncs_and_loses_nothing() {
    run_test_with(
        "a_page_that_falls_behind_is_cut_off_then_resyncs_and_loses_nothing",
        |config| {
            config.queue_messages = 64;
            config.queue_bytes = 256 * 1024;
            config.rate_limit = 1_000_000;
            config.rate_burst = 1_000_000;
        },
        async |ctx| {
            let (editor, save) = (tid("editor"), tid("save-state"));
            let page = ctx.page().await;
            page.open_editor("/d/e2e-slow").await;
            page.type_into(&editor, "Before. ").await;
            page.wait_for_attr(&save, "data-state", "saved", DEADLINE)
                .await;
            let first_connection = page.client_id().await;
            let mut writer = ctx.server.client("e2e-slow").await;
            writer
                .pump_until("the page's text", |c| c.content() == "Before. ")
                .await;
            let cuts_before = slow_consumer_cuts(&ctx.server).await;

            // The page stops reading: a dialog blocks its main thread, so
            // frames pile up in the browser, then in the socket buffers,
            // then in the server's queue for it.
            page.eval("setTimeout(() => alert('Busy'), 0)").await;
            poll("the dialog to be open", DEADLINE, async || {
                page.client()
                    .get_alert_text()
                    .await
                    .map_err(|e| e.to_string())
            })
            .await;
            let chunk = "x".repeat(CHUNK as usize);
            let mut markers = String::new();
            for step in 0..MAX_STEPS {
                let at = writer.len();
                writer.insert(at, &chunk).await;
                writer.delete(at, CHUNK).await;
                let marker = format!("<{step}>");
                writer.insert(at, &marker).await;
                markers.push_str(&marker);
                writer.drain().await;
                if step % 4 == 3 && slow_consumer_cuts(&ctx.server).await > cuts_before {
                    break;
                }
            }
            if let Err(err) = page.client().dismiss_alert().await {
                panic!("cannot dismiss the dialog: {err}");
            }

            // The page catches up by itself, exactly: everything the writer
            // wrote, once.
            let text = format!("Before. {markers}");
            page.wait_for_value(&editor, &text, RECONNECT).await;
            page.wait_for_connection("connected", RECONNECT).await;
            page.wait_for_attr(&save, "data-state", "saved", DEADLINE)
                .await;
            assert!(
                slow_consumer_cuts(&ctx.server).await > cuts_before,
                "the server cut the page off as a slow consumer"
            );
            assert_ne!(
                page.client_id().await,
                first_connection,
                "the page is on a new connection"
            );

            // And it edits on as before.
            let end = u32::try_from(text.encode_utf16().count()).unwrap_or(u32::MAX);
            page.type_at(&editor, end, " After.").await;
            let text = format!("{text} After.");
            writer
                .pump_until("the page's last words", |c| c.content() == text)
                .await;
            page.wait_for_attr(&save, "data-state", "saved", DEADLINE)
                .await;
            let (status, body) = ctx.server.get("/api/rooms/e2e-slow/text").await;
            assert_eq!(
                (status, body.as_str()),
                (200, text.as_str()),
                "the server's copy"
            );
        },
    )
    .await;
}
