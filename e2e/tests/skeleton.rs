//! The app's skeleton, as a person sees it: the home page, creating and
//! opening documents, the editor connecting to its room, and the frames the
//! WebSocket carries.

use tandem_e2e::{DEADLINE, Direction, Frame, WsEvent, run_test, tid};
use tandem_shared::RoomId;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn home_page_renders() {
    run_test("home_page_renders", async |ctx| {
        let page = ctx.page().await;
        page.goto("/").await;
        page.wait_for(&tid("new-doc"), DEADLINE).await;
        page.wait_for(&tid("open-name"), DEADLINE).await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn new_document_opens_the_editor_on_a_fresh_room() {
    run_test(
        "new_document_opens_the_editor_on_a_fresh_room",
        async |ctx| {
            let page = ctx.page().await;
            let doc = page.new_document().await;
            let room = doc.room.as_str();
            assert!(
                RoomId::new(room).is_ok(),
                "new-doc led to {}, whose room {room:?} is not a valid room name",
                doc.url
            );
            page.wait_for_text(&tid("room-name"), room, DEADLINE).await;
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn editor_connects_and_names_its_room() {
    run_test("editor_connects_and_names_its_room", async |ctx| {
        let page = ctx.page().await;
        page.goto("/d/e2e-skeleton").await;
        let state = tid("connection-state");
        page.wait_for_attr(&state, "data-state", "connected", DEADLINE)
            .await;
        page.wait_for_text(&state, "Connected", DEADLINE).await;
        let client_id = page.attr(&state, "data-client-id").await;
        assert!(
            client_id.is_some_and(|id| !id.is_empty()),
            "a connected editor shows its client id in data-client-id"
        );
        page.wait_for_text(&tid("room-name"), "e2e-skeleton", DEADLINE)
            .await;
        assert_eq!(page.text(&tid("room-name")).await.trim(), "e2e-skeleton");
        page.wait_for(&tid("editor"), DEADLINE).await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn opening_a_bad_name_shows_an_error() {
    run_test("opening_a_bad_name_shows_an_error", async |ctx| {
        let page = ctx.page().await;
        page.goto("/").await;
        page.type_into(&tid("open-name"), "not a room!").await;
        page.click(&tid("open-doc")).await;
        page.wait_for(&tid("open-error"), DEADLINE).await;
        assert_eq!(
            page.url().await.path(),
            "/",
            "a refused name keeps the person on the home page"
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_room_in_the_url_is_refused() {
    run_test("a_bad_room_in_the_url_is_refused", async |ctx| {
        let page = ctx.page().await;
        page.goto("/d/bad%20name").await;
        page.wait_for(&tid("invalid-room"), DEADLINE).await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_socket_speaks_tandem_v1() {
    run_test("the_socket_speaks_tandem_v1", async |ctx| {
        let page = ctx.page().await;
        page.goto("/d/e2e-frames").await;
        page.wait_for_attr(
            &tid("connection-state"),
            "data-state",
            "connected",
            DEADLINE,
        )
        .await;

        let response = page
            .wait_for_ws_event("the WebSocket handshake response", DEADLINE, |e| {
                matches!(e, WsEvent::HandshakeResponse { .. })
            })
            .await;
        assert!(
            matches!(response, WsEvent::HandshakeResponse { status: 101, .. }),
            "the upgrade succeeds: {response:?}"
        );
        assert_eq!(
            response.header("Sec-WebSocket-Protocol"),
            Some("tandem.v1"),
            "the server chose the subprotocol: {response:?}"
        );

        let welcome = page
            .wait_for_frame("a received welcome text frame", DEADLINE, |f| {
                f.direction == Direction::Received && f.msg_type().as_deref() == Some("welcome")
            })
            .await;
        let json = welcome.json().expect("a welcome frame is JSON");
        assert_eq!(json["room"], "e2e-frames", "welcome: {json}");
        let shown_id = page.attr(&tid("connection-state"), "data-client-id").await;
        assert_eq!(
            shown_id.as_deref(),
            Some(json["client_id"].to_string().trim_matches('"')),
            "the page shows the client id the server gave it"
        );

        // The protocol's order: welcome first, then the server's sync step 1.
        let received: Vec<Frame> = page
            .frames()
            .await
            .into_iter()
            .filter(|f| f.direction == Direction::Received)
            .collect();
        assert_eq!(received[0], welcome, "the first frame is the welcome");
        let step1 = received.get(1).and_then(Frame::bytes);
        assert!(
            step1.as_deref().is_some_and(|b| b.starts_with(&[0, 0])),
            "the second frame is a binary sync step 1 (00 00 …): {:?}",
            received.get(1)
        );
    })
    .await;
}
