//! The socket as the connection uses it. Every frame sent or received passes
//! through [`RecordingSocket`], which records it for the frame inspector: one place, in
//! the order the frames crossed the wire. Received frames go on from here to
//! the session, so a frame is recorded before anything it causes is sent.

use std::task::{Context, Poll};

use futures_util::{SinkExt, StreamExt};
use gloo_net::websocket::futures::WebSocket;
use gloo_net::websocket::{Message, State, WebSocketError};
use leptos::prelude::{RwSignal, Update};
use tandem_shared::close::Close;
use tandem_shared::session::{Event, Outgoing, Reaction, SessionError};
use tandem_shared::{SUBPROTOCOL, SyncFrame};

use super::PageSession;
use crate::editor::Received;
use crate::error::ClientError;
use crate::inspector::{Direction, Frame, FrameLog};

/// What the session made of a frame from the server.
pub(super) type Answer = Result<Reaction<Received>, SessionError<ClientError>>;

/// One open socket, recording what crosses it.
pub(super) struct RecordingSocket {
    /// gloo's stream and sink over the browser socket.
    ws: WebSocket,
    /// The inspector's history, where every frame is recorded.
    frames: RwSignal<FrameLog>,
}

impl RecordingSocket {
    /// Opens a socket to `url`. Also returns the browser socket itself, for
    /// the `pagehide` handler ([`super::PageSocket`]).
    pub(super) fn open(
        url: &str,
        frames: RwSignal<FrameLog>,
    ) -> Result<(Self, web_sys::WebSocket), String> {
        // What `WebSocket::open_with_protocol` does, keeping a handle on the
        // browser socket.
        let raw =
            web_sys::WebSocket::new_with_str(url, SUBPROTOCOL).map_err(|e| format!("{e:?}"))?;
        let ws = WebSocket::try_from(raw.clone()).map_err(|e| e.to_string())?;
        Ok((Self { ws, frames }, raw))
    }

    /// Whether the socket is open (not connecting, closing or closed).
    pub(super) fn is_open(&self) -> bool {
        matches!(self.ws.state(), State::Open)
    }

    /// Ready once the socket leaves CONNECTING (gloo's sink is ready then,
    /// whether it opened or failed).
    pub(super) fn poll_opened(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        self.ws.poll_ready_unpin(cx).map(drop)
    }

    /// The next frame, error or end of the socket. Frames go on to
    /// [`Self::receive_text`] or [`Self::receive_binary`].
    pub(super) fn poll_frame(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Message, WebSocketError>>> {
        self.ws.poll_next_unpin(cx)
    }

    /// Sends `out`, recorded with what it changed in the text, if known.
    pub(super) fn send(&mut self, out: &Outgoing, changes: Option<String>) {
        let message = match out {
            Outgoing::Control(msg) => {
                let json = msg.to_json();
                self.record(Frame::text(Direction::Sent, &json));
                Message::Text(json)
            }
            Outgoing::Sync(frame) => {
                let bytes = frame.encode();
                self.record(Frame::binary(Direction::Sent, &bytes, Ok(frame), changes));
                Message::Bytes(bytes)
            }
        };
        // gloo's `start_send` does not wait: once open, the browser queues
        // the frame itself.
        if let Err(e) = self.ws.start_send_unpin(message) {
            leptos::logging::warn!("send failed: {e}");
        }
    }

    /// A text frame from the server: recorded, then handed to the session.
    pub(super) fn receive_text(&self, text: &str, session: &mut PageSession) -> Answer {
        self.record(Frame::text(Direction::Received, text));
        session.receive_text(text)
    }

    /// A binary frame from the server: decoded, handed to the session, and
    /// recorded before any answer goes out. A step 2 or update is recorded
    /// once applied, so its record says what it changed.
    pub(super) fn receive_binary(&self, bytes: &[u8], session: &mut PageSession) -> Answer {
        let frame = match SyncFrame::decode(bytes) {
            Ok(frame) => frame,
            Err(error) => {
                self.record(Frame::binary(Direction::Received, bytes, Err(&error), None));
                return Err(SessionError::BadFrame(error));
            }
        };
        // Classified before the session takes the frame (and its bytes).
        let record = Frame::binary(Direction::Received, bytes, Ok(&frame), None);
        let answer = session.receive_sync(frame);
        let record = match applied_summary(&answer) {
            Some(summary) => record.summarized(summary),
            None => record,
        };
        self.record(record);
        answer
    }

    /// The server's close frame (a clean close).
    pub(super) fn received_close(&self, code: u16, reason: &str) {
        self.record(Frame::close(Direction::Received, code, reason));
    }

    /// Closes the socket with `close`, recorded if it can still be sent.
    pub(super) fn close(self, close: &Close) {
        if self.is_open() {
            self.record(Frame::close(
                Direction::Sent,
                close.code.number(),
                &close.reason,
            ));
        }
        if let Err(e) = self
            .ws
            .close(Some(close.code.number()), Some(&close.reason))
        {
            leptos::logging::warn!("closing the socket failed: {e}");
        }
    }

    /// Adds `frame` to the inspector's history.
    fn record(&self, frame: Frame) {
        self.frames
            .try_update(|log| log.push(frame, js_sys::Date::now()));
    }
}

/// The inspector's summary of a received step 2 or update, once the session
/// took it: what applying it changed (or that it waits for the IME), or why
/// it was refused. `None` keeps the summary it was classified with.
fn applied_summary(answer: &Answer) -> Option<String> {
    match answer {
        Ok(Reaction {
            event: Event::Applied { applied, .. },
            ..
        }) => Some(applied.describe()),
        Err(SessionError::Update(error)) => Some(format!("refused: {error}")),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn applied_updates_are_summarized_by_what_they_did() {
        let applied = |applied| {
            Ok(Reaction {
                reply: None,
                event: Event::Applied {
                    first_sync: false,
                    applied,
                },
            })
        };
        assert_eq!(
            applied_summary(&applied(Received::Applied(Vec::new()))).as_deref(),
            Some("no text changed")
        );
        assert_eq!(
            applied_summary(&applied(Received::Held)).as_deref(),
            Some("held until the IME composition ends")
        );
        let refused = Err(SessionError::Update(ClientError::BadUpdate("bad".into())));
        assert_eq!(
            applied_summary(&refused).as_deref(),
            Some("refused: update does not apply: bad")
        );
    }

    #[test]
    fn other_frames_keep_their_classification() {
        let answered = Ok(Reaction {
            reply: None,
            event: Event::Answered,
        });
        assert_eq!(applied_summary(&answered), None);
        assert_eq!(
            applied_summary(&Err(SessionError::BadJson("eof".into()))),
            None
        );
    }
}
