//! Comment links through the real server: a link whose right is `comment`
//! may add and answer comments (`shared::comments`) but not change the
//! text. The room checks every update from such a connection on the CRDT
//! itself and refuses, with an `error` frame of code `comment_only`, any
//! that changes more than the comments; the room and the other members are
//! left as they were. View links cannot comment at all.

use std::time::Duration;

use tandem_shared::close::CloseCode;
use tandem_shared::comments::{self, COMMENTS, Comment, Stamp};
use tandem_shared::doc::{CONTENT, TITLE};
use tandem_shared::links::{LinkEntry, Right};
use tandem_shared::{CreatedRoom, ErrorCode, ServerMsg};
use tandem_testkit::{Client, TestServer, http};
use yrs::{GetString, ReadTxn, Text, Transact, TransactionMut, WriteTxn};

async fn create_room(server: &TestServer, name: &str) -> CreatedRoom {
    let body = format!("{{\"name\":\"{name}\"}}");
    let (status, answer) = http(server.addr, "POST", "/api/rooms", None, &body).await;
    assert_eq!(status, 201, "{answer}");
    serde_json::from_str(&answer).expect("created room")
}

/// A comment link for `room`, made by an editor through the links API.
async fn comment_link(server: &TestServer, room: &str, edit_key: &str) -> String {
    let path = format!("/api/rooms/{room}/links");
    let body = r#"{"right":"comment","label":"Review"}"#;
    let (status, answer) = http(server.addr, "POST", &path, Some(edit_key), body).await;
    assert_eq!(status, 201, "{answer}");
    let link: LinkEntry = serde_json::from_str(&answer).expect("a link");
    assert_eq!(link.right, Right::Comment);
    link.key.expect("an active link's key")
}

fn note(id: &str, text: &str) -> Comment {
    Comment {
        id: id.to_owned(),
        stamp: Stamp {
            author: "reviewer".to_owned(),
            name: "Rev".to_owned(),
            color: "#2f8636".to_owned(),
            time: 1_765_000_000_000,
        },
        text: text.to_owned(),
    }
}

/// Makes `change` on `client`'s copy and sends it as one update.
async fn send_change(client: &mut Client, change: impl FnOnce(&mut TransactionMut)) {
    let update = {
        let doc = client.doc();
        // Every root exists before the change reads the state vector.
        doc.get_or_insert_text(CONTENT);
        doc.get_or_insert_text(TITLE);
        doc.get_or_insert_map(COMMENTS);
        let before = doc.transact().state_vector();
        change(&mut doc.transact_mut());
        doc.transact().encode_diff_v1(&before)
    };
    client.send_update(update).await;
}

/// Opens thread `id` on `range` of the body, as the page would.
fn open(
    id: &'static str,
    range: (u32, u32),
    text: &'static str,
) -> impl FnOnce(&mut TransactionMut) {
    move |txn| {
        let notes = txn.get_or_insert_map(COMMENTS);
        let body = txn.get_or_insert_text(CONTENT);
        comments::open_thread(txn, &notes, &body, id, range, &note("c1", text)).expect("open");
    }
}

/// The threads `client`'s copy holds: (id, anchored text, comment texts).
fn threads(client: &Client) -> Vec<(String, String, Vec<String>)> {
    let doc = client.doc();
    let notes = doc.get_or_insert_map(COMMENTS);
    let body = doc.get_or_insert_text(CONTENT);
    let txn = doc.transact();
    let text: Vec<u16> = body.get_string(&txn).encode_utf16().collect();
    comments::threads(&txn, &notes)
        .into_iter()
        .map(|thread| {
            let anchored = match thread.anchor(&txn) {
                comments::Anchor::Range { start, end } => {
                    String::from_utf16_lossy(&text[start as usize..end as usize])
                }
                comments::Anchor::Deleted => String::new(),
            };
            let said = thread.comments.iter().map(|c| c.text.clone()).collect();
            (thread.id, anchored, said)
        })
        .collect()
}

fn refusals(client: &Client) -> usize {
    client
        .errors
        .iter()
        .filter(|e| {
            matches!(
                e,
                ServerMsg::Error {
                    code: ErrorCode::CommentOnly,
                    ..
                }
            )
        })
        .count()
}

/// What a new editor reads from the room: body, title and threads.
async fn room_state(
    server: &TestServer,
    room: &str,
    key: &str,
) -> (String, String, Vec<(String, String, Vec<String>)>) {
    let mut reader = Client::connect_with_key(&server.ws_url(room), key).await;
    reader.round_trip().await;
    let title = {
        let doc = reader.doc();
        let title = doc.get_or_insert_text(TITLE);
        title.get_string(&doc.transact())
    };
    (reader.content(), title, threads(&reader))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_comment_link_comments_and_its_comments_are_stored_and_relayed() {
    let (server, _store) = TestServer::memory().await;
    let name = "comments-relayed";
    let room = create_room(&server, name).await;
    let mut editor = Client::connect_with_key(&server.ws_url(name), &room.edit_key).await;
    editor.insert(0, "Hello world. Second sentence.").await;
    editor.wait_saved().await;

    let key = comment_link(&server, name, &room.edit_key).await;
    let mut reviewer = Client::connect_with_key(&server.ws_url(name), &key).await;
    assert!(reviewer.read_only(), "the text is read-only to a reviewer");
    assert_eq!(reviewer.share(), None, "a reviewer holds no share keys");
    assert_eq!(reviewer.content(), "Hello world. Second sentence.");

    send_change(&mut reviewer, open("t1", (6, 11), "Which world?")).await;
    send_change(&mut reviewer, |txn| {
        let notes = txn.get_or_insert_map(COMMENTS);
        comments::reply(txn, &notes, "t1", &note("c2", "This one.")).expect("reply");
    })
    .await;
    reviewer.wait_saved().await;
    assert_eq!(refusals(&reviewer), 0, "{:?}", reviewer.errors);

    let expected = vec![(
        "t1".to_owned(),
        "world".to_owned(),
        vec!["Which world?".to_owned(), "This one.".to_owned()],
    )];
    editor
        .pump_until("the editor to see the thread", |c| threads(c) == expected)
        .await;
    // The editor types before the anchor: the thread stays on its word.
    editor.insert(0, "Oh. ").await;
    editor.wait_saved().await;
    reviewer
        .pump_until("the reviewer to see the edit", |c| {
            c.content().starts_with("Oh. ")
        })
        .await;
    assert_eq!(threads(&reviewer), expected);
    let (body, _, stored) = room_state(&server, name, &room.edit_key).await;
    assert_eq!(body, "Oh. Hello world. Second sentence.");
    assert_eq!(
        stored, expected,
        "a new reader gets the thread from the room"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_comment_link_s_text_edits_are_refused_and_the_room_is_unchanged() {
    let (server, _store) = TestServer::memory().await;
    let name = "comments-refused";
    let room = create_room(&server, name).await;
    let mut editor = Client::connect_with_key(&server.ws_url(name), &room.edit_key).await;
    editor.insert(0, "Hello world.").await;
    editor.wait_saved().await;
    let key = comment_link(&server, name, &room.edit_key).await;
    let mut reviewer = Client::connect_with_key(&server.ws_url(name), &key).await;
    send_change(&mut reviewer, open("t1", (0, 5), "Greeting?")).await;
    reviewer.wait_saved().await;
    editor
        .pump_until("the thread", |c| threads(c).len() == 1)
        .await;
    let before = room_state(&server, name, &room.edit_key).await;
    let relayed = editor.updates_received;

    // An insertion, a deletion, a title change, and a comment mixed with
    // an insertion: each refused, one error each, the connection stays.
    reviewer.insert(0, "X").await;
    reviewer.delete(0, 3).await;
    send_change(&mut reviewer, |txn| {
        let title = txn.get_or_insert_text(TITLE);
        title.insert(txn, 0, "Mine");
    })
    .await;
    send_change(&mut reviewer, |txn| {
        let notes = txn.get_or_insert_map(COMMENTS);
        comments::reply(txn, &notes, "t1", &note("c2", "And an edit")).expect("reply");
        let body = txn.get_or_insert_text(CONTENT);
        body.insert(txn, 0, "Y");
    })
    .await;
    reviewer
        .pump_until("four refusals", |c| refusals(c) >= 4)
        .await;
    reviewer.round_trip().await;
    assert_eq!(reviewer.closed, None, "refused in place, not closed");
    assert_eq!(refusals(&reviewer), 4);
    editor.round_trip().await;
    assert_eq!(editor.updates_received, relayed, "nothing was relayed");
    assert_eq!(room_state(&server, name, &room.edit_key).await, before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_view_link_cannot_comment() {
    let (server, _store) = TestServer::memory().await;
    let name = "comments-view";
    let room = create_room(&server, name).await;
    let mut editor = Client::connect_with_key(&server.ws_url(name), &room.edit_key).await;
    editor.insert(0, "Hello world.").await;
    editor.wait_saved().await;
    let mut viewer = Client::connect_with_key(&server.ws_url(name), &room.view_key).await;
    send_change(&mut viewer, open("t1", (0, 5), "Can I?")).await;
    let (code, reason) = viewer.expect_close().await;
    assert_eq!(code, CloseCode::Policy);
    assert!(reason.contains("view-only"), "{reason}");
    let (_, _, threads) = room_state(&server, name, &room.edit_key).await;
    assert!(threads.is_empty(), "{threads:?}");
}

/// A reviewer sending one comment after another: each is checked against
/// the room as the ones before it left it, and all land.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reviewer_s_many_comments_all_land() {
    let (server, _store) = TestServer::memory().await;
    let name = "comments-many";
    let room = create_room(&server, name).await;
    let mut editor = Client::connect_with_key(&server.ws_url(name), &room.edit_key).await;
    editor.insert(0, "Hello world.").await;
    editor.wait_saved().await;
    let key = comment_link(&server, name, &room.edit_key).await;
    let mut reviewer = Client::connect_with_key(&server.ws_url(name), &key).await;
    send_change(&mut reviewer, open("t1", (0, 5), "Start")).await;
    for i in 0..20 {
        let id = format!("r{i}");
        send_change(&mut reviewer, move |txn| {
            let notes = txn.get_or_insert_map(COMMENTS);
            comments::reply(txn, &notes, "t1", &note(&id, "more")).expect("reply");
        })
        .await;
        reviewer.step(Duration::from_millis(1)).await;
    }
    reviewer.wait_saved().await;
    assert_eq!(refusals(&reviewer), 0);
    editor
        .pump_until("21 comments", |c| {
            threads(c).first().is_some_and(|t| t.2.len() == 21)
        })
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restore_brings_back_the_comments_of_that_version() {
    let (server, _store) = TestServer::memory().await;
    let name = "comments-restore";
    let room = create_room(&server, name).await;
    let mut editor = Client::connect_with_key(&server.ws_url(name), &room.edit_key).await;
    editor.insert(0, "Hello world. Second sentence.").await;
    editor.wait_saved().await;
    let key = comment_link(&server, name, &room.edit_key).await;
    let mut reviewer = Client::connect_with_key(&server.ws_url(name), &key).await;
    send_change(&mut reviewer, open("t1", (6, 11), "Which world?")).await;
    reviewer.wait_saved().await;
    editor
        .pump_until("the thread", |c| threads(c).len() == 1)
        .await;
    let then = threads(&editor);

    let path = format!("/api/rooms/{name}/versions");
    let label = r#"{"label":"Reviewed"}"#;
    let (status, body) = http(server.addr, "POST", &path, Some(&room.edit_key), label).await;
    assert_eq!(status, 201, "{body}");
    let version: serde_json::Value = serde_json::from_str(&body).expect("a version");
    let id = version["id"].as_u64().expect("an id");

    // Afterwards the word goes, the thread is deleted and another opened.
    editor.delete(6, 6).await;
    send_change(&mut editor, |txn| {
        let notes = txn.get_or_insert_map(COMMENTS);
        comments::delete_comment(txn, &notes, "t1", "c1").expect("delete");
    })
    .await;
    send_change(&mut editor, open("t2", (0, 5), "Hi?")).await;
    editor.wait_saved().await;
    reviewer
        .pump_until("the reviewer to see the changes", |c| {
            threads(c).iter().map(|t| t.0.as_str()).eq(["t2"])
        })
        .await;

    let path = format!("/api/rooms/{name}/versions/{id}/restore");
    let (status, body) = http(server.addr, "POST", &path, Some(&room.edit_key), "").await;
    assert_eq!(status, 200, "{body}");
    for client in [&mut editor, &mut reviewer] {
        client
            .pump_until("the restored thread", |c| {
                c.content() == "Hello world. Second sentence." && threads(c) == then
            })
            .await;
    }
    let (_, _, stored) = room_state(&server, name, &room.edit_key).await;
    assert_eq!(stored, then);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_link_changed_to_comment_and_then_to_view_follows_in_place() {
    let (server, _store) = TestServer::memory().await;
    let name = "comments-narrowed";
    let room = create_room(&server, name).await;
    let path = format!("/api/rooms/{name}/links");
    let (status, answer) = http(
        server.addr,
        "POST",
        &path,
        Some(&room.edit_key),
        r#"{"right":"edit"}"#,
    )
    .await;
    assert_eq!(status, 201, "{answer}");
    let link: LinkEntry = serde_json::from_str(&answer).expect("a link");
    let mut writer =
        Client::connect_with_key(&server.ws_url(name), link.key.as_deref().expect("key")).await;
    writer.insert(0, "Hello world.").await;
    writer.wait_saved().await;

    let path = format!("/api/rooms/{name}/links/{}", link.id);
    let body = r#"{"right":"comment"}"#;
    let (status, answer) = http(server.addr, "PATCH", &path, Some(&room.edit_key), body).await;
    assert_eq!(status, 200, "{answer}");
    writer
        .pump_until("the writer to be told", Client::read_only)
        .await;
    assert!(
        writer.errors.is_empty() && writer.closed.is_none(),
        "{:?}",
        writer.errors
    );
    send_change(&mut writer, open("t1", (0, 5), "Now I only comment")).await;
    writer.insert(0, "X").await;
    writer
        .pump_until("the edit refused", |c| refusals(c) == 1)
        .await;
    let (body, _, threads) = room_state(&server, name, &room.edit_key).await;
    assert_eq!(body, "Hello world.");
    assert_eq!(threads.len(), 1, "the comment was taken: {threads:?}");

    // Narrowed to view, it may not even comment.
    let (status, answer) = http(
        server.addr,
        "PATCH",
        &path,
        Some(&room.edit_key),
        r#"{"right":"view"}"#,
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    let before = writer.errors.len();
    writer.round_trip().await;
    send_change(&mut writer, |txn| {
        let notes = txn.get_or_insert_map(COMMENTS);
        comments::reply(txn, &notes, "t1", &note("c2", "Still here?")).expect("reply");
    })
    .await;
    writer
        .pump_until("the reply refused", |c| {
            c.errors[before..].iter().any(|e| {
                matches!(
                    e,
                    ServerMsg::Error {
                        code: ErrorCode::ReadOnly,
                        ..
                    }
                )
            })
        })
        .await;
    let (_, _, threads) = room_state(&server, name, &room.edit_key).await;
    assert_eq!(threads[0].2.len(), 1, "no reply: {threads:?}");
}
