//! Admission: whether an upgraded connection may join, and with what right.
//!
//! Two steps, both answered in close frames right after the upgrade, where a
//! browser can read them. [`admit`] takes a place under the server-wide and
//! per-address bounds as the connection is upgraded, so a connection waiting
//! for its `hello` counts too; past a bound it is refused with
//! [`CloseCode::TryAgainLater`] and a retry hint, spread at random so a
//! crowd does not come back all at once. [`check_key`] then reads the key the
//! connection presented (a Tandem client's `hello`, a Yjs client's `?key=`):
//! one that does not verify for the room is refused with
//! [`CloseCode::Policy`] (the client stops retrying); one that does names a
//! share link, whose record the room checks at the join. In a cluster,
//! [`admit_in_cluster`] then counts the connection against the room and
//! per-address bounds across every node, with the same refusals as the
//! local bounds. Every refusal, here or
//! before the upgrade, is counted in [`UPGRADES`](crate::metrics::UPGRADES)
//! by reason.

use std::net::IpAddr;
use std::sync::Arc;

use tandem_shared::RoomId;
use tandem_shared::close::{Close, CloseCode};
use tracing::warn;

use crate::AppState;
use crate::access::Keys;
use crate::bus::{Tracked, Verdict};
use crate::limits::{ConnectionLimits, Refusal, Slot};
use crate::links::LinkId;

/// Whether a connection may stay, decided as it is upgraded.
#[derive(Debug)]
pub(super) enum Admission {
    /// It may stay, holding its place under the connection bounds for its
    /// whole life.
    Admitted(Slot),
    /// It is told why not in a close frame, right after the upgrade.
    Refused(Close),
}

/// Takes a place under `limits` for a connection from `ip`.
pub(super) fn admit(limits: &Arc<ConnectionLimits>, ip: IpAddr) -> Admission {
    match limits.admit(ip) {
        Ok(slot) => Admission::Admitted(slot),
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

/// The close for a room at its bound; the room actor gives the same one
/// for its local count.
pub(super) fn room_full() -> Close {
    Close::with_retry_after(
        CloseCode::TryAgainLater,
        "this document has too many people in it",
        fastrand::u32(10..=30),
    )
}

/// Counts the connection in the cluster's room and per-address bounds when
/// the server is a node of a cluster (`None` otherwise: the local bounds are
/// all there is). Redis unreachable: counted locally, never refused for it.
pub(super) async fn admit_in_cluster(
    state: &AppState,
    room: &RoomId,
    slot: &Slot,
) -> Result<Option<Tracked>, Close> {
    let Some(bus) = state.registry.bus() else {
        return Ok(None);
    };
    let config = &state.config;
    let verdict = bus
        .admit(
            room,
            slot.ip(),
            config.max_room_connections,
            config.max_connections_per_ip,
        )
        .await;
    match verdict {
        Verdict::Counted(tracked) => Ok(Some(tracked)),
        Verdict::RoomFull => {
            count_refused("room_full");
            warn!(%room, "connection refused: room full across the cluster");
            Err(room_full())
        }
        Verdict::AddressFull => {
            count_refused("address_full");
            warn!(ip = %slot.ip(), "connection refused: address full across the cluster");
            Err(Close::with_retry_after(
                CloseCode::TryAgainLater,
                "too many connections from your address",
                fastrand::u32(5..=20),
            ))
        }
    }
}

/// The share link `key` names in `room` (`None` without a key), or the
/// close that refuses a key whose tag is not the server's. What the link
/// grants now, and whether it still stands, the room decides at the join
/// (a revoked or expired link: [`CloseCode::AccessRevoked`]).
pub(super) fn check_key(
    keys: &Keys,
    room: &RoomId,
    key: Option<&str>,
) -> Result<Option<LinkId>, Close> {
    match key.map(|key| keys.authenticate(room, key)) {
        None => Ok(None),
        Some(Some(link)) => Ok(Some(link)),
        Some(None) => {
            count_refused("key");
            Err(Close::new(
                CloseCode::Policy,
                "this link's key is not valid for this document",
            ))
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
    use crate::access::Right;

    fn room() -> RoomId {
        RoomId::new("admission").expect("room")
    }

    fn refusal(admission: Admission) -> Close {
        match admission {
            Admission::Refused(close) => close,
            Admission::Admitted(_) => panic!("admitted"),
        }
    }

    const HOME: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(192, 0, 2, 1));
    const AWAY: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(192, 0, 2, 2));

    #[test]
    fn a_valid_key_names_its_link_and_no_key_names_none() {
        let keys = Keys::ephemeral().expect("keys");
        let view = keys.key_for(&room(), Right::View);
        let made = LinkId::from_random([5; 8]);
        let created = keys.key_of(&room(), &made);
        assert_eq!(
            check_key(&keys, &room(), Some(&view)),
            Ok(Some(LinkId::original(Right::View)))
        );
        assert_eq!(check_key(&keys, &room(), Some(&created)), Ok(Some(made)));
        assert_eq!(check_key(&keys, &room(), None), Ok(None));
    }

    #[test]
    fn a_key_for_another_room_is_refused_for_good() {
        let keys = Keys::ephemeral().expect("keys");
        let other = keys.key_for(&RoomId::new("other").expect("room"), Right::Edit);
        for bad in [other.as_str(), "e.AAAAAAAAAAAAAAAAAAAAAA", "nonsense", ""] {
            let close = check_key(&keys, &room(), Some(bad)).expect_err(bad);
            assert_eq!(close.code, CloseCode::Policy);
            assert_eq!(
                close.reason,
                "this link's key is not valid for this document"
            );
        }
    }

    #[test]
    fn a_place_is_held_for_the_connections_life() {
        let limits = Arc::new(ConnectionLimits::new(10, 10));
        let held = admit(&limits, HOME);
        assert!(matches!(held, Admission::Admitted(_)));
        assert_eq!(limits.open(), 1);
        drop(held);
        assert_eq!(limits.open(), 0, "slots are freed with the admissions");
    }

    #[test]
    fn past_a_bound_the_connection_is_told_when_to_retry() {
        let limits = Arc::new(ConnectionLimits::new(2, 1));
        let _held = admit(&limits, HOME);
        let close = refusal(admit(&limits, HOME));
        assert_eq!(close.code, CloseCode::TryAgainLater);
        assert!(
            close
                .reason
                .starts_with("too many connections from your address")
        );
        assert!(retry_after(&close.reason).is_some_and(|s| (5..=20).contains(&s)));

        let _also_held = admit(&limits, AWAY);
        let close = refusal(admit(&limits, AWAY));
        assert_eq!(close.code, CloseCode::TryAgainLater);
        assert!(close.reason.starts_with("the server is at capacity"));
    }
}
