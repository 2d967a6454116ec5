//! The heartbeat of one socket: when to ping, and when silence means the
//! socket is dead. Browsers hide WebSocket ping frames from pages, so the
//! page sends app-level pings and watches for anything at all coming back.
//! Pure: the caller passes the time, so the rules are tested without timers.

/// How often the page pings the server while connected.
pub(super) const PING_EVERY_MS: f64 = 15_000.0;
/// Silence after which the socket counts as dead.
pub(super) const DEAD_AFTER_MS: f64 = 45_000.0;
/// How long a ping may stay unanswered before silence counts. Browsers fire
/// timers late in background tabs; without this a throttled tab would call a
/// healthy socket dead because its own pings went out late.
pub(super) const PONG_GRACE_MS: f64 = 10_000.0;

/// The page's clock (ms since the Unix epoch), the one the link's times are in.
pub(super) fn now_ms() -> f64 {
    js_sys::Date::now()
}

/// The heartbeat state of one socket.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Link {
    /// The socket left CONNECTING (open, or failed): pings may go out, and
    /// silence alone no longer counts as dead.
    opened: bool,
    /// When the last frame of any kind arrived (or the attempt started).
    last_heard: f64,
    /// When the next regular ping is due.
    next_ping: f64,
    /// When the last ping went out, to tell a dead socket from a late ping.
    ping_sent: Option<f64>,
}

impl Link {
    /// A socket whose attempt starts at `now`.
    pub(super) fn new(now: f64) -> Self {
        Self {
            opened: false,
            last_heard: now,
            next_ping: now + PING_EVERY_MS,
            ping_sent: None,
        }
    }

    /// Whether the socket left CONNECTING.
    pub(super) fn is_opened(&self) -> bool {
        self.opened
    }

    /// The socket left CONNECTING.
    pub(super) fn opened(&mut self) {
        self.opened = true;
    }

    /// The socket is open and the first step went out at `now`: regular
    /// pings start from here.
    pub(super) fn start_pinging(&mut self, now: f64) {
        self.next_ping = now + PING_EVERY_MS;
    }

    /// A frame arrived at `now`.
    pub(super) fn heard(&mut self, now: f64) {
        self.last_heard = now;
    }

    /// Whether a regular ping is due at `now`.
    pub(super) fn ping_due(&self, now: f64) -> bool {
        self.opened && now >= self.next_ping
    }

    /// A regular ping went out at `now`.
    pub(super) fn pinged(&mut self, now: f64) {
        self.ping_sent = Some(now);
        self.next_ping = now + PING_EVERY_MS;
    }

    /// Whether the page may probe the socket with an extra ping now (it
    /// asked to retry while connected): only when open and no ping is waiting.
    pub(super) fn may_probe(&self) -> bool {
        self.opened && self.unanswered_ping().is_none()
    }

    /// A probing ping went out at `now`; regular pings keep their schedule.
    pub(super) fn probed(&mut self, now: f64) {
        self.ping_sent = Some(now);
    }

    /// A ping that has had no answer (nothing at all arrived since).
    fn unanswered_ping(&self) -> Option<f64> {
        self.ping_sent.filter(|&at| at >= self.last_heard)
    }

    /// Whether the socket counts as dead at `now`.
    pub(super) fn is_dead(&self, now: f64) -> bool {
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
    pub(super) fn next_check_in(&self, now: f64) -> u32 {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn silence_alone_kills_a_socket_only_before_it_opens() {
        let mut link = Link::new(0.0);
        assert!(!link.is_dead(44_999.0));
        assert!(link.is_dead(45_000.0));
        link.opened();
        // Open but the page's own ping went out late: not dead yet.
        assert!(!link.is_dead(60_000.0));
        link.probed(55_000.0);
        assert!(!link.is_dead(60_000.0));
        assert!(link.is_dead(65_000.0));
        // An answer clears it.
        link.heard(64_000.0);
        assert!(!link.is_dead(65_000.0));
    }

    #[test]
    fn regular_pings_find_a_dead_socket_at_45_seconds() {
        let mut link = Link::new(0.0);
        link.opened();
        let mut now = 0.0;
        loop {
            now += f64::from(link.next_check_in(now));
            if link.is_dead(now) {
                break;
            }
            if link.ping_due(now) {
                link.pinged(now);
            }
            assert!(now < 100_000.0, "never declared dead");
        }
        assert_eq!(now, 45_000.0);
    }

    #[test]
    fn probes_wait_for_an_open_socket_and_for_the_last_answer() {
        let mut link = Link::new(0.0);
        assert!(!link.may_probe(), "not before the socket opens");
        link.opened();
        link.start_pinging(1_000.0);
        assert!(link.may_probe());
        link.probed(2_000.0);
        assert!(!link.may_probe(), "one probe at a time");
        assert!(!link.ping_due(15_999.0), "a probe keeps the schedule");
        assert!(link.ping_due(16_000.0));
        link.heard(2_100.0);
        assert!(link.may_probe(), "anything heard answers it");
    }

    #[test]
    fn no_regular_ping_before_the_socket_opens() {
        let link = Link::new(0.0);
        assert!(!link.ping_due(PING_EVERY_MS * 2.0));
        assert!(!link.is_opened());
    }
}
