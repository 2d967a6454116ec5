//! Waiting on a condition with a deadline, the only way these tests
//! synchronise with the page (never a fixed sleep).

use std::time::{Duration, Instant};

/// How often a condition is checked again.
const INTERVAL: Duration = Duration::from_millis(50);

/// Checks `check` until it returns `Ok`, or fails the test after `deadline`
/// with a message saying what was awaited (`what`) and what `check` last saw
/// (its `Err`).
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

/// [`poll`] that returns what was last seen instead of panicking, so the
/// caller can add context (the page's URL and text) to the failure.
pub(crate) async fn try_poll<T>(
    deadline: Duration,
    mut check: impl AsyncFnMut() -> Result<T, String>,
) -> Result<T, String> {
    let start = Instant::now();
    loop {
        match check().await {
            Ok(value) => return Ok(value),
            Err(seen) if start.elapsed() >= deadline => return Err(seen),
            Err(_) => tokio::time::sleep(INTERVAL).await,
        }
    }
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
}
