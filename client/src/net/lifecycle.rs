//! The reconnect lifecycle: one connection after another for as long as the
//! page is open. After each it decides, from how the connection ended and
//! the close table, whether to connect again at once, count down a backoff
//! ("Reconnecting in N s"), wait for the browser's network, or give up and
//! show why. Between sockets it keeps the save badge right about edits made
//! meanwhile (the session keeps them for the next step 2) and the latest
//! presence for the next welcome.

use std::rc::Rc;

use gloo_timers::future::TimeoutFuture;

use super::PageSession;
use super::backoff::{self, RetryPlan};
use super::inputs::{Control, Input, Inputs};
use super::link::now_ms;
use super::page_socket::PageSocket;
use super::serve::{Ending, Serving};
use super::signals::SessionSignals;
use super::status::ConnectionState;
use crate::presence::PresenceThrottle;

/// What the lifecycle does after a connection ended.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Next {
    /// The page went: end the task.
    Stop,
    /// Show "Disconnected: {reason}" and retry no more.
    GiveUp {
        /// Why, for the header.
        reason: String,
    },
    /// Connect again at once (once the browser says it is online).
    Reconnect,
    /// Count down `delay_ms`, then make attempt `attempt`.
    Wait {
        /// How long.
        delay_ms: u64,
        /// The attempt that comes next, from 1, for the header.
        attempt: u32,
    },
}

/// The failed attempts since the last connection that synced.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct Attempts(u32);

impl Attempts {
    /// What comes after `ending`; `random` gives a uniform number in `[0, 1)`
    /// for the backoff's jitter.
    pub(super) fn after(&mut self, ending: Ending, random: impl FnOnce() -> f64) -> Next {
        match ending {
            Ending::Stopped => Next::Stop,
            Ending::Refused { reason } => Next::GiveUp { reason },
            Ending::Offline { synced } => {
                if synced {
                    self.0 = 0;
                }
                Next::Reconnect
            }
            Ending::Lost {
                code,
                reason,
                synced,
            } => {
                // A connection that synced was a success: the backoff starts over.
                if synced {
                    self.0 = 0;
                }
                self.0 = self.0.saturating_add(1);
                match backoff::plan(code, &reason, self.0, random) {
                    RetryPlan::GiveUp => Next::GiveUp {
                        reason: describe_close(code, &reason),
                    },
                    RetryPlan::After { delay_ms, .. } => Next::Wait {
                        delay_ms,
                        attempt: self.0,
                    },
                }
            }
        }
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

fn browser_online() -> bool {
    web_sys::window().is_none_or(|w| w.navigator().on_line())
}

/// Why a wait without a socket ended.
enum Wake {
    Timer,
    Control(Control),
}

/// The connection task: everything that outlives one socket.
pub(super) struct Lifecycle {
    /// `ws(s)://{host}/ws/{room}` (the key goes in each connection's `hello`).
    url: String,
    /// The protocol state over the page's document, across sockets.
    session: PageSession,
    /// The page's requests, local updates and presence reports.
    inputs: Inputs,
    /// What to send of this tab's presence, and when.
    throttle: PresenceThrottle,
    /// What the page shows.
    signals: SessionSignals,
    /// The current socket, for `pagehide`.
    page_socket: Rc<PageSocket>,
}

impl Lifecycle {
    pub(super) fn new(
        url: String,
        session: PageSession,
        inputs: Inputs,
        signals: SessionSignals,
        page_socket: Rc<PageSocket>,
    ) -> Self {
        Self {
            url,
            session,
            inputs,
            throttle: PresenceThrottle::default(),
            signals,
            page_socket,
        }
    }

    /// Connects, and reconnects, until the page stops the task.
    pub(super) async fn run(mut self) {
        self.signals.publish_save(&self.session, &self.inputs);
        let mut attempts = Attempts::default();
        loop {
            if !browser_online() {
                self.signals.set_connection(ConnectionState::Offline);
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
            let serving = Serving {
                session: &mut self.session,
                inputs: &mut self.inputs,
                throttle: &mut self.throttle,
                signals: self.signals,
                page_socket: &self.page_socket,
            };
            let ending = serving.connect(&self.url).await;
            match attempts.after(ending, js_sys::Math::random) {
                Next::Stop => return,
                Next::GiveUp { reason } => return self.give_up(reason).await,
                Next::Reconnect => {}
                Next::Wait { delay_ms, attempt } => {
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
        self.signals
            .set_connection(ConnectionState::Closed { reason });
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
            self.signals.set_connection(ConnectionState::Reconnecting {
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
            match self.inputs.next(None, timer.as_mut(), None).await {
                Input::Control(request) => return Wake::Control(request),
                Input::Timer => return Wake::Timer,
                Input::Local(local) => {
                    // No socket: the session keeps the edit for the next step 2.
                    let unsent = self.session.local_update(local.update);
                    debug_assert!(unsent.is_none(), "no frame without a socket");
                    self.signals.publish_save(&self.session, &self.inputs);
                }
                // Kept for the next connection, which sends it once welcomed.
                Input::Presence(presence) => self.throttle.report(presence),
                Input::Opened | Input::Socket(_) | Input::PresenceDue => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use tandem_shared::close::{Close, CloseCode};

    use super::*;

    fn lost(code: CloseCode, reason: &str, synced: bool) -> Ending {
        Ending::Lost {
            code: code.number(),
            reason: reason.into(),
            synced,
        }
    }

    #[test]
    fn drops_back_off_and_a_sync_starts_over() {
        let mut attempts = Attempts::default();
        let half = || 0.5;
        assert_eq!(
            attempts.after(lost(CloseCode::Abnormal, "", false), half),
            Next::Wait {
                delay_ms: 500,
                attempt: 1
            }
        );
        assert_eq!(
            attempts.after(lost(CloseCode::Abnormal, "", false), half),
            Next::Wait {
                delay_ms: 1_000,
                attempt: 2
            }
        );
        // This one synced before it dropped: the next attempt is the first again.
        assert_eq!(
            attempts.after(lost(CloseCode::GoingAway, "restarting", true), half),
            Next::Wait {
                delay_ms: 500,
                attempt: 1
            }
        );
    }

    #[test]
    fn a_capacity_close_waits_for_its_hint() {
        let mut attempts = Attempts::default();
        let full = Close::with_retry_after(CloseCode::TryAgainLater, "server is full", 12);
        let ending = lost(full.code, &full.reason, false);
        assert_eq!(
            attempts.after(ending, || panic!("the hint replaces the schedule")),
            Next::Wait {
                delay_ms: 12_000,
                attempt: 1
            }
        );
    }

    #[test]
    fn refusals_give_up_with_a_readable_reason() {
        let mut attempts = Attempts::default();
        assert_eq!(
            attempts.after(lost(CloseCode::Policy, "view-only link", false), || 0.5),
            Next::GiveUp {
                reason: "view-only link".into()
            }
        );
        assert_eq!(
            attempts.after(lost(CloseCode::Normal, "", false), || 0.5),
            Next::GiveUp {
                reason: format!(
                    "the server closed the connection (code {})",
                    CloseCode::Normal.number()
                )
            }
        );
        let reason = "the server speaks protocol 2, this page 1; reload the page".to_owned();
        assert_eq!(
            attempts.after(
                Ending::Refused {
                    reason: reason.clone()
                },
                || 0.5
            ),
            Next::GiveUp { reason }
        );
    }

    #[test]
    fn going_offline_reconnects_and_the_page_can_stop() {
        let mut attempts = Attempts::default();
        attempts.after(lost(CloseCode::Abnormal, "", false), || 0.0);
        attempts.after(lost(CloseCode::Abnormal, "", false), || 0.0);
        assert_eq!(
            attempts.after(Ending::Offline { synced: false }, || 0.0),
            Next::Reconnect
        );
        assert_eq!(attempts, Attempts(2), "an offline spell is not an attempt");
        assert_eq!(
            attempts.after(Ending::Offline { synced: true }, || 0.0),
            Next::Reconnect
        );
        assert_eq!(attempts, Attempts(0));
        assert_eq!(attempts.after(Ending::Stopped, || 0.0), Next::Stop);
    }

    #[test]
    fn final_reasons_are_readable() {
        assert_eq!(
            describe_close(CloseCode::Policy.number(), "view-only link"),
            "view-only link"
        );
        assert_eq!(
            describe_close(CloseCode::Normal.number(), ""),
            format!(
                "the server closed the connection (code {})",
                CloseCode::Normal.number()
            )
        );
    }
}
