//! Who wrote what (issue 28) through the real server: two people under two
//! names type interleaved and `GET /api/rooms/{room}/authors` gives each
//! run to the one who typed it (and the `authors` frames told both); a
//! client id a second connection writes with keeps its first writer's
//! characters and gives the second its own; a restore's text is the
//! restored version's, and the version list says who changed what; the
//! authorship survives a restart; a hello with a malformed author is
//! refused.

use tandem_shared::Presence;
use tandem_shared::authors::{AuthorKind, AuthorsExport, ExportedRun};
use tandem_shared::history::VersionEntry;
use tandem_testkit::{Client, TempDir, TestServer, http};
use yrs::{Doc, OffsetKind, Options};

const ADA: &str = "ada-browser-secret-0001";
const BOB: &str = "bob-browser-secret-0002";

/// A person's connection to `room`, named `name` in the colour the room gave.
async fn person(server: &TestServer, room: &str, secret: &str, name: &str) -> Client {
    let mut client = Client::connect_as(&server.ws_url(room), None, secret).await;
    named(&mut client, name).await;
    client
}

/// [`person`] writing with the yrs client id `yrs_id`.
async fn person_with_id(
    server: &TestServer,
    room: &str,
    secret: &str,
    name: &str,
    yrs_id: u64,
) -> Client {
    let doc = Doc::with_options(Options {
        offset_kind: OffsetKind::Utf16,
        client_id: yrs::ClientID::new(yrs_id),
        ..Options::default()
    });
    let mut client = Client::connect_as_with(&server.ws_url(room), None, secret, doc).await;
    named(&mut client, name).await;
    client
}

async fn named(client: &mut Client, name: &str) {
    let color = client
        .color()
        .expect("the welcome gives a colour")
        .to_owned();
    client
        .send_presence(Presence {
            name: name.into(),
            color,
            cursor: None,
        })
        .await;
    client.round_trip().await;
}

/// The room's authorship export.
async fn authors_of(server: &TestServer, room: &str) -> AuthorsExport {
    let (status, body) = http(
        server.addr,
        "GET",
        &format!("/api/rooms/{room}/authors"),
        None,
        "",
    )
    .await;
    assert_eq!(status, 200, "{body}");
    serde_json::from_str(&body).expect("an authorship export")
}

/// Each run as (text, author label).
fn labelled(export: &AuthorsExport) -> Vec<(String, String)> {
    let units: Vec<u16> = export.text.encode_utf16().collect();
    export
        .runs
        .iter()
        .map(|ExportedRun { from, to, author }| {
            let text = String::from_utf16_lossy(&units[*from as usize..*to as usize]);
            let label = author
                .as_ref()
                .and_then(|id| export.authors.iter().find(|a| &a.author.id == id))
                .map_or_else(|| "nobody".to_owned(), |a| a.label.clone());
            (text, label)
        })
        .collect()
}

fn runs(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(text, who)| ((*text).to_owned(), (*who).to_owned()))
        .collect()
}

#[tokio::test]
async fn two_people_type_interleaved_and_each_run_is_theirs() {
    let (server, _) = TestServer::memory().await;
    let room = "authors-two";
    let mut ada = person(&server, room, ADA, "Ada").await;
    let mut bob = person(&server, room, BOB, "Bob").await;
    assert_ne!(ada.color(), bob.color(), "two people, two colours");

    ada.insert(0, "Hello ").await;
    ada.wait_saved().await;
    bob.pump_until("Ada's text", |c| c.content() == "Hello ")
        .await;
    bob.insert(6, "world").await;
    bob.wait_saved().await;
    ada.pump_until("Bob's text", |c| c.content() == "Hello world")
        .await;
    ada.insert(11, "!").await;
    ada.insert(0, "» ").await;
    ada.wait_saved().await;
    bob.pump_until("all of it", |c| c.content() == "» Hello world!")
        .await;

    let export = authors_of(&server, room).await;
    assert_eq!(export.text, "» Hello world!");
    // "» " and "Hello " are both Ada's: one run.
    assert_eq!(
        labelled(&export),
        runs(&[("» Hello ", "Ada"), ("world", "Bob"), ("!", "Ada")])
    );
    let colors: Vec<&str> = export
        .authors
        .iter()
        .map(|a| a.author.color.as_str())
        .collect();
    assert_eq!(
        colors,
        [ada.color().expect("colour"), bob.color().expect("colour")]
    );
    assert!(
        export
            .authors
            .iter()
            .all(|a| a.author.kind == AuthorKind::Person)
    );

    // Both were told, as it grew, who wrote with which client id.
    for client in [&ada, &bob] {
        let table = client.authorship();
        assert_eq!(table.authors.len(), 2, "{table:?}");
        assert_eq!(table.claims.len(), 2, "{table:?}");
        let names: Vec<&str> = table.authors.iter().map(|a| a.name.as_str()).collect();
        assert_eq!(names, ["Ada", "Bob"]);
    }

    // A rename reaches the table, the other person and the export.
    named(&mut bob, "Robert").await;
    ada.pump_until("Bob's new name", |c| {
        c.authorship().authors.iter().any(|a| a.name == "Robert")
    })
    .await;
    assert_eq!(labelled(&authors_of(&server, room).await)[1].1, "Robert");
}

#[tokio::test]
async fn a_client_id_a_second_connection_writes_with_keeps_each_writers_characters() {
    let (server, _) = TestServer::memory().await;
    let room = "authors-taken";
    let mut ada = person_with_id(&server, room, ADA, "Ada", 4242).await;
    ada.insert(0, "abc").await;
    ada.wait_saved().await;

    // Mallory writes with Ada's client id (her document says so): applied,
    // not refused, and claimed for her from her first clock on.
    let mut mallory = person_with_id(&server, room, BOB, "Mallory", 4242).await;
    mallory.insert(3, "xyz").await;
    mallory.wait_saved().await;
    assert_eq!(mallory.closed, None, "not refused");
    ada.pump_until("Mallory's text", |c| c.content() == "abcxyz")
        .await;
    // Ada writes on with the same id: hers again from there.
    ada.insert(6, "!").await;
    ada.wait_saved().await;

    let export = authors_of(&server, room).await;
    assert_eq!(
        labelled(&export),
        runs(&[("abc", "Ada"), ("xyz", "Mallory"), ("!", "Ada")])
    );
    let clocks: Vec<(u64, u32)> = mallory
        .authorship()
        .claims
        .iter()
        .map(|c| (c.client, c.clock))
        .collect();
    assert_eq!(clocks, [(4242, 0), (4242, 3)], "Mallory saw hers");
    ada.pump_until("every claim", |c| c.authorship().claims.len() == 3)
        .await;
}

#[tokio::test]
async fn a_restore_is_attributed_to_the_version_it_brought_back() {
    let (server, _) = TestServer::memory().await;
    let room = "authors-restore";
    let mut ada = person(&server, room, ADA, "Ada").await;
    ada.insert(0, "first draft").await;
    ada.wait_saved().await;
    let path = format!("/api/rooms/{room}/versions");
    let (status, body) = http(server.addr, "POST", &path, None, r#"{"label":"Draft"}"#).await;
    assert_eq!(status, 201, "{body}");
    let named: VersionEntry = serde_json::from_str(&body).expect("a version");
    ada.delete(5, 6).await;
    ada.insert(5, " go").await;
    ada.wait_saved().await;
    assert_eq!(ada.content(), "first go");

    let restore = format!("/api/rooms/{room}/versions/{}/restore", named.id);
    let (status, body) = http(server.addr, "POST", &restore, None, "").await;
    assert_eq!(status, 200, "{body}");
    ada.pump_until("the restore", |c| c.content() == "first draft")
        .await;

    let export = authors_of(&server, room).await;
    assert_eq!(
        labelled(&export),
        // The smallest splice keeps "first " (the space is her " go"'s).
        runs(&[("first ", "Ada"), ("draft", "Restored version of “Draft”")])
    );
    let restorer = export
        .authors
        .iter()
        .find(|a| a.author.kind == AuthorKind::Restore)
        .expect("the restore is an author");
    assert_eq!(
        restorer
            .author
            .restored
            .as_ref()
            .map(|v| (v.id, v.label.as_deref())),
        Some((named.id, Some("Draft")))
    );

    // Each version says who changed what since the one before.
    let (status, body) = http(server.addr, "GET", &path, None, "").await;
    assert_eq!(status, 200, "{body}");
    let versions: Vec<VersionEntry> = serde_json::from_str(&body).expect("versions");
    let changes = |kind: &str| -> Vec<(String, u64, u64)> {
        let version = versions.iter().find(|v| v.kind == kind).expect(kind);
        version
            .changes
            .iter()
            .map(|c| {
                let who = export
                    .authors
                    .iter()
                    .find(|a| a.author.id == c.author)
                    .map_or_else(|| c.author.to_string(), |a| a.label.clone());
                (who, c.added, c.removed)
            })
            .collect()
    };
    assert_eq!(changes("named"), [("Ada".to_owned(), 11, 0)]);
    assert_eq!(changes("before-restore"), [("Ada".to_owned(), 3, 6)]);
    assert_eq!(
        changes("restore"),
        [("Restored version of “Draft”".to_owned(), 5, 2)]
    );

    // The named version's own runs: all Ada's.
    let version_path = format!("/api/rooms/{room}/versions/{}/authors", named.id);
    let (status, body) = http(server.addr, "GET", &version_path, None, "").await;
    assert_eq!(status, 200, "{body}");
    let old: AuthorsExport = serde_json::from_str(&body).expect("an export");
    assert_eq!(labelled(&old), runs(&[("first draft", "Ada")]));
    let (status, _) = http(
        server.addr,
        "GET",
        &format!("/api/rooms/{room}/versions/999/authors"),
        None,
        "",
    )
    .await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn the_authorship_survives_a_restart_and_a_returning_author_keeps_their_colour() {
    let dir = TempDir::new("authors-kept");
    let room = "authors-kept";
    let color = {
        let mut server = TestServer::sqlite(dir.path(), |_| {}).await;
        let mut ada = person(&server, room, ADA, "Ada").await;
        ada.insert(0, "kept").await;
        ada.wait_saved().await;
        let color = ada.color().expect("colour").to_owned();
        ada.close().await;
        server.stop().await;
        color
    };
    let server = TestServer::sqlite(dir.path(), |_| {}).await;
    // Someone else arrives first, wanting nothing in particular.
    let bob = person(&server, room, BOB, "Bob").await;
    assert_ne!(bob.color(), Some(color.as_str()), "Ada's colour is hers");
    let export = authors_of(&server, room).await;
    assert_eq!(labelled(&export), runs(&[("kept", "Ada")]));
    let ada = person(&server, room, ADA, "Ada").await;
    assert_eq!(ada.color(), Some(color.as_str()), "she keeps it");
    assert_eq!(bob.authorship().authors.len(), 1);
}
