//! Waiting on a condition with a deadline: the only way tests synchronise
//! (never a fixed sleep).

use std::time::Duration;

/// How long a test waits for a condition before it fails. Generous: two
/// cores may be running several servers, browsers and a build at once; a
/// passing wait returns as soon as its condition holds.
pub const DEADLINE: Duration = Duration::from_secs(20);

/// Polls `condition` until it holds; fails the test after [`DEADLINE`],
/// saying `what` it waited for.
pub async fn eventually(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + DEADLINE;
    while !condition() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for: {what}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}
