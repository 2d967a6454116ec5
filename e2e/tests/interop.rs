//! Stock Yjs clients in Tandem rooms (issue 10): the y-websocket provider
//! under Node and pycrdt-websocket under Python edit one room together with
//! a native Tandem client and the web client in Chromium; all converge,
//! presence crosses between the two worlds, a bad update costs only its
//! sender's connection, and the stock clients come back by themselves
//! after a server restart.
//!
//! The stock clients come from `cargo xtask test` (`TANDEM_INTEROP_DIR`).

use std::time::Duration;

use tandem_e2e::{
    DEADLINE, NativePeer, Page, TestContext, YjsPeer, YjsRuntime, poll, run_test, tid,
};

/// A reconnect after a server restart may wait out a backoff step or two.
const RECONNECT: Duration = Duration::from_secs(45);

/// Creates a protected document in `page` ("New document") and returns its
/// room and edit key, with the page connected and named `name`.
async fn new_document(page: &Page, name: &str) -> (String, String) {
    let doc = page.new_document().await;
    page.set_name(name).await;
    (doc.room, doc.key)
}

/// Everyone in the room, for waiting on convergence.
struct Room<'a> {
    page: &'a Page,
    native: &'a NativePeer,
    yjs: Vec<&'a mut YjsPeer>,
}

impl Room<'_> {
    /// Waits until the page shows a text that contains each of `parts`
    /// exactly once, then until every other client has exactly that text;
    /// returns it.
    async fn converge(&mut self, parts: &[&str], deadline: Duration) -> String {
        let editor = tid("editor");
        let text = poll(
            &format!("the browser to show each of {parts:?} once"),
            deadline,
            async || {
                let text = self.page.value(&editor).await;
                if parts.iter().all(|p| text.matches(p).count() == 1) {
                    Ok(text)
                } else {
                    Err(format!("it shows {text:?}"))
                }
            },
        )
        .await;
        self.native.wait_for_text(&text, deadline).await;
        for peer in &mut self.yjs {
            peer.wait_for_text(&text, deadline).await;
        }
        text
    }
}

/// The names `page` shows in its participants list, other than its own.
async fn participant_names(page: &Page) -> Vec<String> {
    let names = page
        .eval(
            "return [...document.querySelectorAll('[data-testid=\"participant\"]:not([data-self])')]\
                .map(p => p.getAttribute('data-name')).sort()",
        )
        .await;
    serde_json::from_value(names).unwrap_or_default()
}

/// The client id `page` shows for the participant named `name`, once it is there.
async fn participant_id(page: &Page, name: &str) -> String {
    let css = format!("{}[data-name=\"{name}\"]", tid("participant"));
    page.wait_for(&css, DEADLINE).await;
    page.attr(&css, "data-client-id")
        .await
        .unwrap_or_else(|| panic!("{name}'s avatar has no data-client-id"))
}

/// Starts the browser (Ada), a native client (Nat), a Node peer (Noel) and a
/// Python peer (Pia) in a fresh protected room.
async fn everyone(ctx: &mut TestContext) -> (Page, NativePeer, YjsPeer, YjsPeer, String) {
    let page = ctx.page().await;
    let (room, key) = new_document(&page, "Ada").await;
    let ws = ctx.server.ws_base();
    let native = NativePeer::join(&ws, &room, Some(&key), "Nat").await;
    let node = YjsPeer::start(YjsRuntime::Node, &ws, &room, "Noel", Some(&key)).await;
    let python = YjsPeer::start(YjsRuntime::Python, &ws, &room, "Pia", Some(&key)).await;
    (page, native, node, python, room)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn yjs_clients_and_tandem_clients_edit_one_room() {
    run_test(
        "yjs_clients_and_tandem_clients_edit_one_room",
        async |ctx| {
            let (page, native, mut node, mut python, room) = everyone(ctx).await;
            for peer in [&mut node, &mut python] {
                peer.wait_until("its first sync", DEADLINE, |s| s.synced)
                    .await;
            }

            // Everyone writes at once, each at the start of the text.
            let editor = tid("editor");
            page.type_at(&editor, 0, "browser; ").await;
            native.insert(0, "native; ").await;
            node.insert(0, "node; ").await;
            python.insert(0, "python; ").await;
            let parts = ["browser; ", "native; ", "node; ", "python; "];
            let text = Room {
                page: &page,
                native: &native,
                yjs: vec![&mut node, &mut python],
            }
            .converge(&parts, DEADLINE)
            .await;
            assert_eq!(text.len(), parts.concat().len(), "nothing more: {text:?}");
            let (status, body) = ctx
                .server
                .get(&format!("/api/rooms/{room}/text?key=e.none"))
                .await;
            assert_eq!(status, 403, "a wrong key reads nothing ({body})");

            // Presence crosses both ways: the browser lists the Yjs users…
            poll("the browser to list Nat, Noel and Pia", DEADLINE, async || {
                let names = participant_names(&page).await;
                if names == ["Nat", "Noel", "Pia"] {
                    Ok(())
                } else {
                    Err(format!("it lists {names:?}"))
                }
            })
            .await;
            page.wait_for_attr(&tid("participants"), "data-count", "4", DEADLINE)
                .await;
            // …and the Yjs users see the browser's and the native client's names.
            for peer in [&mut node, &mut python] {
                peer.wait_until("Ada and Nat among its peers", DEADLINE, |s| {
                    ["Ada", "Nat"].iter().all(|n| s.peers.iter().any(|p| p == n))
                })
                .await;
            }
            native
                .wait_until("Ada, Noel and Pia among its peers", DEADLINE, |s, _| {
                    let mut names: Vec<&str> = s.peers.values().map(String::as_str).collect();
                    names.sort_unstable();
                    names == ["Ada", "Noel", "Pia"]
                })
                .await;

            // A Yjs caret shows in the browser where the Yjs user put it.
            let noel = participant_id(&page, "Noel").await;
            node.cursor(4).await;
            page.wait_for_script(
                "Noel's caret at offset 4",
                DEADLINE,
                &format!(
                    "const c = document.querySelector('[data-testid=\"remote-caret\"][data-client-id=\"{noel}\"]');\
                     return c && c.getAttribute('data-offset');"
                ),
                |offset| (offset.as_str() == Some("4")).then_some(()),
            )
            .await;

            node.quit().await;
            python.quit().await;
            poll("Noel and Pia to leave the browser's list", DEADLINE, async || {
                let names = participant_names(&page).await;
                if names == ["Nat"] {
                    Ok(())
                } else {
                    Err(format!("it lists {names:?}"))
                }
            })
            .await;
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_update_from_a_yjs_client_costs_only_its_connection() {
    run_test(
        "a_bad_update_from_a_yjs_client_costs_only_its_connection",
        async |ctx| {
            let (page, native, mut node, mut python, _room) = everyone(ctx).await;
            let editor = tid("editor");
            native.insert(0, "Shared text.").await;
            let mut room = Room {
                page: &page,
                native: &native,
                yjs: vec![&mut node, &mut python],
            };
            room.converge(&["Shared text."], DEADLINE).await;
            drop(room);
            let noel_before = participant_id(&page, "Noel").await;
            let page_id = page.client_id().await;
            let native_id = native.session().client_id;

            node.bad_update().await;

            // The server closed Noel's connection; the provider made a new
            // one by itself: Noel is back, under a new connection id.
            let noel_after = page
                .wait_for_script(
                    "Noel to come back on a new connection",
                    DEADLINE,
                    "return [...document.querySelectorAll('[data-testid=\"participant\"][data-name=\"Noel\"]')]\
                        .map(p => p.getAttribute('data-client-id'))",
                    |ids| match ids.as_array().map(Vec::as_slice) {
                        Some([id]) if id.as_str() != Some(&noel_before) => {
                            id.as_str().map(str::to_owned)
                        }
                        _ => None,
                    },
                )
                .await;
            assert_ne!(noel_after, noel_before);
            node.wait_until("synced again", DEADLINE, |s| s.synced).await;
            // Why the server closed it, as an operator sees it: an invalid update.
            let (status, metrics) = ctx.server.get("/metrics").await;
            let refused = metrics
                .lines()
                .filter(|l| {
                    l.starts_with("tandem_disconnects_total{")
                        && l.contains("reason=\"invalid_update\"")
                })
                .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
                .sum::<f64>();
            assert!(
                status == 200 && refused >= 1.0,
                "/metrics counts the close for an invalid update ({status}):\n{metrics}"
            );

            // Nobody else noticed: same connections, and edits from every
            // side still reach everyone, Noel's too.
            assert_eq!(page.client_id().await, page_id, "the browser kept its connection");
            assert_eq!(native.session().client_id, native_id, "the native client kept its connection");
            assert_eq!(native.session().syncs, 1, "the native client never reconnected");
            page.type_at(&editor, 12, " From Ada.").await;
            node.insert(0, "Noel again. ").await;
            python.insert(0, "Pia too. ").await;
            let mut room = Room {
                page: &page,
                native: &native,
                yjs: vec![&mut node, &mut python],
            };
            let text = room
                .converge(&["Shared text.", " From Ada.", "Noel again. ", "Pia too. "], DEADLINE)
                .await;
            assert!(
                text.ends_with("Shared text. From Ada."),
                "the browser's words follow the shared text: {text:?}"
            );
            page.wait_for_connection("connected", DEADLINE).await;
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stock_clients_come_back_by_themselves_after_a_server_restart() {
    run_test(
        "stock_clients_come_back_by_themselves_after_a_server_restart",
        async |ctx| {
            let (page, native, mut node, mut python, _room) = everyone(ctx).await;
            let editor = tid("editor");
            page.type_at(&editor, 0, "Before.").await;
            let mut room = Room {
                page: &page,
                native: &native,
                yjs: vec![&mut node, &mut python],
            };
            room.converge(&["Before."], DEADLINE).await;
            drop(room);
            page.wait_for_attr(&tid("save-state"), "data-state", "saved", DEADLINE)
                .await;

            ctx.server.restart().await;

            // Nobody is told anything: each client reconnects on its own,
            // and what each writes next reaches all of them.
            page.wait_for_connection("connected", RECONNECT).await;
            native
                .wait_until("its second sync", RECONNECT, |s, _| {
                    s.synced && s.syncs >= 2
                })
                .await;
            node.insert(0, "Node after. ").await;
            python.insert(0, "Python after. ").await;
            native.insert(0, "Native after. ").await;
            page.type_at(&editor, 0, "Browser after. ").await;
            let mut room = Room {
                page: &page,
                native: &native,
                yjs: vec![&mut node, &mut python],
            };
            room.converge(
                &[
                    "Before.",
                    "Node after. ",
                    "Python after. ",
                    "Native after. ",
                    "Browser after. ",
                ],
                RECONNECT,
            )
            .await;
        },
    )
    .await;
}
