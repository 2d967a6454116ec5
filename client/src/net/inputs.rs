//! What the connection task reacts to, polled together in one place: the
//! page's requests ([`Control`]), the socket, local updates from the
//! document, presence reports from the page, and two timers (the heartbeat
//! or reconnect countdown, and the presence throttle's).

use std::future::{Future, poll_fn};
use std::task::Poll;

use futures_channel::mpsc::UnboundedReceiver;
use futures_util::{FutureExt, StreamExt};
use gloo_net::websocket::{Message, WebSocketError};
use gloo_timers::future::TimeoutFuture;
use tandem_shared::Presence;

use super::recording_socket::RecordingSocket;
use crate::editor::LocalUpdate;

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

/// One input of the task.
#[derive(Debug)]
pub(super) enum Input {
    /// A request from the page.
    Control(Control),
    /// The socket left CONNECTING.
    Opened,
    /// A frame, an error, or the end of the socket.
    Socket(Option<Result<Message, WebSocketError>>),
    /// A local transaction.
    Local(LocalUpdate),
    /// This tab's presence changed.
    Presence(Presence),
    /// The heartbeat or countdown timer fired.
    Timer,
    /// The presence throttle's timer fired.
    PresenceDue,
}

/// The channels the task reads, across connections.
#[derive(Debug)]
pub(super) struct Inputs {
    /// Requests from the page.
    control: UnboundedReceiver<Control>,
    /// One update per local transaction.
    outgoing: UnboundedReceiver<LocalUpdate>,
    /// How many updates were taken from `outgoing` (sent, kept for the next
    /// step 2, or carried by one): fewer than the document made means one
    /// is queued, which the session has not counted yet.
    taken: u64,
    /// Presence reports from the page.
    presence: UnboundedReceiver<Presence>,
}

impl Inputs {
    pub(super) fn new(
        control: UnboundedReceiver<Control>,
        outgoing: UnboundedReceiver<LocalUpdate>,
        presence: UnboundedReceiver<Presence>,
    ) -> Self {
        Self {
            control,
            outgoing,
            taken: 0,
            presence,
        }
    }

    /// Forgets the local updates still queued: a step 2 just carried them.
    pub(super) fn drop_queued_updates(&mut self) {
        while self.outgoing.try_recv().is_ok() {
            self.taken += 1;
        }
    }

    /// Whether the document made updates the task has not taken yet, of
    /// `made` so far.
    pub(super) fn updates_queued(&self, made: u64) -> bool {
        self.taken < made
    }

    /// The next input, polled in priority order: page requests, then the
    /// socket (`opened`: whether it already left CONNECTING), then local
    /// updates, presence reports, and the timers.
    pub(super) fn next<'a>(
        &'a mut self,
        mut socket: Option<(&'a mut RecordingSocket, bool)>,
        mut timer: Option<&'a mut TimeoutFuture>,
        mut presence_timer: Option<&'a mut TimeoutFuture>,
    ) -> impl Future<Output = Input> + 'a {
        poll_fn(move |cx| {
            if let Poll::Ready(request) = self.control.poll_next_unpin(cx) {
                // Every handle dropped: the page is gone.
                return Poll::Ready(Input::Control(request.unwrap_or(Control::Stop)));
            }
            if let Some((open, opened)) = socket.as_mut() {
                if !*opened && open.poll_opened(cx).is_ready() {
                    return Poll::Ready(Input::Opened);
                }
                if let Poll::Ready(message) = open.poll_frame(cx) {
                    return Poll::Ready(Input::Socket(message));
                }
            }
            // A closed channel (document dropped) just never yields again.
            if let Poll::Ready(Some(update)) = self.outgoing.poll_next_unpin(cx) {
                self.taken += 1;
                return Poll::Ready(Input::Local(update));
            }
            // After local updates, so a caret never arrives before its text.
            if let Poll::Ready(Some(report)) = self.presence.poll_next_unpin(cx) {
                return Poll::Ready(Input::Presence(report));
            }
            if let Some(timer) = timer.as_mut()
                && timer.poll_unpin(cx).is_ready()
            {
                return Poll::Ready(Input::Timer);
            }
            if let Some(timer) = presence_timer.as_mut()
                && timer.poll_unpin(cx).is_ready()
            {
                return Poll::Ready(Input::PresenceDue);
            }
            Poll::Pending
        })
    }
}
