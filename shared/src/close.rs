//! WebSocket close codes used by Tandem, and what a client should do on each.
//!
//! Standard codes (RFC 6455 §7.4.1) keep their meaning; `4000–4099` are
//! Tandem's own. [`TABLE`] is the one place a code is defined: its name, the
//! label the server's metrics use, when it is sent and whether a client
//! reconnects. The server closes with a [`Close`] (a [`CloseCode`] and a short
//! human reason, at most 123 bytes: the limit of a close frame), the client
//! decides with [`should_reconnect`], and `docs/PROTOCOL.md` repeats the
//! table (a test in this crate reads it back and fails when the two differ).

use std::fmt;

/// A close code Tandem sends or reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CloseCode {
    /// 1000: the connection ends on purpose.
    Normal,
    /// 1001: the server is shutting down; the reason carries a short retry hint.
    GoingAway,
    /// 1002: the WebSocket framing was violated.
    ProtocolError,
    /// 1005: a close frame arrived without a code (never sent).
    NoStatus,
    /// 1006: the connection dropped without a close frame (never sent).
    Abnormal,
    /// 1007: a text frame or a close reason is not UTF-8.
    InvalidPayload,
    /// 1008: the request is not allowed (key, rights).
    Policy,
    /// 1009: a frame or message is over the size limit.
    TooBig,
    /// 1011: the server failed; acknowledged edits are safe.
    Internal,
    /// 1013: the server or room is at capacity; the reason carries a retry hint.
    TryAgainLater,
    /// 4000: a frame could not be understood.
    BadMessage,
    /// 4001: a CRDT update did not decode or apply; it was not applied, stored or relayed.
    InvalidUpdate,
    /// 4002: the client's outgoing queue overflowed; it resyncs on reconnect.
    SlowConsumer,
    /// 4003: nothing was heard from the client for two heartbeat intervals.
    HeartbeatTimeout,
    /// 4004: the client sent more messages per second than allowed.
    RateLimited,
    /// 4005: the update would grow the document past the configured limit.
    DocumentTooLarge,
    /// 4006: the share link this connection was admitted with was revoked or expired.
    AccessRevoked,
}

/// What a client does after a close.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reconnect {
    /// Stop: the server said "you may not" (or the page ended it).
    Never,
    /// Retry with the usual backoff (and resync through the state vectors).
    Backoff,
    /// Retry after the `retry after N s` hint in the reason.
    AfterHint,
}

/// One row of the close table.
#[derive(Debug)]
pub struct CloseSpec {
    /// The code.
    pub code: CloseCode,
    /// Its number on the wire.
    pub number: u16,
    /// Its name, as `docs/PROTOCOL.md` lists it.
    pub name: &'static str,
    /// The `reason` label of the server's disconnect metric.
    pub label: &'static str,
    /// When it is sent (or, for codes never sent, when it is seen).
    pub sent_when: &'static str,
    /// What the client does next.
    pub reconnect: Reconnect,
}

/// Every close code Tandem knows, in numeric order.
pub static TABLE: [CloseSpec; 17] = [
    spec(
        CloseCode::Normal,
        1000,
        "normal",
        "the connection ends on purpose",
        Reconnect::Never,
    ),
    spec(
        CloseCode::GoingAway,
        1001,
        "going away",
        "the server is shutting down (after the room committed what the client sent); the reason ends with `retry after N s`, N from 0 to 2 at random, so a drained node's clients come back at once, spread, through the load balancer to another node",
        Reconnect::AfterHint,
    ),
    spec(
        CloseCode::ProtocolError,
        1002,
        "protocol error",
        "the WebSocket framing was violated (RFC 6455), or a compressed message does not inflate or breaks RFC 7692's rules",
        Reconnect::Backoff,
    ),
    spec(
        CloseCode::NoStatus,
        1005,
        "no status",
        "never sent: a close frame arrived without a code",
        Reconnect::Backoff,
    ),
    spec(
        CloseCode::Abnormal,
        1006,
        "abnormal",
        "never sent: the connection dropped without a close frame",
        Reconnect::Backoff,
    ),
    spec(
        CloseCode::InvalidPayload,
        1007,
        "invalid payload",
        "a text frame or a close reason is not UTF-8 (RFC 6455 §8.1)",
        Reconnect::Backoff,
    ),
    spec(
        CloseCode::Policy,
        1008,
        "policy",
        "the link's key is not valid for this room; or a view-only connection sent an update",
        Reconnect::Never,
    ),
    spec(
        CloseCode::TooBig,
        1009,
        "too big",
        "a message over `--max-message-bytes` (1 MiB), whole or in fragments, or a `hello` over 1 KiB",
        Reconnect::Backoff,
    ),
    spec(
        CloseCode::Internal,
        1011,
        "internal",
        "the store failed; the room is reloaded from what is durable",
        Reconnect::Backoff,
    ),
    spec(
        CloseCode::TryAgainLater,
        1013,
        "try again later",
        "the server, your address or the room is at capacity; the reason ends with `retry after N s`",
        Reconnect::AfterHint,
    ),
    spec(
        CloseCode::BadMessage,
        4000,
        "bad message",
        "a binary frame is not a y-sync message, or the first message is not a `hello`",
        Reconnect::Backoff,
    ),
    spec(
        CloseCode::InvalidUpdate,
        4001,
        "invalid update",
        "an update does not decode or apply, or depends on edits the server does not have (it starts past the room's state); it was not applied, stored or relayed",
        Reconnect::Backoff,
    ),
    spec(
        CloseCode::SlowConsumer,
        4002,
        "slow consumer",
        "the client fell further behind than its outgoing queue allows; it resyncs on reconnect (one that reads nothing cannot get this close: its connection is reset and it sees 1006)",
        Reconnect::Backoff,
    ),
    spec(
        CloseCode::HeartbeatTimeout,
        4003,
        "heartbeat timeout",
        "nothing arrived for two heartbeat intervals; or no `hello` came in the first two",
        Reconnect::Backoff,
    ),
    spec(
        CloseCode::RateLimited,
        4004,
        "rate limited",
        "more than `--rate-limit` messages per second (burst `--rate-burst`)",
        Reconnect::Backoff,
    ),
    spec(
        CloseCode::DocumentTooLarge,
        4005,
        "document too large",
        "the update would grow the document past `--max-document-bytes`",
        Reconnect::Never,
    ),
    spec(
        CloseCode::AccessRevoked,
        4006,
        "access revoked",
        "the share link the connection presented, or was admitted with, was revoked or has expired (at once, on every node); the reason says which",
        Reconnect::Never,
    ),
];

/// A row whose metric label is its name in snake case; `const` so the table
/// is built at compile time.
const fn spec(
    code: CloseCode,
    number: u16,
    name: &'static str,
    sent_when: &'static str,
    reconnect: Reconnect,
) -> CloseSpec {
    CloseSpec {
        code,
        number,
        name,
        label: label_of(code),
        sent_when,
        reconnect,
    }
}

/// The metric labels: `name` with `_` for spaces (checked by a test).
const fn label_of(code: CloseCode) -> &'static str {
    match code {
        CloseCode::Normal => "normal",
        CloseCode::GoingAway => "going_away",
        CloseCode::ProtocolError => "protocol_error",
        CloseCode::NoStatus => "no_status",
        CloseCode::Abnormal => "abnormal",
        CloseCode::InvalidPayload => "invalid_payload",
        CloseCode::Policy => "policy",
        CloseCode::TooBig => "too_big",
        CloseCode::Internal => "internal",
        CloseCode::TryAgainLater => "try_again_later",
        CloseCode::BadMessage => "bad_message",
        CloseCode::InvalidUpdate => "invalid_update",
        CloseCode::SlowConsumer => "slow_consumer",
        CloseCode::HeartbeatTimeout => "heartbeat_timeout",
        CloseCode::RateLimited => "rate_limited",
        CloseCode::DocumentTooLarge => "document_too_large",
        CloseCode::AccessRevoked => "access_revoked",
    }
}

impl CloseCode {
    /// This code's row of [`TABLE`].
    pub fn spec(self) -> &'static CloseSpec {
        // The table lists every variant (checked by a test); the fallback is unreachable.
        TABLE
            .iter()
            .find(|row| row.code == self)
            .unwrap_or(&TABLE[0])
    }

    /// The number on the wire.
    pub fn number(self) -> u16 {
        self.spec().number
    }

    /// The code with this number, if Tandem knows it.
    pub fn from_number(number: u16) -> Option<Self> {
        TABLE
            .iter()
            .find(|row| row.number == number)
            .map(|row| row.code)
    }

    /// The name, e.g. `slow consumer`.
    pub fn name(self) -> &'static str {
        self.spec().name
    }

    /// The metric label, e.g. `slow_consumer`.
    pub fn label(self) -> &'static str {
        self.spec().label
    }

    /// What a client does after this close.
    pub fn reconnect(self) -> Reconnect {
        self.spec().reconnect
    }
}

impl From<CloseCode> for u16 {
    fn from(code: CloseCode) -> Self {
        code.number()
    }
}

impl fmt::Display for CloseCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.number(), self.name())
    }
}

/// A close the server sends: a code and a short human reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Close {
    /// Why, for programs.
    pub code: CloseCode,
    /// Why, for people; at most [`MAX_REASON_LEN`] bytes.
    pub reason: String,
}

impl Close {
    /// A close with `reason` cut to fit a close frame.
    pub fn new(code: CloseCode, reason: impl Into<String>) -> Self {
        let mut reason = reason.into();
        truncate_reason(&mut reason);
        Self { code, reason }
    }

    /// A close whose reason carries a retry hint, e.g. `server is full; retry
    /// after 12 s`; [`retry_after`] reads it back.
    pub fn with_retry_after(code: CloseCode, why: &str, seconds: u32) -> Self {
        Self::new(code, format!("{why}; retry after {seconds} s"))
    }
}

impl fmt::Display for Close {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.reason)
    }
}

/// The longest close reason a close frame can carry, in bytes.
pub const MAX_REASON_LEN: usize = 123;

/// Whether a client should reconnect after a close with `number`. Codes that
/// mean "you may not" stop the retry loop; everything else, including codes
/// Tandem does not know, is retried.
pub fn should_reconnect(number: u16) -> bool {
    CloseCode::from_number(number).is_none_or(|code| code.reconnect() != Reconnect::Never)
}

/// The retry hint of a reason built by [`Close::with_retry_after`], in seconds.
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

/// The table as `docs/PROTOCOL.md` shows it: one Markdown row per code.
pub fn markdown_rows() -> Vec<String> {
    TABLE
        .iter()
        .map(|row| {
            let reconnects = match row.reconnect {
                Reconnect::Never => "no",
                Reconnect::Backoff => "yes",
                Reconnect::AfterHint => "yes, after N s",
            };
            format!(
                "| {} | {} | {} | {reconnects} |",
                row.number, row.name, row.sent_when
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_hint_round_trips() {
        let close = Close::with_retry_after(CloseCode::TryAgainLater, "server is full", 12);
        assert_eq!(close.reason, "server is full; retry after 12 s");
        assert_eq!(retry_after(&close.reason), Some(12));
        assert_eq!(retry_after("server is full"), None);
        assert_eq!(retry_after("retry after soon s"), None);
    }

    #[test]
    fn reasons_fit_a_close_frame() {
        let mut long = "é".repeat(100);
        truncate_reason(&mut long);
        assert!(long.len() <= MAX_REASON_LEN);
        assert!(long.chars().all(|c| c == 'é'));
        let hinted = Close::with_retry_after(CloseCode::TryAgainLater, &"x".repeat(200), 3);
        assert!(hinted.reason.len() <= MAX_REASON_LEN);
        assert!(
            Close::new(CloseCode::Internal, "é".repeat(100))
                .reason
                .len()
                <= MAX_REASON_LEN
        );
    }

    #[test]
    fn refusals_stop_reconnecting() {
        for code in [
            CloseCode::Normal,
            CloseCode::Policy,
            CloseCode::DocumentTooLarge,
            CloseCode::AccessRevoked,
        ] {
            assert!(!should_reconnect(code.number()), "{code}");
        }
        for code in [
            CloseCode::GoingAway,
            CloseCode::Abnormal,
            CloseCode::Internal,
            CloseCode::TryAgainLater,
            CloseCode::SlowConsumer,
            CloseCode::HeartbeatTimeout,
        ] {
            assert!(should_reconnect(code.number()), "{code}");
        }
        // A code from a newer server is retried.
        assert!(should_reconnect(4099));
    }

    #[test]
    fn the_table_is_whole_and_consistent() {
        let mut numbers: Vec<u16> = TABLE.iter().map(|row| row.number).collect();
        let sorted = {
            let mut s = numbers.clone();
            s.sort_unstable();
            s
        };
        assert_eq!(numbers, sorted, "rows in numeric order");
        numbers.dedup();
        assert_eq!(numbers.len(), TABLE.len(), "numbers are unique");
        for row in &TABLE {
            assert_eq!(
                row.code.spec().number,
                row.number,
                "{:?} has one row",
                row.code
            );
            assert_eq!(CloseCode::from_number(row.number), Some(row.code));
            assert_eq!(row.label, row.name.replace(' ', "_"));
            let tandem_range = (4000..=4099).contains(&row.number);
            let standard = (1000..=1015).contains(&row.number);
            assert!(tandem_range || standard, "{}", row.number);
        }
        assert_eq!(u16::from(CloseCode::SlowConsumer), 4002);
        assert_eq!(CloseCode::from_number(4999), None);
    }

    /// `docs/PROTOCOL.md` repeats the table; this reads it back.
    #[test]
    fn protocol_doc_lists_the_same_codes() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/PROTOCOL.md");
        let doc = std::fs::read_to_string(&path).expect("docs/PROTOCOL.md exists");
        let section = doc
            .split_once("## Close codes")
            .expect("a Close codes section")
            .1;
        let section = section.split("\n## ").next().unwrap_or_default();
        let documented: Vec<&str> = section
            .lines()
            .filter(|line| {
                line.starts_with("| ") && line[2..].starts_with(|c: char| c.is_ascii_digit())
            })
            .collect();
        let expected = markdown_rows();
        assert_eq!(
            documented,
            expected.iter().map(String::as_str).collect::<Vec<_>>(),
            "docs/PROTOCOL.md's close code table differs from shared/src/close.rs's TABLE"
        );
    }
}
