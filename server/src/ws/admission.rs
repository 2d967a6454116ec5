//! Admission: whether an upgraded connection may join, and with what right.
//!
//! A key that does not verify for the room is refused with
//! [`CloseCode::Policy`] (the client stops retrying); past the server-wide or
//! per-address bound with [`CloseCode::TryAgainLater`] and a retry hint,
//! spread at random so a crowd does not come back all at once. Refusals are
//! sent as close frames right after the upgrade, where a browser can read
//! them. Every refusal, here or before the upgrade, is counted in
//! [`UPGRADES`](crate::metrics::UPGRADES) by reason.

use std::net::IpAddr;
use std::sync::Arc;

use tandem_shared::RoomId;
use tandem_shared::close::{Close, CloseCode};
use tracing::warn;

use crate::access::{Keys, Right};
use crate::limits::{ConnectionLimits, Refusal, Slot};

/// What a connection may do, decided before the upgrade.
#[derive(Debug)]
pub(super) enum Admission {
    /// It may join, with the right its key grants (none without a key).
    Admitted {
        /// Its place under the connection bounds, held for its whole life.
        slot: Slot,
        /// The right its key grants, if it brought one.
        key: Option<Right>,
    },
    /// It is told why not in a close frame, right after the upgrade.
    Refused(Close),
}

/// Checks `key` for `room` and takes a place under `limits` for `ip`.
pub(super) fn admit(
    keys: &Keys,
    limits: &Arc<ConnectionLimits>,
    room: &RoomId,
    key: Option<&str>,
    ip: IpAddr,
) -> Admission {
    let key = match key.map(|key| keys.verify(room, key)) {
        None => None,
        Some(Some(right)) => Some(right),
        Some(None) => {
            count_refused("key");
            return Admission::Refused(Close::new(
                CloseCode::Policy,
                "this link's key is not valid for this document",
            ));
        }
    };
    match limits.admit(ip) {
        Ok(slot) => Admission::Admitted { slot, key },
        Err(refusal) => {
            let (reason, why) = match refusal {
                Refusal::ServerFull => ("server_full", "the server is at capacity"),
                Refusal::AddressFull => ("address_full", "too many connections from your address"),
            };
            count_refused(reason);
            warn!(%ip, ?refusal, "connection refused");
            // Spread the retries of a crowd over time instead of a stampede.
            let wait = fastrand::u32(5..=20);
            Admission::Refused(Close::with_retry_after(CloseCode::TryAgainLater, why, wait))
        }
    }
}

/// Counts an upgrade refused for `reason`.
pub(super) fn count_refused(reason: &'static str) {
    metrics::counter!(crate::metrics::UPGRADES, "result" => "refused", "reason" => reason)
        .increment(1);
}

/// Counts an upgrade accepted.
pub(super) fn count_accepted() {
    metrics::counter!(crate::metrics::UPGRADES, "result" => "accepted", "reason" => "ok")
        .increment(1);
}

#[cfg(test)]
mod tests {
    use tandem_shared::close::retry_after;

    use super::*;

    fn room() -> RoomId {
        RoomId::new("admission").expect("room")
    }

    fn refusal(admission: Admission) -> Close {
        match admission {
            Admission::Refused(close) => close,
            Admission::Admitted { key, .. } => panic!("admitted with {key:?}"),
        }
    }

    const HOME: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(192, 0, 2, 1));
    const AWAY: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(192, 0, 2, 2));

    #[test]
    fn a_valid_key_grants_its_right_and_no_key_grants_none() {
        let keys = Keys::ephemeral().expect("keys");
        let limits = Arc::new(ConnectionLimits::new(10, 10));
        let view = keys.key_for(&room(), Right::View);
        let Admission::Admitted { key, .. } = admit(&keys, &limits, &room(), Some(&view), HOME)
        else {
            panic!("refused");
        };
        assert_eq!(key, Some(Right::View));
        let Admission::Admitted { key, .. } = admit(&keys, &limits, &room(), None, HOME) else {
            panic!("refused");
        };
        assert_eq!(key, None);
        assert_eq!(limits.open(), 0, "slots are freed with the admissions");
    }

    #[test]
    fn a_key_for_another_room_is_refused_for_good() {
        let keys = Keys::ephemeral().expect("keys");
        let limits = Arc::new(ConnectionLimits::new(10, 10));
        let other = keys.key_for(&RoomId::new("other").expect("room"), Right::Edit);
        let close = refusal(admit(&keys, &limits, &room(), Some(&other), HOME));
        assert_eq!(close.code, CloseCode::Policy);
        assert_eq!(
            close.reason,
            "this link's key is not valid for this document"
        );
        assert_eq!(limits.open(), 0, "no slot taken");
    }

    #[test]
    fn past_a_bound_the_connection_is_told_when_to_retry() {
        let keys = Keys::ephemeral().expect("keys");
        let limits = Arc::new(ConnectionLimits::new(2, 1));
        let _held = admit(&keys, &limits, &room(), None, HOME);
        let close = refusal(admit(&keys, &limits, &room(), None, HOME));
        assert_eq!(close.code, CloseCode::TryAgainLater);
        assert!(
            close
                .reason
                .starts_with("too many connections from your address")
        );
        assert!(retry_after(&close.reason).is_some_and(|s| (5..=20).contains(&s)));

        let _also_held = admit(&keys, &limits, &room(), None, AWAY);
        let close = refusal(admit(&keys, &limits, &room(), None, AWAY));
        assert_eq!(close.code, CloseCode::TryAgainLater);
        assert!(close.reason.starts_with("the server is at capacity"));
    }
}
