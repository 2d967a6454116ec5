//! The connection task: one WebSocket at a time to `/ws/{room}`, speaking
//! `tandem.v1` (see `tandem_shared::protocol`), and the reconnect loop around
//! it.
//!
//! One `spawn_local` task owns the socket and reacts to six sources, polled
//! together: control requests from the page ([`Control`]), frames from the
//! server, local updates from the document's outgoing channel, presence
//! reports from the page, one timer (heartbeat and dead-socket check, or the
//! reconnect countdown) and the presence throttle's timer. Owning the
//! socket in one place keeps frames in order and makes the per-connection
//! save counter exact: a local update is either sent (and counted) at once,
//! or, with no synced connection, left in the document for the next sync
//! step 2 to carry.
//!
//! The task also keeps the room's presence table (emptied whenever a
//! connection ends, so no ghost survives a reconnect) and records every
//! frame it sends and receives for the frame inspector.

use std::cell::{Cell, RefCell};
use std::future::{Future, poll_fn};
use std::rc::Rc;
use std::task::Poll;

use futures_channel::mpsc::{self, UnboundedReceiver, UnboundedSender};
use futures_util::{FutureExt, SinkExt, StreamExt};
use gloo_net::websocket::futures::WebSocket;
use gloo_net::websocket::{Message, State, WebSocketError};
use gloo_timers::future::TimeoutFuture;
use leptos::prelude::{GetUntracked, RwSignal, Set, Update};
use tandem_shared::{
    ClientId, ClientMsg, PROTOCOL_VERSION, Presence, RoomId, SUBPROTOCOL, ServerMsg, ShareKeys,
    SyncFrame, close,
};

use super::backoff::{self, RetryPlan};
use super::status::{ConnectionState, SaveCounters, SaveState};
use crate::editor::{LocalUpdate, OpenedDoc, Received, SharedDoc, describe_changes};
use crate::inspector::{Direction, Frame, FrameLog};
use crate::presence::{PresenceTable, PresenceThrottle};

/// How often the page pings the server while connected.
const PING_EVERY_MS: f64 = 15_000.0;
/// Silence after which the socket counts as dead.
const DEAD_AFTER_MS: f64 = 45_000.0;
/// How long a ping may stay unanswered before silence counts. Browsers fire
/// timers late in background tabs; without this a throttled tab would call a
/// healthy socket dead because its own pings went out late.
const PONG_GRACE_MS: f64 = 10_000.0;
/// Close code of a connection that ended without a close frame.
const ABNORMAL: u16 = 1006;

/// What the page asks of the connection task.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Control {
    /// Skip the rest of the backoff (button, `online`, tab visible again);
    /// while connected, probe the socket with a ping.
    RetryNow,
    /// The browser lost its network (`offline`).
    WentOffline,
    /// The page is going away: close and end the task.
    Stop,
}

/// The signals the connection writes for the header.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SessionSignals {
    /// The `connection-state` badge.
    pub(crate) connection: RwSignal<ConnectionState>,
    /// The `save-state` badge.
    pub(crate) save: RwSignal<SaveState>,
    /// The room name the server confirmed in `welcome`.
    pub(crate) room: RwSignal<Option<RoomId>>,
    /// Whether the server made this connection view-only.
    pub(crate) read_only: RwSignal<bool>,
    /// The room's share-link keys, when the server gives them (editors only).
    pub(crate) share: RwSignal<Option<ShareKeys>>,
    /// The others in the room; empty while disconnected.
    pub(crate) peers: RwSignal<PresenceTable>,
    /// Every frame sent and received, for the inspector.
    pub(crate) frames: RwSignal<FrameLog>,
}

impl SessionSignals {
    pub(crate) fn new() -> Self {
        Self {
            connection: RwSignal::new(ConnectionState::Connecting),
            save: RwSignal::new(SaveState::Saved),
            room: RwSignal::new(None),
            read_only: RwSignal::new(false),
            share: RwSignal::new(None),
            peers: RwSignal::new(PresenceTable::default()),
            frames: RwSignal::new(FrameLog::default()),
        }
    }
}

/// A handle on the connection task; cheap to clone, `Send`, so reactive
/// callbacks can hold it.
#[derive(Debug, Clone)]
pub(crate) struct Connection {
    control: UnboundedSender<Control>,
    /// This tab's presence, as the page reports it. Unbounded like the
    /// outgoing updates: the task drains it at once and keeps only the latest.
    presence: UnboundedSender<Presence>,
}

impl Connection {
    /// Starts the task for `room` on the opened document. `key` is the
    /// share-link key from the page address, if any.
    pub(crate) fn start(
        room: &RoomId,
        key: Option<&str>,
        opened: OpenedDoc,
        signals: SessionSignals,
    ) -> (Self, Rc<PageSocket>) {
        let (control, control_rx) = mpsc::unbounded();
        let (presence, presence_rx) = mpsc::unbounded();
        let page_socket = Rc::new(PageSocket::default());
        let task = Task {
            page_socket: Rc::clone(&page_socket),
            url: socket_url(room, key),
            doc: opened.doc,
            control: control_rx,
            outgoing: opened.outgoing,
            presence_in: presence_rx,
            throttle: PresenceThrottle::default(),
            signals,
            save: SaveCounters::new(opened.unsaved),
        };
        wasm_bindgen_futures::spawn_local(task.run());
        (Self { control, presence }, page_socket)
    }

    /// Sends `request` to the task (ignored once it ended).
    pub(crate) fn request(&self, request: Control) {
        let _ = self.control.unbounded_send(request);
    }

    /// This tab's presence changed (name, colour or cursor). The task sends
    /// the latest at most once per 50 ms, and again after each reconnect.
    pub(crate) fn report_presence(&self, presence: Presence) {
        let _ = self.presence.unbounded_send(presence);
    }
}

/// The open socket, reachable synchronously from a `pagehide` handler: a
/// page entering the back/forward cache is frozen right after `pagehide`,
/// before the connection task could run, and would otherwise keep its
/// connection (and a server slot) open while nobody looks at it.
#[derive(Debug, Default)]
pub(crate) struct PageSocket {
    /// The browser socket of the current connection, if one is open.
    socket: RefCell<Option<web_sys::WebSocket>>,
    /// The page closed it: the task reconnects instead of obeying the code.
    closed_by_page: Cell<bool>,
}

impl PageSocket {
    /// Closes the current socket now (the page is being hidden or unloaded).
    pub(crate) fn close_for_pagehide(&self) {
        if let Some(socket) = self.socket.borrow_mut().take() {
            self.closed_by_page.set(true);
            // Browsers only let pages send 1000 or 3000–4999.
            let _ = socket.close_with_code_and_reason(close::NORMAL, "page hidden");
        }
    }
}

/// `ws://host/ws/{room}[?key=…]`, or `wss://` when the page came over HTTPS.
fn socket_url(room: &RoomId, key: Option<&str>) -> String {
    let location = web_sys::window().map(|w| w.location());
    let protocol = location
        .as_ref()
        .and_then(|l| l.protocol().ok())
        .unwrap_or_default();
    let host = location
        .as_ref()
        .and_then(|l| l.host().ok())
        .unwrap_or_default();
    format_socket_url(&protocol, &host, room, key)
}

fn format_socket_url(page_protocol: &str, host: &str, room: &RoomId, key: Option<&str>) -> String {
    let scheme = if page_protocol == "https:" {
        "wss"
    } else {
        "ws"
    };
    // Keys are URL-safe as the server makes them; one pasted by hand may not be.
    let key = key.map(percent_encode);
    format!("{scheme}://{host}{}", room.ws_path(key.as_deref()))
}

/// Percent-encodes everything but RFC 3986's unreserved characters.
pub(super) fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

fn browser_online() -> bool {
    web_sys::window().is_none_or(|w| w.navigator().on_line())
}

fn now_ms() -> f64 {
    js_sys::Date::now()
}

/// How one connection ended.
enum Ending {
    /// The page asked the task to stop.
    Stopped,
    /// The browser went offline.
    Offline { synced: bool },
    /// The socket closed or died; the close code decides what comes next.
    Lost {
        code: u16,
        reason: String,
        synced: bool,
    },
    /// This page cannot talk to this server (protocol version): no retry.
    Refused { reason: String },
}

/// Why a wait ended.
enum Wake {
    Timer,
    Control(Control),
}

/// One input of the task.
enum Event {
    Control(Control),
    Opened,
    Socket(Option<Result<Message, WebSocketError>>),
    Local(LocalUpdate),
    Presence(Presence),
    Timer,
    PresenceDue,
}

/// The state of one socket.
struct Link {
    /// The socket left CONNECTING (open, or failed).
    opened: bool,
    /// Our step 2 went out: local updates are sent as they happen.
    live: bool,
    /// The server's step 2 arrived: the backoff resets.
    synced: bool,
    /// This connection's id, once the server welcomed it; presence goes out
    /// only after that.
    client_id: Option<ClientId>,
    /// When the last frame of any kind arrived (or the attempt started).
    last_heard: f64,
    /// When the next ping is due.
    next_ping: f64,
    /// When the last ping went out.
    ping_sent: Option<f64>,
}

impl Link {
    fn new(now: f64) -> Self {
        Self {
            opened: false,
            live: false,
            synced: false,
            client_id: None,
            last_heard: now,
            next_ping: now + PING_EVERY_MS,
            ping_sent: None,
        }
    }

    /// A ping that has had no answer (nothing at all arrived since).
    fn unanswered_ping(&self) -> Option<f64> {
        self.ping_sent.filter(|&at| at >= self.last_heard)
    }

    fn is_dead(&self, now: f64) -> bool {
        let silent = now - self.last_heard >= DEAD_AFTER_MS;
        if !self.opened {
            return silent;
        }
        silent
            && self
                .unanswered_ping()
                .is_some_and(|at| now - at >= PONG_GRACE_MS)
    }

    /// Milliseconds until the timer should next look at this link.
    fn next_check_in(&self, now: f64) -> u32 {
        let mut due = vec![self.last_heard + DEAD_AFTER_MS];
        if self.opened {
            due.push(self.next_ping);
            if let Some(at) = self.unanswered_ping() {
                due.push(at + PONG_GRACE_MS);
            }
        }
        let next = due
            .into_iter()
            .filter(|&t| t > now)
            .fold(now + 1_000.0, f64::min);
        (next - now).ceil().max(1.0) as u32
    }
}

struct Task {
    /// `ws(s)://{host}/ws/{room}`.
    url: String,
    /// The page's document.
    doc: Rc<SharedDoc>,
    /// Requests from the page.
    control: UnboundedReceiver<Control>,
    /// One update per local transaction.
    outgoing: UnboundedReceiver<LocalUpdate>,
    /// Presence reports from the page.
    presence_in: UnboundedReceiver<Presence>,
    /// What to send of them, and when.
    throttle: PresenceThrottle,
    /// What the header shows.
    signals: SessionSignals,
    /// Sent/acknowledged counts behind the save badge.
    save: SaveCounters,
    /// The current socket, for `pagehide`.
    page_socket: Rc<PageSocket>,
}

impl Task {
    async fn run(mut self) {
        self.publish_save();
        let mut attempt: u32 = 0;
        loop {
            if !browser_online() {
                self.set_connection(ConnectionState::Offline);
                // Wait for `online` (or the page to go); then try even if
                // `navigator.onLine` is still unsure.
                loop {
                    match self.wait(None).await {
                        Wake::Control(Control::Stop) => return,
                        Wake::Control(Control::RetryNow) => break,
                        _ => {}
                    }
                }
            }
            let (code, reason) = match self.connect_once().await {
                Ending::Stopped => return,
                Ending::Refused { reason } => return self.give_up(reason).await,
                Ending::Offline { synced } => {
                    if synced {
                        attempt = 0;
                    }
                    continue;
                }
                Ending::Lost {
                    code,
                    reason,
                    synced,
                } => {
                    if synced {
                        attempt = 0;
                    }
                    (code, reason)
                }
            };
            attempt = attempt.saturating_add(1);
            match backoff::plan(code, &reason, attempt, js_sys::Math::random) {
                RetryPlan::GiveUp => return self.give_up(describe_close(code, &reason)).await,
                RetryPlan::After { delay_ms, .. } => {
                    if !self.count_down(delay_ms as f64, attempt).await {
                        return;
                    }
                }
            }
        }
    }

    /// Shows a final close and stays until the page goes, still tracking
    /// local edits for the save badge.
    async fn give_up(mut self, reason: String) {
        self.set_connection(ConnectionState::Closed { reason });
        while !matches!(self.wait(None).await, Wake::Control(Control::Stop)) {}
    }

    /// Shows "Reconnecting in N s" until `delay_ms` passed or a retry is
    /// requested. `false` when the task must stop.
    async fn count_down(&mut self, delay_ms: f64, attempt: u32) -> bool {
        let deadline = now_ms() + delay_ms;
        loop {
            let left = deadline - now_ms();
            if left <= 0.0 {
                return true;
            }
            let in_secs = (left / 1_000.0).ceil();
            self.set_connection(ConnectionState::Reconnecting {
                in_secs: in_secs as u64,
                attempt,
            });
            // Wake at the next whole second so the countdown ticks.
            let step = left - (in_secs - 1.0) * 1_000.0;
            match self.wait(Some(step.ceil().max(1.0) as u32)).await {
                Wake::Timer => {}
                Wake::Control(Control::Stop) => return false,
                Wake::Control(Control::RetryNow | Control::WentOffline) => return true,
            }
        }
    }

    /// Waits without a socket for a request or `timeout_ms`, keeping the save
    /// badge right about edits made meanwhile.
    async fn wait(&mut self, timeout_ms: Option<u32>) -> Wake {
        let mut timer = timeout_ms.map(TimeoutFuture::new);
        loop {
            let event = next_event(
                &mut self.control,
                &mut self.outgoing,
                &mut self.presence_in,
                None,
                timer.as_mut(),
                None,
            )
            .await;
            match event {
                Event::Control(request) => return Wake::Control(request),
                Event::Timer => return Wake::Timer,
                Event::Local(_) => {
                    self.save.edited_offline();
                    self.publish_save();
                }
                // Kept for the next connection, which sends it once welcomed.
                Event::Presence(presence) => self.throttle.report(presence),
                Event::Opened | Event::Socket(_) | Event::PresenceDue => {}
            }
        }
    }

    /// Opens one socket and serves it until it ends.
    async fn connect_once(&mut self) -> Ending {
        self.set_connection(ConnectionState::Connecting);
        // What `WebSocket::open_with_protocol` does, keeping a handle on the
        // browser socket for `PageSocket`.
        let opened = web_sys::WebSocket::new_with_str(&self.url, SUBPROTOCOL)
            .map_err(|e| format!("{e:?}"))
            .and_then(|raw| {
                let ws = WebSocket::try_from(raw.clone()).map_err(|e| e.to_string())?;
                Ok((raw, ws))
            });
        let mut ws = match opened {
            Ok((raw, ws)) => {
                self.page_socket.closed_by_page.set(false);
                *self.page_socket.socket.borrow_mut() = Some(raw);
                ws
            }
            Err(e) => {
                leptos::logging::warn!("cannot open {}: {e}", self.url);
                return Ending::Lost {
                    code: ABNORMAL,
                    reason: String::new(),
                    synced: false,
                };
            }
        };
        let (ending, our_close) = self.serve(&mut ws).await;
        self.page_socket.socket.borrow_mut().take();
        if let Some((code, reason)) = our_close {
            if matches!(ws.state(), State::Open) {
                self.record(Frame::close(Direction::Sent, code, reason));
            }
            if let Err(e) = ws.close(Some(code), Some(reason)) {
                leptos::logging::warn!("closing the socket failed: {e}");
            }
        }
        // Presence belongs to a connection: the next welcome brings it back.
        self.signals.peers.try_set(PresenceTable::default());
        self.save.closed();
        self.publish_save();
        ending
    }

    /// The life of one socket. Returns how it ended, and the close frame to
    /// send when the page is the one ending it.
    async fn serve(&mut self, ws: &mut WebSocket) -> (Ending, Option<(u16, &'static str)>) {
        let mut link = Link::new(now_ms());
        let mut timer = TimeoutFuture::new(link.next_check_in(now_ms()));
        let mut presence_timer: Option<TimeoutFuture> = None;
        loop {
            let socket = Some((&mut *ws, link.opened));
            let event = next_event(
                &mut self.control,
                &mut self.outgoing,
                &mut self.presence_in,
                socket,
                Some(&mut timer),
                presence_timer.as_mut(),
            )
            .await;
            match event {
                Event::Control(Control::Stop) => {
                    return (Ending::Stopped, Some((close::NORMAL, "page closed")));
                }
                Event::Control(Control::WentOffline) => {
                    let ending = Ending::Offline {
                        synced: link.synced,
                    };
                    return (ending, Some((close::NORMAL, "browser went offline")));
                }
                Event::Control(Control::RetryNow) => {
                    if link.opened && link.unanswered_ping().is_none() {
                        self.send_control(ws, &ClientMsg::Ping);
                        link.ping_sent = Some(now_ms());
                    }
                }
                Event::Opened => {
                    link.opened = true;
                    if matches!(ws.state(), State::Open) {
                        self.save.opened();
                        self.publish_save();
                        self.send_sync(ws, &SyncFrame::Step1(self.doc.state_vector()), None);
                        link.next_ping = now_ms() + PING_EVERY_MS;
                    }
                    // The pending check was set for the connect timeout; pings start now.
                    timer = TimeoutFuture::new(link.next_check_in(now_ms()));
                }
                Event::Socket(Some(Ok(message))) => {
                    link.last_heard = now_ms();
                    let outcome = match message {
                        Message::Text(text) => {
                            // Recorded before it is handled: handling may send frames.
                            self.record(Frame::text(Direction::Received, &text));
                            match serde_json::from_str::<ServerMsg>(&text) {
                                Ok(msg) => self.on_control(&mut link, msg),
                                Err(e) => {
                                    leptos::logging::warn!("ignored a text frame: {e}");
                                    None
                                }
                            }
                        }
                        Message::Bytes(bytes) => self.on_binary(ws, &mut link, &bytes),
                    };
                    if let Some(ending) = outcome {
                        return ending;
                    }
                }
                Event::Socket(Some(Err(WebSocketError::ConnectionClose(event)))) => {
                    let (code, reason) = if self.page_socket.closed_by_page.replace(false) {
                        // Closed on `pagehide`; if the page comes back, reconnect.
                        (close::GOING_AWAY, String::new())
                    } else {
                        if event.was_clean {
                            self.record(Frame::close(
                                Direction::Received,
                                event.code,
                                &event.reason,
                            ));
                        }
                        (event.code, event.reason)
                    };
                    return (
                        Ending::Lost {
                            code,
                            reason,
                            synced: link.synced,
                        },
                        None,
                    );
                }
                // The `error` event carries nothing; the `close` event follows.
                Event::Socket(Some(Err(_))) => {}
                Event::Socket(None) => {
                    let ending = Ending::Lost {
                        code: ABNORMAL,
                        reason: String::new(),
                        synced: link.synced,
                    };
                    return (ending, None);
                }
                Event::Local(local) => {
                    if link.live {
                        let changes = describe_changes(&local.changes);
                        self.send_sync(ws, &SyncFrame::Update(local.update), Some(changes));
                        self.save.sent_update();
                    } else {
                        // The step 2 that answers the server's step 1 carries it.
                        self.save.edited_offline();
                    }
                    self.publish_save();
                }
                Event::Presence(presence) => self.throttle.report(presence),
                Event::PresenceDue => presence_timer = None,
                Event::Timer => {
                    let now = now_ms();
                    if link.is_dead(now) {
                        const WHY: &str = "no answer from the server";
                        let ending = Ending::Lost {
                            code: close::HEARTBEAT_TIMEOUT,
                            reason: WHY.to_owned(),
                            synced: link.synced,
                        };
                        return (ending, Some((close::HEARTBEAT_TIMEOUT, WHY)));
                    }
                    if link.opened && now >= link.next_ping {
                        self.send_control(ws, &ClientMsg::Ping);
                        link.ping_sent = Some(now);
                        link.next_ping = now + PING_EVERY_MS;
                    }
                    timer = TimeoutFuture::new(link.next_check_in(now));
                }
            }
            if link.client_id.is_some() {
                self.flush_presence(ws, &mut presence_timer);
            }
        }
    }

    /// Sends the presence the throttle says is due, and sets its timer for
    /// the next one.
    fn flush_presence(&mut self, ws: &mut WebSocket, timer: &mut Option<TimeoutFuture>) {
        let now = now_ms();
        if let Some(presence) = self.throttle.take_due(now) {
            self.send_control(ws, &ClientMsg::Presence(presence));
        }
        *timer = self
            .throttle
            .due_at(now)
            .map(|at| TimeoutFuture::new((at - now).ceil().max(1.0) as u32));
    }

    fn on_control(
        &mut self,
        link: &mut Link,
        msg: ServerMsg,
    ) -> Option<(Ending, Option<(u16, &'static str)>)> {
        match msg {
            ServerMsg::Welcome {
                protocol,
                client_id,
                room,
                read_only,
                peers,
                share,
            } => {
                if protocol != PROTOCOL_VERSION {
                    let reason = format!(
                        "the server speaks protocol {protocol}, this page {PROTOCOL_VERSION}; reload the page"
                    );
                    return Some((
                        Ending::Refused { reason },
                        Some((close::NORMAL, "unsupported protocol")),
                    ));
                }
                link.client_id = Some(client_id);
                self.doc.set_read_only(read_only);
                self.signals.room.try_set(Some(room));
                self.signals.read_only.try_set(read_only);
                self.signals.share.try_set(share);
                self.signals
                    .peers
                    .try_set(PresenceTable::from_welcome(client_id, peers));
                self.set_connection(ConnectionState::Connected { client_id });
                // Everyone, view-only connections included, says who they are.
                self.throttle.joined();
            }
            ServerMsg::Saved { updates } => {
                self.save.saved(updates);
                self.publish_save();
            }
            ServerMsg::Presence(peer) => {
                if let Some(own) = link.client_id {
                    self.signals
                        .peers
                        .try_update(|table| table.upsert(own, peer));
                }
            }
            ServerMsg::PeerLeft { client_id } => {
                self.signals
                    .peers
                    .try_update(|table| table.remove(client_id));
            }
            ServerMsg::Pong => {}
            ServerMsg::Error { code, reason } => {
                leptos::logging::warn!("server refused a message ({code:?}): {reason}");
            }
        }
        None
    }

    /// A binary frame: decoded, handled, and recorded (before handling for
    /// a step 1, whose answer is sent while handling; after applying for
    /// updates, so the record says what they changed).
    fn on_binary(
        &mut self,
        ws: &mut WebSocket,
        link: &mut Link,
        bytes: &[u8],
    ) -> Option<(Ending, Option<(u16, &'static str)>)> {
        let frame = match SyncFrame::decode(bytes) {
            Ok(frame) => frame,
            Err(e) => {
                self.record(Frame::binary(Direction::Received, bytes, Err(&e), None));
                leptos::logging::warn!("ignored a binary frame: {e}");
                return None;
            }
        };
        let update = match &frame {
            SyncFrame::Step1(sv) => {
                self.record(Frame::binary(Direction::Received, bytes, Ok(&frame), None));
                // Updates queued before this instant are all in the document,
                // so the step 2 below carries them: drop them from the queue.
                while self.outgoing.try_recv().is_ok() {}
                if self.signals.read_only.try_get_untracked().unwrap_or(false) {
                    // The server closes a view-only connection on any step 2
                    // or update (1008), so a reader sends neither; its fields
                    // are read-only, so it has nothing to send anyway.
                    return None;
                }
                let step2 = SyncFrame::Step2(self.doc.diff_since(sv));
                self.send_sync(ws, &step2, None);
                self.save.sent_step2();
                self.publish_save();
                link.live = true;
                return None;
            }
            SyncFrame::Step2(update) => {
                link.synced = true;
                update
            }
            SyncFrame::Update(update) => update,
        };
        match self.doc.receive(update) {
            Ok(received) => {
                let changes = match received {
                    Received::Applied(changes) => describe_changes(&changes),
                    Received::Held => "held until the IME composition ends".to_owned(),
                };
                self.record(Frame::binary(
                    Direction::Received,
                    bytes,
                    Ok(&frame),
                    Some(changes),
                ));
                None
            }
            Err(e) => {
                self.record(Frame::binary(
                    Direction::Received,
                    bytes,
                    Ok(&frame),
                    Some(format!("refused: {e}")),
                ));
                // The document may now miss something; a fresh connection resyncs it.
                leptos::logging::warn!("{e}");
                const WHY: &str = "could not apply an update";
                let ending = Ending::Lost {
                    code: close::INVALID_UPDATE,
                    reason: WHY.to_owned(),
                    synced: link.synced,
                };
                Some((ending, Some((close::INVALID_UPDATE, WHY))))
            }
        }
    }

    /// Sends a text frame, recording it.
    fn send_control(&self, ws: &mut WebSocket, msg: &ClientMsg) {
        let json = msg.to_json();
        self.record(Frame::text(Direction::Sent, &json));
        send(ws, Message::Text(json));
    }

    /// Sends a binary frame, recording it with what it changed (if known).
    fn send_sync(&self, ws: &mut WebSocket, frame: &SyncFrame, changes: Option<String>) {
        let bytes = frame.encode();
        self.record(Frame::binary(Direction::Sent, &bytes, Ok(frame), changes));
        send(ws, Message::Bytes(bytes));
    }

    /// Adds `frame` to the inspector's history.
    fn record(&self, frame: Frame) {
        self.signals
            .frames
            .try_update(|log| log.push(frame, now_ms()));
    }

    fn set_connection(&self, state: ConnectionState) {
        self.signals.connection.try_set(state);
    }

    fn publish_save(&self) {
        let state = self.save.state();
        self.signals.save.try_set(state);
        self.doc.set_unsaved(state != SaveState::Saved);
    }
}

/// The next input of the task, polled in priority order: page requests,
/// then the socket, then local updates, presence reports, and the timers.
fn next_event<'a>(
    control: &'a mut UnboundedReceiver<Control>,
    outgoing: &'a mut UnboundedReceiver<LocalUpdate>,
    presence: &'a mut UnboundedReceiver<Presence>,
    mut socket: Option<(&'a mut WebSocket, bool)>,
    mut timer: Option<&'a mut TimeoutFuture>,
    mut presence_timer: Option<&'a mut TimeoutFuture>,
) -> impl Future<Output = Event> + 'a {
    poll_fn(move |cx| {
        if let Poll::Ready(request) = control.poll_next_unpin(cx) {
            // Every handle dropped: the page is gone.
            return Poll::Ready(Event::Control(request.unwrap_or(Control::Stop)));
        }
        if let Some((ws, opened)) = socket.as_mut() {
            // gloo's sink is ready once the socket leaves CONNECTING.
            if !*opened && ws.poll_ready_unpin(cx).is_ready() {
                return Poll::Ready(Event::Opened);
            }
            if let Poll::Ready(message) = ws.poll_next_unpin(cx) {
                return Poll::Ready(Event::Socket(message));
            }
        }
        // A closed channel (document dropped) just never yields again.
        if let Poll::Ready(Some(update)) = outgoing.poll_next_unpin(cx) {
            return Poll::Ready(Event::Local(update));
        }
        // After local updates, so a caret never arrives before its text.
        if let Poll::Ready(Some(report)) = presence.poll_next_unpin(cx) {
            return Poll::Ready(Event::Presence(report));
        }
        if let Some(timer) = timer.as_mut()
            && timer.poll_unpin(cx).is_ready()
        {
            return Poll::Ready(Event::Timer);
        }
        if let Some(timer) = presence_timer.as_mut()
            && timer.poll_unpin(cx).is_ready()
        {
            return Poll::Ready(Event::PresenceDue);
        }
        Poll::Pending
    })
}

/// Sends one frame. gloo's `start_send` does not wait: once open, the
/// browser queues the frame itself.
fn send(ws: &mut WebSocket, message: Message) {
    if let Err(e) = ws.start_send_unpin(message) {
        leptos::logging::warn!("send failed: {e}");
    }
}

/// The text after "Disconnected: " for a close that ends the retries.
fn describe_close(code: u16, reason: &str) -> String {
    if reason.is_empty() {
        format!("the server closed the connection (code {code})")
    } else {
        reason.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn socket_url_follows_the_page() {
        let room: RoomId = "quiet-otter".parse().expect("valid room");
        assert_eq!(
            format_socket_url("http:", "127.0.0.1:8080", &room, None),
            "ws://127.0.0.1:8080/ws/quiet-otter"
        );
        assert_eq!(
            format_socket_url("https:", "tandem.example", &room, None),
            "wss://tandem.example/ws/quiet-otter"
        );
        assert_eq!(
            format_socket_url("https:", "tandem.example", &room, Some("e.Ab-_9 /+=")),
            "wss://tandem.example/ws/quiet-otter?key=e.Ab-_9%20%2F%2B%3D"
        );
    }

    #[test]
    fn silence_alone_kills_a_socket_only_before_it_opens() {
        let mut link = Link::new(0.0);
        assert!(!link.is_dead(44_999.0));
        assert!(link.is_dead(45_000.0));
        link.opened = true;
        // Open but the page's own ping went out late: not dead yet.
        assert!(!link.is_dead(60_000.0));
        link.ping_sent = Some(55_000.0);
        assert!(!link.is_dead(60_000.0));
        assert!(link.is_dead(65_000.0));
        // An answer clears it.
        link.last_heard = 64_000.0;
        assert!(!link.is_dead(65_000.0));
    }

    #[test]
    fn regular_pings_find_a_dead_socket_at_45_seconds() {
        let mut link = Link::new(0.0);
        link.opened = true;
        let mut now = 0.0;
        loop {
            now += f64::from(link.next_check_in(now));
            if link.is_dead(now) {
                break;
            }
            if now >= link.next_ping {
                link.ping_sent = Some(now);
                link.next_ping = now + PING_EVERY_MS;
            }
            assert!(now < 100_000.0, "never declared dead");
        }
        assert_eq!(now, 45_000.0);
    }

    #[test]
    fn final_reasons_are_readable() {
        assert_eq!(describe_close(1008, "view-only link"), "view-only link");
        assert_eq!(
            describe_close(1000, ""),
            "the server closed the connection (code 1000)"
        );
    }
}
