//! WebSocket close codes used by Tandem, and what a client should do on each.
//!
//! Standard codes (RFC 6455 §7.4.1) keep their meaning; `4000–4099` are
//! Tandem's own. Every close the server sends carries a short human reason
//! (at most 123 bytes, the limit of a close frame). The table is repeated in
//! `docs/PROTOCOL.md`.
//!
//! | code | name | sent when | client reconnects |
//! |---|---|---|---|
//! | 1000 | normal | the connection ends on purpose | no |
//! | 1001 | going away | the server is shutting down | yes |
//! | 1008 | policy | the request is not allowed (e.g. a write on a view-only link) | no |
//! | 1009 | too big | a frame or message is over the size limit | yes |
//! | 1011 | internal | the server failed (e.g. storage); nothing acknowledged is lost | yes |
//! | 1013 | try again later | the server or room is full; the reason says when to retry | yes, after the hint |
//! | 4000 | bad message | a frame could not be understood | yes |
//! | 4001 | invalid update | a CRDT update did not decode or apply, or depends on edits the server does not have; it was not stored | yes |
//! | 4002 | slow consumer | the client fell too far behind; it resyncs on reconnect | yes |
//! | 4003 | heartbeat timeout | nothing was heard from the client for too long | yes |
//! | 4004 | rate limited | the client sent too many messages too fast | yes |
//! | 4005 | document too large | the update would grow the document past its limit | no |

/// The connection ends on purpose.
pub const NORMAL: u16 = 1000;
/// The server is shutting down; reconnect shortly.
pub const GOING_AWAY: u16 = 1001;
/// The request is not allowed (origin, rights).
pub const POLICY: u16 = 1008;
/// A frame or message is over the size limit.
pub const TOO_BIG: u16 = 1009;
/// The server failed; acknowledged edits are safe.
pub const INTERNAL: u16 = 1011;
/// The server or room is at capacity; the reason carries a retry hint.
pub const TRY_AGAIN_LATER: u16 = 1013;
/// A frame could not be understood.
pub const BAD_MESSAGE: u16 = 4000;
/// A CRDT update did not decode or apply; it was not applied, stored or relayed.
pub const INVALID_UPDATE: u16 = 4001;
/// The client's outgoing queue overflowed; it resyncs on reconnect.
pub const SLOW_CONSUMER: u16 = 4002;
/// Nothing was heard from the client for two heartbeat intervals.
pub const HEARTBEAT_TIMEOUT: u16 = 4003;
/// The client sent more messages per second than allowed.
pub const RATE_LIMITED: u16 = 4004;
/// The update would grow the document past the configured limit.
pub const DOCUMENT_TOO_LARGE: u16 = 4005;

/// The longest close reason a close frame can carry, in bytes.
pub const MAX_REASON_LEN: usize = 123;

/// Whether a client should reconnect after the server closed with `code`.
/// Codes that mean "you may not" stop the retry loop; everything else,
/// including unknown codes and abnormal closure (1006), is retried.
pub fn should_reconnect(code: u16) -> bool {
    !matches!(code, NORMAL | POLICY | DOCUMENT_TOO_LARGE)
}

/// A close reason that carries a retry hint, e.g. `server is full; retry after 12 s`.
/// [`retry_after`] reads it back.
pub fn with_retry_after(why: &str, seconds: u32) -> String {
    let mut reason = format!("{why}; retry after {seconds} s");
    truncate_reason(&mut reason);
    reason
}

/// The retry hint of a reason built by [`with_retry_after`], in seconds.
pub fn retry_after(reason: &str) -> Option<u32> {
    let (_, tail) = reason.rsplit_once("retry after ")?;
    tail.strip_suffix(" s")?.parse().ok()
}

/// Cuts `reason` to [`MAX_REASON_LEN`] bytes on a character boundary.
pub fn truncate_reason(reason: &mut String) {
    if reason.len() > MAX_REASON_LEN {
        let mut end = MAX_REASON_LEN;
        while !reason.is_char_boundary(end) {
            end -= 1;
        }
        reason.truncate(end);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_hint_round_trips() {
        let reason = with_retry_after("server is full", 12);
        assert_eq!(reason, "server is full; retry after 12 s");
        assert_eq!(retry_after(&reason), Some(12));
        assert_eq!(retry_after("server is full"), None);
        assert_eq!(retry_after("retry after soon s"), None);
    }

    #[test]
    fn reasons_fit_a_close_frame() {
        let mut long = "é".repeat(100);
        truncate_reason(&mut long);
        assert!(long.len() <= MAX_REASON_LEN);
        assert!(long.chars().all(|c| c == 'é'));
        let hinted = with_retry_after(&"x".repeat(200), 3);
        assert!(hinted.len() <= MAX_REASON_LEN);
    }

    #[test]
    fn refusals_stop_reconnecting() {
        for code in [NORMAL, POLICY, DOCUMENT_TOO_LARGE] {
            assert!(!should_reconnect(code), "{code}");
        }
        for code in [
            GOING_AWAY,
            1006,
            INTERNAL,
            TRY_AGAIN_LATER,
            SLOW_CONSUMER,
            HEARTBEAT_TIMEOUT,
        ] {
            assert!(should_reconnect(code), "{code}");
        }
    }
}
