//! One connection's life: `handle_socket`.
//!
//! It starts the writer task, then either sends the admission's refusal or
//! waits for the key (a Tandem client's `hello`; a Yjs client's came in its
//! URL), checks it, joins the room (looking it up again if it unloaded
//! meanwhile) and runs the reader until it or the writer ends. Nothing is
//! sent for the room before the key is checked. On shutdown it lets the room commit
//! what this client sent, so its last `saved` goes out before the close
//! (`GoingAway`). Whatever the end, it finishes the close handshake within
//! [`CLOSE_GRACE`] (or resets the connection, see [`drain`]) and lets the
//! writer drain.

use axum::extract::ws::Message;
use futures_util::StreamExt;
use tandem_shared::close::{Close, CloseCode};
use tandem_shared::{ClientId, RoomId};
use tokio::time::timeout;
use tracing::{Instrument, debug, info, warn};

use super::CLOSE_GRACE;
use super::admission::{
    Admission, admit_in_cluster, check_key, count_accepted, count_refused, room_full,
};
use super::handshake::Upgraded;
use super::reader::{HelloEnd, ReadEnd, Stream, read_hello, read_loop};
use super::socket::SocketControl;
use super::writer::{WriterOptions, write_loop};
use crate::AppState;
use crate::access::Right;
use crate::room::outbox::{close_frame, count_disconnect};
use crate::room::{Dialect, JoinRefused, Outbox, RoomCmd, RoomHandle, outbox};

/// Counts a connection as open for as long as it lives.
struct OpenConnection;

impl OpenConnection {
    fn new() -> Self {
        metrics::gauge!(crate::metrics::CONNECTIONS_OPEN).increment(1.0);
        Self
    }
}

impl Drop for OpenConnection {
    fn drop(&mut self) {
        metrics::gauge!(crate::metrics::CONNECTIONS_OPEN).decrement(1.0);
    }
}

/// Runs one upgraded connection to its end. `url_key` is the key a Yjs
/// client put in its URL; a Tandem client's comes in its `hello`.
pub(super) async fn handle_socket(
    socket: Upgraded,
    state: AppState,
    room: RoomId,
    client: ClientId,
    admission: Admission,
    dialect: Dialect,
    url_key: Option<String>,
) {
    let config = state.config.clone();
    let (sink, mut stream) = socket.socket.split();
    // To reset the connection if its close handshake does not complete.
    let reset = socket.control.clone();
    let (outbox, outbox_rx) = outbox(config.queue_messages, config.queue_bytes);
    let options = WriterOptions {
        deflate_from: socket.deflate.then_some(config.ws_deflate_threshold),
        heartbeat: config.heartbeat,
        counters: state.frames_out.clone(),
        control: socket.control,
    };
    let writer = write_loop(sink, outbox_rx, options);
    let mut writer = tokio::spawn(writer.in_current_span());
    let _open = OpenConnection::new();
    let _slot = match admission {
        Admission::Admitted(slot) => slot,
        Admission::Refused(close) => {
            return turn_away(Some(close), outbox, &mut stream, writer, reset.as_deref()).await;
        }
    };
    let key = match dialect {
        Dialect::Yjs => url_key,
        // Boxed: the wait happens once, and its future should not take
        // room in the connection's task for the rest of its life.
        Dialect::Tandem => match Box::pin(read_hello(&mut stream, &state)).await {
            HelloEnd::Hello(key) => key,
            HelloEnd::Refused(close) => {
                count_refused("hello");
                return turn_away(Some(close), outbox, &mut stream, writer, reset.as_deref()).await;
            }
            HelloEnd::Shutdown => {
                let going_away = going_away();
                return turn_away(
                    Some(going_away),
                    outbox,
                    &mut stream,
                    writer,
                    reset.as_deref(),
                )
                .await;
            }
            HelloEnd::ClientClosed => {
                return turn_away(None, outbox, &mut stream, writer, reset.as_deref()).await;
            }
            HelloEnd::Gone => return,
        },
    };
    let key = match check_key(&state.keys, &room, key.as_deref()) {
        Ok(key) => key,
        Err(close) => {
            return turn_away(Some(close), outbox, &mut stream, writer, reset.as_deref()).await;
        }
    };
    // Counted across the cluster for the connection's life (a no-op
    // without the bus).
    let _tracked = match admit_in_cluster(&state, &room, &_slot).await {
        Ok(tracked) => tracked,
        Err(close) => {
            return turn_away(Some(close), outbox, &mut stream, writer, reset.as_deref()).await;
        }
    };
    count_accepted();

    // Boxed: joining happens once, and its future should not take room in
    // the connection's task for the rest of its life.
    let end = match Box::pin(join(&state, &room, client, &outbox, key, dialect)).await {
        Ok(handle) => {
            debug!("joined");
            // Whichever side ends first ends the connection: a writer that
            // stopped (slow consumer, failed send) must not leave a reader
            // holding the connection open until the heartbeat notices.
            let end = tokio::select! {
                end = read_loop(&mut stream, &handle, &outbox, client, &state, dialect) => end,
                _ = &mut writer => ReadEnd::WriterEnded,
            };
            if end == ReadEnd::Shutdown {
                // Let the room commit what this client sent, so its last
                // `saved` goes out before the close.
                let _ = timeout(config.shutdown_timeout, handle.flush()).await;
                let going_away = going_away();
                // Queued behind the data (the last `saved` goes out first),
                // so counted here rather than by `Outbox::close`.
                let counted = going_away.clone();
                if outbox
                    .push(Message::Close(Some(close_frame(going_away))))
                    .is_ok()
                {
                    count_disconnect(&counted);
                } else {
                    // The same close, on its own (the queue is full).
                    outbox.close(counted);
                }
            }
            let _ = handle.send(RoomCmd::Leave { client }).await;
            end
        }
        Err(JoinRefused::Full) => {
            count_refused("room_full");
            outbox.close(room_full());
            ReadEnd::ServerClosed
        }
        Err(JoinRefused::Gone) if state.shutdown.is_cancelled() => {
            outbox.close(going_away());
            ReadEnd::ServerClosed
        }
        Err(JoinRefused::Gone) => {
            outbox.close(Close::new(
                CloseCode::Internal,
                "the document could not be opened; try again",
            ));
            ReadEnd::ServerClosed
        }
    };
    drop(outbox);

    if end != ReadEnd::Gone {
        // Finish the close handshake: read until the client's close (or the
        // reply to it) has gone through and the stream ends.
        drain(&mut stream, reset.as_deref()).await;
    }
    if end != ReadEnd::WriterEnded {
        let _ = timeout(CLOSE_GRACE, writer).await;
    }
    info!(?end, "connection closed");
}

/// The close of a draining server: 1001 with a retry hint of 0 to 2 s,
/// spread at random, so its clients come back at once but not all in the
/// same instant, through the load balancer to a node that is still up.
fn going_away() -> Close {
    Close::with_retry_after(
        CloseCode::GoingAway,
        "server is shutting down",
        fastrand::u32(0..=2),
    )
}

/// Ends a connection that was not let in: closes it with `close` (`None`
/// when the client closed first), then finishes the close handshake.
async fn turn_away(
    close: Option<Close>,
    outbox: Outbox,
    stream: &mut Stream,
    writer: tokio::task::JoinHandle<()>,
    reset: Option<&SocketControl>,
) {
    if let Some(close) = close {
        info!(code = close.code.number(), reason = %close.reason, "not admitted");
        outbox.close(close);
    }
    drop(outbox);
    drain(stream, reset).await;
    let _ = timeout(CLOSE_GRACE, writer).await;
}

/// Reads until the stream ends, for at most [`CLOSE_GRACE`]. A peer that
/// has not finished the close handshake by then (one that stopped reading
/// never will: our close frame sits behind the data it did not read) has its
/// connection reset when the socket is dropped, so the kernel does not keep
/// the unsent queue in FIN-WAIT-1.
async fn drain(stream: &mut Stream, reset: Option<&SocketControl>) {
    let ended = timeout(CLOSE_GRACE, async {
        while stream.next().await.is_some() {}
    })
    .await;
    if ended.is_err()
        && let Some(control) = reset
    {
        debug!("close handshake not finished; resetting the connection");
        control.reset_on_close();
    }
}

/// Joins the room, looking it up again if it unloaded between lookup and join.
async fn join(
    state: &AppState,
    room: &RoomId,
    client: ClientId,
    outbox: &Outbox,
    key: Option<Right>,
    dialect: Dialect,
) -> Result<RoomHandle, JoinRefused> {
    for _ in 0..3 {
        let handle = state
            .registry
            .get_or_create(room)
            .ok_or(JoinRefused::Gone)?;
        match handle.join(client, outbox.clone(), key, dialect).await {
            Ok(()) => return Ok(handle),
            Err(JoinRefused::Gone) => continue,
            Err(refused) => return Err(refused),
        }
    }
    warn!("room kept going away while joining");
    Err(JoinRefused::Gone)
}
