//! One connection's life: `handle_socket`.
//!
//! One task per connection, reading and writing through its [`Wire`]. It
//! either sends the admission's refusal or waits for the key (a Tandem
//! client's `hello`; a Yjs client's came in its URL), checks it, joins the
//! room (looking it up again if it unloaded meanwhile) and runs the reader
//! until the connection ends. Nothing is sent for the room before the key
//! is checked. On shutdown it lets the room commit what this client sent,
//! so its last `saved` goes out before the close (`GoingAway`). Whatever
//! the end, it finishes the close handshake within [`CLOSE_GRACE`] (or
//! resets the connection, see [`finish`]).


use axum::extract::ws::Message;
use tandem_shared::close::{Close, CloseCode};
use tandem_shared::{ClientId, RoomId};
use tokio::time::timeout;
use tracing::{debug, info, warn};

use super::CLOSE_GRACE;
use super::admission::{
    Admission, admit_in_cluster, check_key, count_accepted, count_refused, room_full,
};
use super::handshake::Upgraded;
use super::reader::{HelloEnd, ReadEnd, read_hello, read_loop};
use super::wire::{Event, Wire, WireOptions};
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
    let (outbox, rx) = outbox(config.queue_messages, config.queue_bytes);
    let options = WireOptions {
        deflate: socket.deflate,
        deflate_from: config.ws_deflate_threshold,
        limit: config.max_message_bytes,
        counters: state.frames_out.clone(),
        control: socket.control,
    };
    let mut wire = Wire::new(socket.io, rx, options);
    let _open = OpenConnection::new();
    // Pings, silence and shutdown, from the server-wide heartbeat.
    let _heartbeat = state.heartbeats.register(outbox.watch());
    let _slot = match admission {
        Admission::Admitted(slot) => slot,
        Admission::Refused(close) => {
            return turn_away(Some(close), outbox, wire, &room, client).await;
        }
    };
    let key = match dialect {
        Dialect::Yjs => url_key,
        Dialect::Tandem => {
            outbox.set_awaiting_hello(true);
            let hello = read_hello(&mut wire, &state).await;
            outbox.set_awaiting_hello(false);
            match hello {
                HelloEnd::Hello(key) => {
                    wire.heard();
                    key
                }
                HelloEnd::Refused(close) => {
                    count_refused("hello");
                    return turn_away(Some(close), outbox, wire, &room, client).await;
                }
                HelloEnd::TimedOut => {
                    count_refused("hello");
                    return turn_away(None, outbox, wire, &room, client).await;
                }
                HelloEnd::Shutdown => {
                    let going_away = going_away();
                    return turn_away(Some(going_away), outbox, wire, &room, client).await;
                }
                HelloEnd::ClientClosed => {
                    return turn_away(None, outbox, wire, &room, client).await;
                }
                HelloEnd::Gone => return,
            }
        }
    };
    let key = match check_key(&state.keys, &room, key.as_deref()) {
        Ok(key) => key,
        Err(close) => {
            return turn_away(Some(close), outbox, wire, &room, client).await;
        }
    };
    // Counted across the cluster for the connection's life (a no-op
    // without the bus). Boxed, like every wait that happens once: its
    // future should not take room in the connection's task for the rest of
    // its life.
    let _tracked = match Box::pin(admit_in_cluster(&state, &room, &_slot)).await {
        Ok(tracked) => tracked,
        Err(close) => {
            return turn_away(Some(close), outbox, wire, &room, client).await;
        }
    };
    count_accepted();

    let end = match Box::pin(join(&state, &room, client, &outbox, key, dialect)).await {
        Ok(handle) => {
            debug!(%room, %client, "joined");
            let end = read_loop(&mut wire, &handle, &outbox, client, &state, dialect).await;
            if end == ReadEnd::Shutdown {
                Box::pin(going_away_after_flush(&handle, &outbox, &state)).await;
            }
            let _ = Box::pin(handle.send(RoomCmd::Leave { client })).await;
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
        // Finish the close handshake: send what is queued, the close among
        // it, and read until the client's close has come.
        Box::pin(finish(&mut wire)).await;
    }
    info!(%room, %client, ?end, "connection closed");
}

/// At shutdown: lets the room commit what this client sent, so its last
/// `saved` goes out before the close, then queues the close behind it.
async fn going_away_after_flush(handle: &RoomHandle, outbox: &Outbox, state: &AppState) {
    let _ = timeout(state.config.shutdown_timeout, handle.flush()).await;
    let going_away = going_away();
    // Queued behind the data (the last `saved` goes out first), so counted
    // here rather than by `Outbox::close`.
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
/// when the client or the heartbeat closed first), then finishes the close
/// handshake.
async fn turn_away(
    close: Option<Close>,
    outbox: Outbox,
    mut wire: Wire,
    room: &RoomId,
    client: ClientId,
) {
    if let Some(close) = close {
        info!(%room, %client, code = close.code.number(), reason = %close.reason, "not admitted");
        outbox.close(close);
    }
    drop(outbox);
    Box::pin(finish(&mut wire)).await;
}

/// Sends what is queued (a close among it) and reads until the stream ends
/// or the close handshake completes, for at most [`CLOSE_GRACE`]. A peer
/// that has not finished by then (one that stopped reading never will: our
/// close frame sits behind the data it did not read) has its connection
/// reset when the socket is dropped, so the kernel does not keep the unsent
/// queue in FIN-WAIT-1.
pub(super) async fn finish<S>(wire: &mut Wire<S>)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let ended = timeout(CLOSE_GRACE, async {
        while !matches!(wire.next().await, Event::Ended) {}
    })
    .await;
    if ended.is_err()
        && let Some(control) = wire.control()
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
