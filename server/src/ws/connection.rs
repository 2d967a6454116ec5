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

use std::net::IpAddr;
use std::num::NonZeroU32;

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use tandem_shared::close::{Close, CloseCode};
use tandem_shared::{ClientId, RoomId};
use tokio::time::timeout;
use tracing::{debug, info, warn};

use super::CLOSE_GRACE;
use super::admission::{
    Admission, admit_in_cluster, check_key, count_accepted, count_refused, room_full,
};
use super::decode::FrameDecoder;
use super::handshake::Upgraded;
use super::heartbeat::Registered;
use super::outbox::{Outbox, outbox};
use super::reader::{HelloEnd, ReadEnd, Reading, read_hello, read_loop};
use super::wire::{Event, Wire, WireOptions};
use crate::AppState;
use crate::bus::Tracked;
use crate::links::LinkId;
use crate::room::{Dialect, Identity, JoinRefused, RoomCmd, RoomHandle};

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

/// What one connection holds for its whole life, in one allocation: the
/// task's future then holds only this box and the small state of whatever
/// it awaits (async fn arguments and captures would each take room in it,
/// some twice).
struct Conn {
    state: AppState,
    room: RoomId,
    client: ClientId,
    /// The address it counts under (behind a trusted proxy, the client's),
    /// for the log.
    ip: IpAddr,
    dialect: Dialect,
    wire: Wire,
    outbox: Outbox,
    decoder: FrameDecoder,
    limiter: DefaultDirectRateLimiter,
    /// The admission's verdict; once admitted, the connection's place
    /// under the bounds, held for its life.
    admission: Admission,
    /// Counted across the cluster, for its life.
    tracked: Option<Tracked>,
    /// A Yjs client's key, from its URL (taken when checked).
    url_key: Option<String>,
    _heartbeat: Registered,
    _open: OpenConnection,
}

/// Who a connection is, as the upgrade found it.
pub(super) struct Arrival {
    pub room: RoomId,
    pub client: ClientId,
    /// The address it counts under (behind a trusted proxy, the client's).
    pub ip: IpAddr,
    pub dialect: Dialect,
    /// The key a Yjs client put in its URL; a Tandem client's comes in its
    /// `hello`.
    pub url_key: Option<String>,
}

/// The future that runs one upgraded connection to its end.
pub(super) fn handle_socket(
    socket: Upgraded,
    state: AppState,
    arrival: Arrival,
    admission: Admission,
) -> impl Future<Output = ()> + Send + 'static {
    let Arrival {
        room,
        client,
        ip,
        dialect,
        url_key,
    } = arrival;
    let config = &state.config;
    let (outbox, rx) = outbox(config.queue_messages, config.queue_bytes);
    let options = WireOptions {
        deflate: socket.deflate,
        deflate_from: config.ws_deflate_threshold,
        limit: config.max_message_bytes,
        counters: state.frames_out.clone(),
        control: socket.control,
    };
    let wire = Wire::new(socket.io, rx, options);
    let rate = NonZeroU32::new(config.rate_limit).unwrap_or(NonZeroU32::MIN);
    let burst = NonZeroU32::new(config.rate_burst).unwrap_or(rate);
    let limiter = RateLimiter::direct(Quota::per_second(rate).allow_burst(burst));
    // Pings, silence and shutdown, from the server-wide heartbeat.
    let heartbeat = state.heartbeats.register(outbox.watch());
    let conn = Box::new(Conn {
        decoder: FrameDecoder::new(client, dialect),
        state,
        room,
        client,
        ip,
        dialect,
        wire,
        outbox,
        limiter,
        admission,
        tracked: None,
        url_key,
        _heartbeat: heartbeat,
        _open: OpenConnection::new(),
    });
    run(conn)
}

/// Runs a connection: admission, hello, key, join, reading, shutdown, the
/// close handshake.
async fn run(mut conn: Box<Conn>) {
    let c = &mut *conn;
    let end = match Box::pin(admit_and_join(c)).await {
        Ok(handle) => {
            debug!(room = %c.room, client = %c.client, "joined");
            let end = read_loop(Reading {
                wire: &mut c.wire,
                room: &handle,
                outbox: &c.outbox,
                state: &c.state,
                decoder: &mut c.decoder,
                limiter: &c.limiter,
            })
            .await;
            if end == ReadEnd::Shutdown {
                Box::pin(going_away_after_flush(&handle, &c.outbox, &c.state)).await;
            }
            let _ = Box::pin(handle.send(RoomCmd::Leave { client: c.client })).await;
            end
        }
        Err(end) => end,
    };
    if end != ReadEnd::Gone {
        // Finish the close handshake: send what is queued, the close among
        // it, and read until the client's close has come.
        Box::pin(finish(&mut c.wire)).await;
    }
    info!(room = %c.room, client = %c.client, ip = %c.ip, ?end, "connection closed");
}

/// Everything before the read loop: the admission's verdict, the hello (a
/// Tandem client's key), the key's check, the cluster's count and the join.
/// `Err` when the connection ends there (its close is queued, if any).
/// Boxed where it is awaited: it runs once, and its future should not take
/// room in the connection's task for the rest of its life.
async fn admit_and_join(c: &mut Conn) -> Result<RoomHandle, ReadEnd> {
    let refused = |c: &mut Conn, close: Option<Close>| {
        if let Some(close) = close {
            info!(room = %c.room, client = %c.client, ip = %c.ip, code = close.code.number(), reason = %close.reason, "not admitted");
            c.outbox.close(close);
        }
        ReadEnd::ServerClosed
    };
    if let Admission::Refused(close) = &c.admission {
        let close = close.clone();
        return Err(refused(c, Some(close)));
    }
    let (key, identity) = match c.dialect {
        Dialect::Yjs => (c.url_key.take(), Identity::Yjs),
        Dialect::Tandem => {
            c.outbox.set_awaiting_hello(true);
            let hello = read_hello(&mut c.wire, &c.state).await;
            c.outbox.set_awaiting_hello(false);
            match hello {
                HelloEnd::Hello(hello) => {
                    c.wire.heard();
                    let identity = Identity::from_hello(
                        &c.room,
                        hello.author.as_deref(),
                        hello.color.as_deref(),
                    );
                    (hello.key, identity)
                }
                HelloEnd::Refused(close) => {
                    count_refused("hello");
                    return Err(refused(c, Some(close)));
                }
                HelloEnd::TimedOut => {
                    count_refused("hello");
                    return Err(refused(c, None));
                }
                HelloEnd::Shutdown => return Err(refused(c, Some(going_away()))),
                HelloEnd::ClientClosed => return Err(ReadEnd::ClientClosed),
                HelloEnd::Gone => return Err(ReadEnd::Gone),
            }
        }
    };
    let key = match check_key(&c.state.keys, &c.room, key.as_deref()) {
        Ok(key) => key,
        Err(close) => return Err(refused(c, Some(close))),
    };
    // Counted across the cluster for the connection's life (a no-op
    // without the bus).
    if let Admission::Admitted(slot) = &c.admission {
        match Box::pin(admit_in_cluster(&c.state, &c.room, slot)).await {
            Ok(tracked) => c.tracked = tracked,
            Err(close) => return Err(refused(c, Some(close))),
        }
    }
    count_accepted();
    let joined = Box::pin(join(
        &c.state, &c.room, c.client, &c.outbox, key, c.dialect, identity,
    ))
    .await;
    match joined {
        Ok(handle) => Ok(handle),
        Err(JoinRefused::Full) => {
            count_refused("room_full");
            c.outbox.close(room_full());
            Err(ReadEnd::ServerClosed)
        }
        Err(JoinRefused::Link(refusal)) => {
            count_refused("link");
            Err(refused(
                c,
                Some(Close::new(CloseCode::AccessRevoked, refusal.to_string())),
            ))
        }
        Err(JoinRefused::Gone) if c.state.shutdown.is_cancelled() => {
            c.outbox.close(going_away());
            Err(ReadEnd::ServerClosed)
        }
        Err(JoinRefused::Gone) => {
            c.outbox.close(Close::new(
                CloseCode::Internal,
                "the document could not be opened; try again",
            ));
            Err(ReadEnd::ServerClosed)
        }
    }
}

/// At shutdown: lets the room commit what this client sent, so its last
/// `saved` goes out before the close, then queues the close behind it.
async fn going_away_after_flush(handle: &RoomHandle, outbox: &Outbox, state: &AppState) {
    let _ = timeout(state.config.shutdown_timeout, handle.flush()).await;
    outbox.close_after_queued(going_away());
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
    key: Option<LinkId>,
    dialect: Dialect,
    identity: Identity,
) -> Result<RoomHandle, JoinRefused> {
    for _ in 0..3 {
        let handle = state
            .registry
            .get_or_create(room)
            .ok_or(JoinRefused::Gone)?;
        match handle
            .join_as(
                client,
                outbox.recipient(),
                key.clone(),
                dialect,
                identity.clone(),
            )
            .await
        {
            Ok(()) => return Ok(handle),
            Err(JoinRefused::Gone) => continue,
            Err(refused) => return Err(refused),
        }
    }
    warn!("room kept going away while joining");
    Err(JoinRefused::Gone)
}
