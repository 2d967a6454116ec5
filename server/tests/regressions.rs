//! Every crashing input the fuzzers found (`fuzz/regressions/`), replayed
//! against a live server: each is refused as an invalid update (or, if it is a valid
//! update after all, applied), the server keeps serving the room, and what
//! was stored before is still there.

use std::path::Path;

use tandem_shared::SyncFrame;
use tandem_shared::close::CloseCode;
use tandem_testkit::TestServer;
use tokio_tungstenite::tungstenite::Message;

#[tokio::test]
async fn every_known_crashing_update_is_contained() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/regressions/update");
    let mut inputs: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|err| panic!("{}: {err}", dir.display()))
        .map(|entry| entry.expect("dir entry").path())
        .collect();
    inputs.sort();
    assert!(!inputs.is_empty(), "the regression corpus is empty");

    let (server, _) = TestServer::memory().await;
    let mut witness = server.client("regressions").await;
    witness.insert(0, "kept").await;
    witness.wait_saved().await;
    for input in &inputs {
        let update = std::fs::read(input).expect("read input");
        let mut attacker = server.client("regressions").await;
        attacker
            .send_raw(Message::Binary(SyncFrame::Update(update).encode().into()))
            .await;
        attacker.ping().await;
        attacker
            .pump_until("an answer", |c| c.closed.is_some() || c.pongs == 1)
            .await;
        if let Some(close) = &attacker.closed {
            assert_eq!(
                close.code,
                CloseCode::InvalidUpdate,
                "{}: {close:?}",
                input.display()
            );
        }
    }
    witness.round_trip().await;
    assert!(
        witness.closed.is_none(),
        "the room kept serving its members"
    );
    let reader = server.client("regressions").await;
    assert!(reader.content().contains("kept"), "{:?}", reader.content());
}
