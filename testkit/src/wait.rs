//! Waiting on a condition with a deadline: the only way tests synchronise
//! (never a fixed sleep). One helper, [`poll`], for every test: the
//! server's integration tests, the browser tests and the load generator's.

use std::time::Duration;

/// How long a test waits for a condition before it fails. Generous: two
/// cores may be running several servers, browsers and a build at once; a
/// passing wait returns as soon as its condition holds.
pub const DEADLINE: Duration = Duration::from_secs(20);

/// How long [`poll`] waits between two checks that failed.
const INTERVAL: Duration = Duration::from_millis(10);

/// Checks `check` until it returns `Ok`, and returns that; fails the test
/// after `deadline` with a message saying what was awaited (`what`) and
/// what `check` last saw (its `Err`). `check` runs at least once, and once
/// more after the deadline passed, so a condition that holds at the last
/// moment is not missed.
pub async fn poll<T>(
    what: &str,
    deadline: Duration,
    check: impl AsyncFnMut() -> Result<T, String>,
) -> T {
    match try_poll(deadline, check).await {
        Ok(value) => value,
        Err(seen) => panic!("waited {deadline:?} for {what}; last saw: {seen}"),
    }
}

/// [`poll`] that returns what was last seen instead of failing, for a
/// caller that adds context to the failure (a page's URL and text, say).
pub async fn try_poll<T>(
    deadline: Duration,
    mut check: impl AsyncFnMut() -> Result<T, String>,
) -> Result<T, String> {
    let end = tokio::time::Instant::now() + deadline;
    loop {
        let past = tokio::time::Instant::now() >= end;
        match check().await {
            Ok(value) => return Ok(value),
            Err(seen) if past => return Err(seen),
            Err(_) => tokio::time::sleep(INTERVAL).await,
        }
    }
}

/// [`poll`] with [`DEADLINE`] for a condition that is simply true or
/// false: fails the test saying `what` it waited for.
pub async fn eventually(what: &str, mut condition: impl FnMut() -> bool) {
    poll(what, DEADLINE, async || {
        if condition() {
            Ok(())
        } else {
            Err("not yet".to_owned())
        }
    })
    .await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn returns_as_soon_as_the_condition_holds() {
        let mut calls = 0;
        let value = poll("three calls", Duration::from_secs(5), async || {
            calls += 1;
            if calls == 3 {
                Ok(calls)
            } else {
                Err(format!("{calls} calls"))
            }
        })
        .await;
        assert_eq!(value, 3);
    }

    #[tokio::test]
    async fn reports_what_it_last_saw() {
        let seen = try_poll(Duration::ZERO, async || {
            Err::<(), _>("a red light".to_owned())
        })
        .await;
        assert_eq!(seen, Err("a red light".to_owned()));
    }

    #[tokio::test]
    #[should_panic(expected = "waited 0ns for the light to turn green; last saw: red")]
    async fn fails_the_test_saying_what_it_waited_for() {
        poll("the light to turn green", Duration::ZERO, async || {
            Err::<(), _>("red".to_owned())
        })
        .await;
    }
}
