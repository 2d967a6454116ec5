//! Rooms driven through their handles, as connections drive them, with a
//! [`MemoryStore`] and recorded members ([`TestMember`]) in place of sockets.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use tandem_shared::close::CloseCode;
use tandem_shared::{ClientId, RoomId, ServerMsg, SyncFrame};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use yrs::updates::decoder::Decode;
use yrs::{Doc, ReadTxn, Text, Transact, Update};

use super::recipient::testing::TestMember;
use super::*;
use crate::access::{Keys, Right};
use crate::links::LinkId;
use crate::store::{MemoryStore, Store};

fn settings(idle: Duration) -> RoomSettings {
    RoomSettings {
        idle,
        compact_updates: 1000,
        compact_bytes: 1 << 20,
        max_connections: 10,
        max_document_bytes: 1 << 20,
        labelled_rooms: 10,
        history: HistoryPolicy::default(),
    }
}

fn registry_with(store: Arc<MemoryStore>, settings: RoomSettings) -> Registry {
    let keys = Arc::new(Keys::ephemeral().expect("keys"));
    Registry::new(
        store,
        keys,
        settings,
        CancellationToken::new(),
        TaskTracker::new(),
    )
}

fn registry(store: Arc<MemoryStore>, idle: Duration) -> Registry {
    registry_with(store, settings(idle))
}

fn room(name: &str) -> RoomId {
    RoomId::new(name).expect("room")
}

/// Lets spawned tasks (and the store's blocking loads) run.
async fn settle() {
    for _ in 0..50 {
        tokio::task::yield_now().await;
    }
}

/// Joins `handle` as `client`, with the original link granting `key` if
/// given; the member, its greeting taken.
async fn join(handle: &RoomHandle, client: u64, key: Option<Right>) -> Arc<TestMember> {
    let member = TestMember::new(64);
    let link = key.map(LinkId::original);
    handle
        .join(ClientId(client), member.recipient(), link, Dialect::Tandem)
        .await
        .expect("joined");
    member.take();
    member
}

/// The close a member was sent, within a deadline.
async fn closed(member: &TestMember) -> CloseCode {
    member.wait_closed().await.code
}

/// An update typing `text` into `doc`, as its client would send it.
fn typed(doc: &Doc, text: &str) -> Vec<u8> {
    let before = doc.transact().state_vector();
    let body = doc.get_or_insert_text(tandem_shared::doc::CONTENT);
    let end = body.len(&doc.transact());
    body.insert(&mut doc.transact_mut(), end, text);
    doc.transact().encode_diff_v1(&before)
}

fn update(client: u64, bytes: &[u8]) -> RoomCmd {
    RoomCmd::Update {
        client: ClientId(client),
        update: Update::decode_v1(bytes).expect("valid update"),
        raw: Bytes::copy_from_slice(bytes),
        received: std::time::Instant::now(),
    }
}

#[tokio::test(start_paused = true)]
async fn an_idle_room_unloads_after_the_configured_delay() {
    let store = Arc::new(MemoryStore::default());
    let registry = registry(store.clone(), Duration::from_secs(30));
    let room = room("idle");
    let handle = registry.get_or_create(&room).expect("running");
    handle
        .join(ClientId(1), TestMember::new(16), None, Dialect::Tandem)
        .await
        .expect("joined");

    // A member keeps the room loaded however long it stays.
    tokio::time::advance(Duration::from_secs(3600)).await;
    settle().await;
    assert!(registry.is_loaded(&room));

    handle
        .send(RoomCmd::Leave {
            client: ClientId(1),
        })
        .await
        .expect("left");
    settle().await;
    tokio::time::advance(Duration::from_secs(29)).await;
    settle().await;
    assert!(registry.is_loaded(&room), "unloaded before the idle delay");

    tokio::time::advance(Duration::from_secs(2)).await;
    settle().await;
    assert!(
        !registry.is_loaded(&room),
        "still loaded after the idle delay"
    );
    assert_eq!(store.loads(), 1);

    // The next visitor gets a fresh actor that loads the room again.
    let again = registry.get_or_create(&room).expect("running");
    again
        .join(ClientId(2), TestMember::new(16), None, Dialect::Tandem)
        .await
        .expect("joined");
    assert_eq!(store.loads(), 2);
}

#[tokio::test(start_paused = true)]
async fn a_handle_to_an_unloaded_room_reports_it_gone() {
    let store = Arc::new(MemoryStore::default());
    let registry = registry(store, Duration::from_secs(1));
    let room = room("gone");
    let stale = registry.get_or_create(&room).expect("running");
    stale
        .join(ClientId(1), TestMember::new(16), None, Dialect::Tandem)
        .await
        .expect("joined");
    stale
        .send(RoomCmd::Leave {
            client: ClientId(1),
        })
        .await
        .expect("left");
    settle().await;
    tokio::time::advance(Duration::from_secs(2)).await;
    settle().await;
    assert!(!registry.is_loaded(&room));
    assert_eq!(
        stale
            .join(ClientId(2), TestMember::new(16), None, Dialect::Tandem)
            .await,
        Err(JoinRefused::Gone)
    );
}

#[tokio::test]
async fn an_update_is_relayed_at_once_and_acknowledged_once_durable() {
    let store = Arc::new(MemoryStore::default());
    let registry = registry(store.clone(), Duration::from_secs(30));
    let handle = registry.get_or_create(&room("relay")).expect("running");
    let author = join(&handle, 1, None).await;
    let reader = join(&handle, 2, None).await;
    let doc = Doc::new();
    let bytes = typed(&doc, "hello");
    handle.send(update(1, &bytes)).await.expect("sent");

    // Who wrote it comes first (issue 28), to everyone, then the update.
    let told = reader.next().await;
    assert!(
        matches!(
            serde_json::from_slice(told.payload()),
            Ok(ServerMsg::Authors(_))
        ),
        "{told:?}"
    );
    let relayed = reader.next().await;
    assert_eq!(relayed, Outbound::sync(&SyncFrame::Update(bytes.clone())));
    let saved = next_control(&author, |m| matches!(m, ServerMsg::Saved { .. })).await;
    assert_eq!(saved, ServerMsg::Saved { updates: 1 });
    assert_eq!(store.log_len(&room("relay")), 1);
    handle.flush().await.expect("flushed");
    assert_eq!(
        handle.export(None).await.expect("running"),
        Some(Exported {
            title: String::new(),
            body: "hello".into()
        })
    );
}

#[tokio::test]
async fn refused_updates_close_their_sender_and_reach_nobody() {
    let store = Arc::new(MemoryStore::default());
    let mut tight = settings(Duration::from_secs(30));
    tight.max_document_bytes = 64;
    let registry = registry_with(store.clone(), tight);
    let handle = registry.get_or_create(&room("refusals")).expect("running");
    let viewer = join(&handle, 1, Some(Right::View)).await;
    let gapped = join(&handle, 2, None).await;
    let big = join(&handle, 3, None).await;
    let witness = join(&handle, 4, None).await;

    let doc = Doc::new();
    let first = typed(&doc, "a");
    let second = typed(&doc, "b");
    handle.send(update(1, &first)).await.expect("sent");
    assert_eq!(closed(&viewer).await, CloseCode::Policy);
    handle.send(update(2, &second)).await.expect("sent");
    assert_eq!(closed(&gapped).await, CloseCode::InvalidUpdate);
    let large = typed(&Doc::new(), &"x".repeat(100));
    handle.send(update(3, &large)).await.expect("sent");
    assert_eq!(closed(&big).await, CloseCode::DocumentTooLarge);

    handle.flush().await.expect("flushed");
    let told = witness.take();
    let left = |id| {
        Outbound::json(&ServerMsg::PeerLeft {
            client_id: ClientId(id),
        })
    };
    assert_eq!(
        told,
        [left(1), left(2), left(3)],
        "only departures, no update"
    );
    assert_eq!(store.log_len(&room("refusals")), 0);
}

#[tokio::test]
async fn a_store_failure_closes_every_member_and_unlists_the_room() {
    let store = Arc::new(MemoryStore::default());
    let registry = registry(store.clone(), Duration::from_secs(30));
    let name = room("failing");
    let handle = registry.get_or_create(&name).expect("running");
    let author = join(&handle, 1, None).await;
    let other = join(&handle, 2, None).await;
    store.fail_writes(true);
    handle
        .send(update(1, &typed(&Doc::new(), "lost")))
        .await
        .expect("sent");
    assert_eq!(closed(&author).await, CloseCode::Internal);
    assert_eq!(closed(&other).await, CloseCode::Internal);
    assert!(!registry.is_loaded(&name));
    assert_eq!(handle.flush().await, Err(RoomGone));
}

#[tokio::test]
async fn a_full_room_refuses_one_more_member() {
    let store = Arc::new(MemoryStore::default());
    let mut small = settings(Duration::from_secs(30));
    small.max_connections = 1;
    let registry = registry_with(store, small);
    let handle = registry.get_or_create(&room("full")).expect("running");
    let _first = join(&handle, 1, None).await;
    assert_eq!(
        handle
            .join(ClientId(2), TestMember::new(16), None, Dialect::Tandem)
            .await,
        Err(JoinRefused::Full)
    );
}

#[tokio::test]
async fn a_claimed_room_is_read_only_without_the_edit_key() {
    let store = Arc::new(MemoryStore::default());
    let registry = registry(store.clone(), Duration::from_secs(30));
    let name = room("claimed");
    let handle = registry.get_or_create(&name).expect("running");
    assert_eq!(handle.claim().await, Ok(Claim::Claimed));
    assert_eq!(handle.claim().await, Ok(Claim::Taken));
    assert_eq!(handle.export(None).await, Ok(None));

    let member = TestMember::new(16);
    handle
        .join(ClientId(1), member.recipient(), None, Dialect::Tandem)
        .await
        .expect("joined");
    let welcome = member.next().await;
    assert!(welcome.is_text(), "the welcome comes first");
    let welcome: ServerMsg = serde_json::from_slice(welcome.payload()).expect("json");
    assert!(matches!(
        welcome,
        ServerMsg::Welcome {
            read_only: true,
            share: None,
            ..
        }
    ));
    assert_eq!(handle.claim().await, Ok(Claim::InUse));
    assert!(store.load(&name).expect("stored").protected);
}

/// Adds a link granting `right` to `name`'s stored links, as the API does,
/// without telling any room.
fn store_link(store: &MemoryStore, name: &RoomId, seed: u8, right: Right) -> LinkId {
    use tandem_shared::links::NewLink;
    let id = LinkId::from_random([seed; 8]);
    let creation = crate::links::Creation {
        id: id.clone(),
        new: NewLink {
            right,
            label: None,
            expires_in: None,
            created_by: None,
        },
    };
    store
        .edit_links(name, &mut |_, links| {
            crate::links::create(links, creation.clone(), crate::links::now_ms()).is_ok()
        })
        .expect("stored");
    id
}

#[tokio::test]
async fn a_link_created_after_the_room_loaded_admits_at_once() {
    let store = Arc::new(MemoryStore::default());
    let registry = registry(store.clone(), Duration::from_secs(30));
    let name = room("fresh-link");
    let handle = registry.get_or_create(&name).expect("running");
    assert_eq!(handle.claim().await, Ok(Claim::Claimed));
    // Created while the room is loaded, its announcement not arrived yet.
    let link = store_link(&store, &name, 1, Right::Edit);
    let member = TestMember::new(16);
    handle
        .join(ClientId(1), member.recipient(), Some(link), Dialect::Tandem)
        .await
        .expect("the room reads its links again before refusing");
    let welcome: ServerMsg = serde_json::from_slice(member.next().await.payload()).expect("json");
    assert!(matches!(
        welcome,
        ServerMsg::Welcome {
            read_only: false,
            ..
        }
    ));
    // A link the store does not have either is refused, after that read.
    let unknown = LinkId::from_random([2; 8]);
    assert_eq!(
        handle
            .join(
                ClientId(2),
                TestMember::new(16),
                Some(unknown),
                Dialect::Tandem
            )
            .await,
        Err(JoinRefused::Link(crate::links::KeyRefusal::Unknown))
    );
}

#[tokio::test]
async fn a_revoked_link_closes_its_members_and_a_narrowed_one_refuses_their_updates() {
    let store = Arc::new(MemoryStore::default());
    let registry = registry(store.clone(), Duration::from_secs(30));
    let name = room("changed-links");
    let handle = registry.get_or_create(&name).expect("running");
    assert_eq!(handle.claim().await, Ok(Claim::Claimed));
    let doomed = store_link(&store, &name, 1, Right::Edit);
    let narrowed = store_link(&store, &name, 2, Right::Edit);
    handle.links_changed().await.expect("told");
    let cut = join_with(&handle, 1, &doomed).await;
    let writer = join_with(&handle, 2, &narrowed).await;

    store
        .edit_links(&name, &mut |_, links| {
            let now = crate::links::now_ms();
            let narrow = tandem_shared::links::LinkPatch {
                right: Some(Right::View),
                ..Default::default()
            };
            crate::links::revoke(links, &doomed, now).is_ok()
                && crate::links::patch(links, &narrowed, &narrow, now).is_ok()
        })
        .expect("changed");
    handle.links_changed().await.expect("told");
    let close = cut.wait_closed().await;
    assert_eq!(
        (close.code, close.reason.as_str()),
        (CloseCode::AccessRevoked, "this link was revoked")
    );
    let changed = next_control(&writer, |m| matches!(m, ServerMsg::AccessChanged { .. })).await;
    assert!(matches!(
        changed,
        ServerMsg::AccessChanged {
            read_only: true,
            share: None,
            ..
        }
    ));
    // Its next update is refused and it stays; the document is unchanged.
    let doc = tandem_shared::doc::new_doc();
    let update = typed(&doc, "refused");
    handle
        .send(RoomCmd::Update {
            client: ClientId(2),
            update: Update::decode_v1(&update).expect("update"),
            raw: Bytes::from(update),
            received: std::time::Instant::now(),
        })
        .await
        .expect("sent");
    let refused = next_control(&writer, |m| matches!(m, ServerMsg::Error { .. })).await;
    assert!(matches!(
        refused,
        ServerMsg::Error {
            code: tandem_shared::ErrorCode::ReadOnly,
            ..
        }
    ));
    handle.flush().await.expect("flushed");
    let exported = handle
        .export(Some(Right::Edit))
        .await
        .expect("running")
        .expect("readable");
    assert_eq!(exported.body, "");
    assert!(writer.closed().is_none(), "narrowed in place");
}

/// The next control message `member` was sent that `wanted` picks (others,
/// such as a `peer_left`, are passed over).
async fn next_control(member: &TestMember, wanted: impl Fn(&ServerMsg) -> bool) -> ServerMsg {
    loop {
        let message = member.next().await;
        if let Ok(control) = serde_json::from_slice::<ServerMsg>(message.payload())
            && wanted(&control)
        {
            return control;
        }
    }
}

/// Joins as `client` with `link`; the member, its greeting taken.
async fn join_with(handle: &RoomHandle, client: u64, link: &LinkId) -> Arc<TestMember> {
    let member = TestMember::new(64);
    handle
        .join(
            ClientId(client),
            member.recipient(),
            Some(link.clone()),
            Dialect::Tandem,
        )
        .await
        .expect("joined");
    member.take();
    member
}
