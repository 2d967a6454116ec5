//! One heartbeat for all the connections: a server-wide task that ticks
//! every `--heartbeat` interval, asks every live connection to ping its
//! client, and closes those that have been silent for two intervals with
//! [`CloseCode::HeartbeatTimeout`] (a Tandem client that sent no `hello` in
//! that time as well). At shutdown it tells every connection, through the
//! same shared state and waker ([`Watch`]), so no connection holds a timer
//! or a shutdown future of its own. The task is tracked with the rooms'
//! actors, so shutdown waits for it (it ends once everyone is told).
//!
//! A connection is told between two and three intervals after it was last
//! heard from (the ticks are shared, so a connection opened just after one
//! waits nearly a whole interval more): never before two, as before.

use std::sync::{Arc, Mutex, MutexGuard, Once, PoisonError};
use std::time::Duration;

use slab::Slab;
use tandem_shared::close::{Close, CloseCode};
use tokio::time::{Instant, MissedTickBehavior, interval_at};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::debug;

use super::outbox::{Tick, Watch};

/// Heartbeat intervals of silence after which a connection is closed.
const SILENT_INTERVALS: u8 = 2;

/// The live connections, and the task that ticks for them.
#[derive(Debug, Clone)]
pub(crate) struct Heartbeats {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    connections: Mutex<Slab<Watch>>,
    period: Duration,
    shutdown: CancellationToken,
    /// Where the task is spawned, so shutdown waits for it.
    tasks: TaskTracker,
    started: Once,
}

/// A connection's place in the heartbeat; leaves it when dropped.
#[derive(Debug)]
pub(super) struct Registered {
    inner: Arc<Inner>,
    key: usize,
}

impl Heartbeats {
    /// A heartbeat every `period`, ending with `shutdown`, its task spawned
    /// on `tasks`. The task starts with the first connection (it needs the
    /// runtime).
    pub(crate) fn new(period: Duration, shutdown: CancellationToken, tasks: TaskTracker) -> Self {
        Self {
            inner: Arc::new(Inner {
                connections: Mutex::new(Slab::new()),
                period,
                shutdown,
                tasks,
                started: Once::new(),
            }),
        }
    }

    /// Adds a connection. One that arrives after shutdown began is told at
    /// once.
    pub(super) fn register(&self, watch: Watch) -> Registered {
        self.inner.started.call_once(|| {
            self.inner.tasks.spawn(run(self.inner.clone()));
        });
        let key = self.inner.lock().insert(watch.clone());
        // After the insert: either the task's last sweep saw this
        // connection, or the token was already cancelled here.
        if self.inner.shutdown.is_cancelled() {
            watch.shut_down();
        }
        Registered {
            inner: self.inner.clone(),
            key,
        }
    }
}

impl Inner {
    fn lock(&self) -> MutexGuard<'_, Slab<Watch>> {
        // A slab insert or remove cannot leave it torn.
        self.connections
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

impl Drop for Registered {
    fn drop(&mut self) {
        self.inner.lock().try_remove(self.key);
    }
}

/// Ticks until shutdown, then tells every connection.
async fn run(inner: Arc<Inner>) {
    let period = inner.period;
    let mut ticks = interval_at(Instant::now() + period, period);
    ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = ticks.tick() => tick(&inner),
            () = inner.shutdown.cancelled() => break,
        }
    }
    let connections: Vec<Watch> = inner.lock().iter().map(|(_, w)| w.clone()).collect();
    debug!(
        connections = connections.len(),
        "telling connections of the shutdown"
    );
    for watch in connections {
        watch.shut_down();
    }
}

/// One interval went by: a ping for the live, a close for the silent.
fn tick(inner: &Inner) {
    let silent: Vec<(Watch, bool)> = inner
        .lock()
        .iter()
        .filter_map(|(_, watch)| match watch.tick(SILENT_INTERVALS) {
            Tick::Alive => None,
            Tick::Silent { awaiting_hello } => Some((watch.clone(), awaiting_hello)),
        })
        .collect();
    let limit = seconds(inner.period * u32::from(SILENT_INTERVALS));
    for (watch, awaiting_hello) in silent {
        let why = if awaiting_hello {
            format!("no hello within {limit}")
        } else {
            format!("nothing heard for {limit}")
        };
        watch.close(Close::new(CloseCode::HeartbeatTimeout, why));
    }
}

/// `wait` for people: `60 s`, or `0.4 s` under a second.
fn seconds(wait: Duration) -> String {
    if wait.subsec_millis() == 0 {
        format!("{} s", wait.as_secs())
    } else {
        format!("{:.1} s", wait.as_secs_f64())
    }
}

#[cfg(test)]
mod tests {
    use super::super::outbox::outbox;
    use super::*;

    #[test]
    fn waits_read_in_seconds() {
        assert_eq!(seconds(Duration::from_secs(60)), "60 s");
        assert_eq!(seconds(Duration::from_millis(400)), "0.4 s");
        assert_eq!(seconds(Duration::from_millis(1500)), "1.5 s");
    }

    #[test]
    fn silent_connections_are_closed_on_the_third_tick_and_the_heard_pinged() {
        let inner = Inner {
            connections: Mutex::new(Slab::new()),
            period: Duration::from_secs(30),
            shutdown: CancellationToken::new(),
            tasks: TaskTracker::new(),
            started: Once::new(),
        };
        let (quiet, mut quiet_rx) = outbox(8, 1024);
        let (chatty, mut chatty_rx) = outbox(8, 1024);
        quiet.set_awaiting_hello(true);
        inner.lock().insert(quiet.watch());
        inner.lock().insert(chatty.watch());
        let waker = std::task::Waker::noop();
        let cx = std::task::Context::from_waker(waker);
        for _ in 0..2 {
            tick(&inner);
            chatty_rx.heard();
            assert!(quiet_rx.poll_signals(&cx).ping);
            assert!(quiet_rx.poll_close(&cx).is_pending(), "not yet");
        }
        tick(&inner);
        let std::task::Poll::Ready(close) = quiet_rx.poll_close(&cx) else {
            panic!("closed");
        };
        assert_eq!(close.code, CloseCode::HeartbeatTimeout);
        assert_eq!(close.reason, "no hello within 60 s");
        assert!(chatty_rx.poll_close(&cx).is_pending(), "heard from");
        assert!(chatty_rx.poll_signals(&cx).ping);
    }
}
