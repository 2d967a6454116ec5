//! One socket, from opening to close: the connection drives the shared
//! [`ClientSession`](tandem_shared::ClientSession) with every frame, local
//! edit and presence report until the socket ends, and says how it ended.
//!
//! The session decides what each frame means and what to answer (the
//! handshake, the `saved` counters, the presence table); this file moves
//! frames between it and the [`RecordingSocket`], shows its state in the page's
//! signals, keeps the heartbeat [`Link`] and the presence throttle, and
//! turns what the session could not take into the end of the connection.

use gloo_net::websocket::{Message, WebSocketError};
use gloo_timers::future::TimeoutFuture;
use tandem_shared::PROTOCOL_VERSION;
use tandem_shared::close::{Close, CloseCode};
use tandem_shared::session::{Event, Reaction, SessionError};

use super::PageSession;
use super::access::AccessShown;
use super::inputs::{Control, Input, Inputs};
use super::link::{Link, now_ms};
use super::page_socket::PageSocket;
use super::recording_socket::{Answer, RecordingSocket};
use super::signals::SessionSignals;
use super::status::ConnectionState;
use crate::editor::describe_changes;
use crate::error::ClientError;
use crate::presence::PresenceThrottle;

/// How one connection ended: what the reconnect lifecycle decides on.
/// `synced` says the server's step 2 arrived on it (the backoff starts over).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Ending {
    /// The page asked the task to stop.
    Stopped,
    /// The browser went offline.
    Offline { synced: bool },
    /// The socket closed or died, or the page closed it over a fault; the
    /// close `code` (any number the browser reports) decides what comes next.
    Lost {
        code: u16,
        reason: String,
        synced: bool,
    },
    /// This page cannot talk to this server (protocol version): no retry;
    /// `reason` is for the header.
    Refused { reason: String },
}

/// What serving one socket came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Served {
    /// How it ended.
    pub(super) ending: Ending,
    /// The close frame the page sends, when the page is the one ending it.
    pub(super) close: Option<Close>,
}

impl Served {
    /// The page ends the connection with `close`.
    fn by_page(ending: Ending, close: Close) -> Self {
        Self {
            ending,
            close: Some(close),
        }
    }

    /// The page closes the socket over a fault, which then counts as a lost
    /// connection with that close (the close table decides on the retry).
    fn closing(close: Close, synced: bool) -> Self {
        let ending = Ending::Lost {
            code: close.code.number(),
            reason: close.reason.clone(),
            synced,
        };
        Self::by_page(ending, close)
    }

    /// The socket ended without the page asking.
    fn lost(code: u16, reason: String, synced: bool) -> Self {
        Self {
            ending: Ending::Lost {
                code,
                reason,
                synced,
            },
            close: None,
        }
    }
}

/// What a frame the session could not take does to the connection; `None`
/// keeps it open.
fn after_error<E>(error: &SessionError<E>, synced: bool) -> Option<Served> {
    match error {
        // The connection goes on: the frame is dropped (a `saved` count out
        // of range is held within what was sent, and the badge shown again).
        SessionError::BadJson(_) | SessionError::BadFrame(_) | SessionError::Saved { .. } => None,
        // The document may now miss something; a fresh connection resyncs it.
        SessionError::Update(_) => Some(Served::closing(
            Close::new(CloseCode::InvalidUpdate, "could not apply an update"),
            synced,
        )),
        SessionError::Protocol { server } => Some(Served::by_page(
            Ending::Refused {
                reason: format!(
                    "the server speaks protocol {server}, this page {PROTOCOL_VERSION}; reload the page"
                ),
            },
            Close::new(CloseCode::Normal, "unsupported protocol"),
        )),
    }
}

/// Says in the console why a frame was not taken.
fn log_error(error: &SessionError<ClientError>) {
    match error {
        SessionError::BadJson(e) => leptos::logging::warn!("ignored a text frame: {e}"),
        SessionError::BadFrame(e) => leptos::logging::warn!("ignored a binary frame: {e}"),
        SessionError::Update(e) => leptos::logging::warn!("{e}"),
        SessionError::Saved { .. } => leptos::logging::warn!("{error}"),
        // The header says it.
        SessionError::Protocol { .. } => {}
    }
}

/// What serving a socket works with; the lifecycle lends it for one socket.
pub(super) struct Serving<'a> {
    /// The protocol state, across sockets.
    pub(super) session: &'a mut PageSession,
    /// The page's requests, local updates and presence reports.
    pub(super) inputs: &'a mut Inputs,
    /// What to send of this tab's presence, and when.
    pub(super) throttle: &'a mut PresenceThrottle,
    /// What the page shows.
    pub(super) signals: SessionSignals,
    /// The current socket, for `pagehide`.
    pub(super) page_socket: &'a PageSocket,
}

impl Serving<'_> {
    /// Opens a socket to `url`, serves it until it ends, and closes it.
    pub(super) async fn connect(mut self, url: &str) -> Ending {
        self.signals.set_connection(ConnectionState::Connecting);
        let mut socket = match RecordingSocket::open(url, self.signals.frames) {
            Ok((socket, raw)) => {
                self.page_socket.attach(raw);
                socket
            }
            Err(e) => {
                leptos::logging::warn!("cannot open {url}: {e}");
                return Ending::Lost {
                    code: CloseCode::Abnormal.number(),
                    reason: String::new(),
                    synced: false,
                };
            }
        };
        let served = self.serve(&mut socket).await;
        self.page_socket.detach();
        if let Some(close) = &served.close {
            socket.close(close);
        }
        // Presence belongs to a connection: the next welcome brings it back.
        self.session.closed();
        self.signals.show_peers(self.session);
        self.signals.publish_save(self.session, self.inputs);
        served.ending
    }

    /// The life of one socket.
    async fn serve(&mut self, socket: &mut RecordingSocket) -> Served {
        let mut link = Link::new(now_ms());
        let mut timer = TimeoutFuture::new(link.next_check_in(now_ms()));
        let mut presence_timer: Option<TimeoutFuture> = None;
        // This socket was welcomed: presence may go out. (The session keeps
        // the last client id across sockets, so it cannot say.)
        let mut welcomed = false;
        loop {
            let open = Some((&mut *socket, link.is_opened()));
            let input = self
                .inputs
                .next(open, Some(&mut timer), presence_timer.as_mut())
                .await;
            match input {
                Input::Control(Control::Stop) => {
                    let close = Close::new(CloseCode::Normal, "page closed");
                    return Served::by_page(Ending::Stopped, close);
                }
                Input::Control(Control::WentOffline) => {
                    let ending = Ending::Offline {
                        synced: self.session.synced(),
                    };
                    let close = Close::new(CloseCode::Normal, "browser went offline");
                    return Served::by_page(ending, close);
                }
                Input::Control(Control::RetryNow) => {
                    if link.may_probe() {
                        socket.send(&self.session.ping(), None);
                        link.probed(now_ms());
                    }
                }
                Input::Opened => {
                    link.opened();
                    if socket.is_open() {
                        // The hello (with the link's key) goes first: the
                        // server sends nothing for the room before it.
                        let hello = self.session.open();
                        self.signals.publish_save(self.session, self.inputs);
                        socket.send(&hello, None);
                        socket.send(&self.session.step1(), None);
                        link.start_pinging(now_ms());
                    }
                    // The pending check was set for the connect timeout; pings start now.
                    timer = TimeoutFuture::new(link.next_check_in(now_ms()));
                }
                Input::Socket(Some(Ok(message))) => {
                    link.heard(now_ms());
                    let answer = match message {
                        Message::Text(text) => socket.receive_text(&text, self.session),
                        Message::Bytes(bytes) => socket.receive_binary(&bytes, self.session),
                    };
                    if let Some(served) = self.react(socket, answer, &mut welcomed) {
                        return served;
                    }
                }
                Input::Socket(Some(Err(WebSocketError::ConnectionClose(event)))) => {
                    let synced = self.session.synced();
                    if self.page_socket.take_closed_by_page() {
                        // Closed on `pagehide`; if the page comes back, reconnect.
                        return Served::lost(CloseCode::GoingAway.number(), String::new(), synced);
                    }
                    if event.was_clean {
                        socket.received_close(event.code, &event.reason);
                    }
                    self.access_shown()
                        .closed(self.session, event.code, &event.reason);
                    return Served::lost(event.code, event.reason, synced);
                }
                // The `error` event carries nothing; the `close` event follows.
                Input::Socket(Some(Err(_))) => {}
                Input::Socket(None) => {
                    let synced = self.session.synced();
                    return Served::lost(CloseCode::Abnormal.number(), String::new(), synced);
                }
                Input::Local(local) => {
                    // Sent at once when our step 2 went out; otherwise the
                    // step 2 that answers the server's step 1 carries it.
                    if let Some(frame) = self.session.local_update(local.update) {
                        socket.send(&frame, Some(describe_changes(&local.changes)));
                    }
                    self.signals.publish_save(self.session, self.inputs);
                }
                Input::Presence(presence) => self.throttle.report(presence),
                Input::PresenceDue => presence_timer = None,
                Input::Timer => {
                    let now = now_ms();
                    if link.is_dead(now) {
                        let close =
                            Close::new(CloseCode::HeartbeatTimeout, "no answer from the server");
                        return Served::closing(close, self.session.synced());
                    }
                    if link.ping_due(now) {
                        socket.send(&self.session.ping(), None);
                        link.pinged(now);
                    }
                    timer = TimeoutFuture::new(link.next_check_in(now));
                }
            }
            if welcomed {
                self.flush_presence(socket, &mut presence_timer);
            }
        }
    }

    /// Acts on what the session made of a frame: sends its reply and shows
    /// what changed. `Some` ends the connection.
    fn react(
        &mut self,
        socket: &mut RecordingSocket,
        answer: Answer,
        welcomed: &mut bool,
    ) -> Option<Served> {
        let Reaction { reply, event } = match answer {
            Ok(reaction) => reaction,
            Err(error) => {
                log_error(&error);
                if let SessionError::Saved { .. } = error {
                    self.signals.publish_save(self.session, self.inputs);
                }
                return after_error(&error, self.session.synced());
            }
        };
        let counted = matches!(event, Event::Answered | Event::Saved { .. });
        match event {
            Event::Welcomed => {
                *welcomed = true;
                self.session
                    .replica()
                    .set_read_only(self.session.read_only());
                self.signals.show_welcome(self.session);
                // Everyone, view-only connections included, says who they are.
                self.throttle.joined();
            }
            // Updates queued before this instant are all in the document, so
            // the step 2 in the reply carries them (a view-only connection
            // has nothing to send): drop them from the queue.
            Event::Answered => self.inputs.drop_queued_updates(),
            Event::Presence(_) | Event::PeerLeft(_) => self.signals.show_peers(self.session),
            Event::AccessChanged { read_only, reason } => {
                self.access_shown().changed(self.session, read_only, reason);
                self.signals.publish_save(self.session, self.inputs);
            }
            Event::Refused { code, reason } => {
                leptos::logging::warn!("server refused a message ({code:?}): {reason}");
                // A refused update (the link became view-only) is unsaved.
                self.signals.publish_save(self.session, self.inputs);
            }
            Event::Applied { .. } | Event::Saved { .. } | Event::Pong | Event::Authors => {}
        }
        if let Some(reply) = reply {
            socket.send(&reply, None);
        }
        if counted {
            self.signals.publish_save(self.session, self.inputs);
        }
        None
    }

    /// Where a change of this page's access shows.
    fn access_shown(&self) -> AccessShown {
        AccessShown {
            read_only: self.signals.read_only,
            share: self.signals.share,
            notice: self.signals.access,
        }
    }

    /// Sends the presence the throttle says is due, and sets its timer for
    /// the next one.
    fn flush_presence(&mut self, socket: &mut RecordingSocket, timer: &mut Option<TimeoutFuture>) {
        let now = now_ms();
        if let Some(presence) = self.throttle.take_due(now) {
            socket.send(&self.session.presence(presence), None);
        }
        *timer = self
            .throttle
            .due_at(now)
            .map(|at| TimeoutFuture::new((at - now).ceil().max(1.0) as u32));
    }
}

#[cfg(test)]
mod tests {
    use tandem_shared::DecodeError;

    use super::*;

    #[test]
    fn frames_the_session_ignores_keep_the_connection() {
        let ignored: [SessionError<String>; 3] = [
            SessionError::BadJson("eof".into()),
            SessionError::BadFrame(DecodeError::UnsupportedMessage(1)),
            SessionError::Saved {
                updates: 9,
                sent: 3,
            },
        ];
        for error in ignored {
            assert_eq!(after_error(&error, true), None, "{error:?}");
        }
    }

    #[test]
    fn a_refused_update_closes_with_4001_and_resyncs() {
        let served = after_error(&SessionError::Update("bad".to_owned()), true);
        let close = Close::new(CloseCode::InvalidUpdate, "could not apply an update");
        assert_eq!(
            served,
            Some(Served {
                ending: Ending::Lost {
                    code: CloseCode::InvalidUpdate.number(),
                    reason: "could not apply an update".into(),
                    synced: true,
                },
                close: Some(close),
            })
        );
    }

    #[test]
    fn another_protocol_version_ends_for_good() {
        let served = after_error(&SessionError::<String>::Protocol { server: 9 }, false);
        assert_eq!(
            served,
            Some(Served {
                ending: Ending::Refused {
                    reason: format!(
                        "the server speaks protocol 9, this page {PROTOCOL_VERSION}; reload the page"
                    ),
                },
                close: Some(Close::new(CloseCode::Normal, "unsupported protocol")),
            })
        );
    }
}
