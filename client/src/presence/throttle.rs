//! Coalescing of this tab's presence: the page reports every caret move and
//! name change, the connection sends at most one `presence` message per
//! [`INTERVAL_MS`], always the latest, and never one equal to the last sent.
//!
//! Pure: the caller passes the time, so the rules are tested without timers.

use tandem_shared::Presence;

/// Shortest gap between two presence messages on one connection.
pub(crate) const INTERVAL_MS: f64 = 50.0;

/// The coalescing state of one tab.
#[derive(Debug, Default)]
pub(crate) struct PresenceThrottle {
    /// What the page reported last; what the others should see.
    latest: Option<Presence>,
    /// What the current connection sent last (`None` after a (re)connect).
    sent: Option<Presence>,
    /// When the current connection sent it.
    sent_at: Option<f64>,
}

impl PresenceThrottle {
    /// The page's presence changed.
    pub(crate) fn report(&mut self, presence: Presence) {
        self.latest = Some(presence);
    }

    /// A new connection was welcomed: it owes the room our presence at once.
    pub(crate) fn joined(&mut self) {
        self.sent = None;
        self.sent_at = None;
    }

    /// When the next message should go out, if one is owed.
    pub(crate) fn due_at(&self, now: f64) -> Option<f64> {
        let latest = self.latest.as_ref()?;
        if self.sent.as_ref() == Some(latest) {
            return None;
        }
        Some(self.sent_at.map_or(now, |at| (at + INTERVAL_MS).max(now)))
    }

    /// The message to send now, if one is owed and the interval has passed.
    pub(crate) fn take_due(&mut self, now: f64) -> Option<Presence> {
        if self.due_at(now)? > now {
            return None;
        }
        let presence = self.latest.clone()?;
        self.sent = Some(presence.clone());
        self.sent_at = Some(now);
        Some(presence)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn named(name: &str) -> Presence {
        Presence {
            name: name.into(),
            color: "#2f8636".into(),
            cursor: None,
        }
    }

    #[test]
    fn nothing_is_sent_before_the_page_reports() {
        let mut t = PresenceThrottle::default();
        t.joined();
        assert_eq!(t.due_at(0.0), None);
        assert_eq!(t.take_due(0.0), None);
    }

    #[test]
    fn joining_sends_at_once_and_bursts_coalesce_to_the_latest() {
        let mut t = PresenceThrottle::default();
        t.report(named("a"));
        t.joined();
        assert_eq!(t.take_due(1_000.0), Some(named("a")));
        // A burst of changes within the interval: one message, the last one.
        t.report(named("b"));
        assert_eq!(t.due_at(1_010.0), Some(1_050.0));
        assert_eq!(t.take_due(1_010.0), None);
        t.report(named("c"));
        t.report(named("d"));
        assert_eq!(t.take_due(1_049.0), None);
        assert_eq!(t.take_due(1_050.0), Some(named("d")));
        assert_eq!(t.take_due(1_200.0), None, "nothing new");
        // After a quiet spell a change goes out immediately.
        t.report(named("e"));
        assert_eq!(t.due_at(1_300.0), Some(1_300.0));
        assert_eq!(t.take_due(1_300.0), Some(named("e")));
    }

    #[test]
    fn at_most_one_message_per_interval_under_constant_change() {
        let mut t = PresenceThrottle::default();
        t.joined();
        let mut sent = Vec::new();
        for ms in 0..1_000 {
            t.report(named(&format!("n{ms}")));
            if let Some(p) = t.take_due(f64::from(ms)) {
                sent.push((ms, p));
            }
        }
        assert_eq!(sent.len(), 20);
        assert!(sent.windows(2).all(|w| w[1].0 - w[0].0 >= 50));
    }

    #[test]
    fn a_change_back_to_what_was_sent_sends_nothing() {
        let mut t = PresenceThrottle::default();
        t.joined();
        t.report(named("a"));
        assert!(t.take_due(0.0).is_some());
        t.report(named("b"));
        t.report(named("a"));
        assert_eq!(t.due_at(10.0), None);
    }

    #[test]
    fn a_reconnect_resends_the_current_presence() {
        let mut t = PresenceThrottle::default();
        t.joined();
        t.report(named("a"));
        assert!(t.take_due(0.0).is_some());
        t.joined();
        assert_eq!(t.take_due(5.0), Some(named("a")));
    }
}
