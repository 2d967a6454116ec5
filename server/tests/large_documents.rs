//! Large documents open like small ones: a newcomer to a room holding tens
//! of megabytes gets the whole document in its sync step 2, even though
//! that one frame is larger than the outgoing queue's byte bound
//! (`--queue-bytes`, 8 MiB by default) and its `welcome` and step 1 may
//! still be queued ahead of it.

use tandem_testkit::TestServer;

/// The size of the document, in bytes of text: well past the queue's byte
/// bound, well under `--max-document-bytes` (64 MiB).
const DOCUMENT: usize = 30_000_000;
/// Each filling update, so a few updates fill the room.
const CHUNK: usize = 10_000_000;

// Two workers, as the server runs: the newcomer's connection then often
// has not written the welcome and step 1 when the room queues the step 2.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_newcomer_opens_a_30_mb_document() {
    let (server, _) = TestServer::memory_with(|c| {
        // Room for each filling update; the queue keeps its default bound.
        c.max_message_bytes = CHUNK + 1024;
    })
    .await;
    assert!(
        server.state.config.queue_bytes < DOCUMENT,
        "the step 2 must be larger than the queue's byte bound"
    );
    let mut writer = server.client("large").await;
    let line = "All work and no play makes Jack a dull boy.\n";
    let chunk: String = line.repeat(CHUNK / line.len() + 1)[..CHUNK].to_owned();
    for _ in 0..DOCUMENT / CHUNK {
        let at = writer.len();
        writer.insert(at, &chunk).await;
    }
    writer.wait_saved().await;
    assert_eq!(writer.len() as usize, DOCUMENT);

    // Every newcomer gets it, not just a lucky one: the step 2 was refused
    // whenever the welcome and step 1 were still queued before it.
    for _ in 0..3 {
        let mut reader = server.client("large").await;
        assert_eq!(reader.len() as usize, DOCUMENT, "the whole document");
        assert!(reader.content() == writer.content(), "the same document");
        reader.ping().await;
        reader.pump_until("a pong", |c| c.pongs == 1).await;
        assert_eq!(reader.closed, None, "never told it fell behind");
        reader.close().await;
    }
}
