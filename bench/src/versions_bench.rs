//! The version history's benchmark, in process: how much storage the
//! checkpoints take when a real editing trace is replayed over simulated
//! days with the server's own retention applied, and how long listing and
//! opening versions take with 1,000 versions of a 100,000-character document.
//!
//! Uses the server's `SqliteStore` and its `room::history` functions (the
//! retention `thin`, the `decode` a version's text is served through), so
//! the figures are the server's code on its real store, minus HTTP.

use std::collections::HashMap;
use std::path::Path;
use std::time::Instant;

use tandem_loadgen::stats::Spread;
use tandem_server::room::HistoryPolicy;
use tandem_server::room::history::{decode, thin};
use tandem_server::store::{NewVersion, Store, VersionKind};
use tandem_shared::RoomId;
use yrs::updates::decoder::Decode;
use yrs::{ReadTxn, StateVector, Text, Transact, Update};

use crate::procs::dir_size;
use crate::storage::fresh_store;

/// Minutes between checkpoints while editing (the default `--history-interval`).
pub const INTERVAL_MINUTES: i64 = 10;
/// Hours of editing per simulated day.
pub const HOURS_PER_DAY: i64 = 8;

/// Storage after a number of simulated days.
#[derive(Debug, Clone, Default)]
pub struct GrowthRow {
    /// Simulated days so far.
    pub day: i64,
    /// Edits of the trace replayed so far.
    pub edits: usize,
    /// Checkpoints taken so far.
    pub taken: usize,
    /// Versions left after retention.
    pub kept: usize,
    /// Bytes of the kept versions' states.
    pub kept_bytes: u64,
    /// Bytes all checkpoints would take without retention.
    pub unthinned_bytes: u64,
    /// The database file (with its WAL) on disk.
    pub file_bytes: u64,
}

/// What the version-history section measured.
#[derive(Debug, Clone, Default)]
pub struct VersionsResult {
    /// Simulated days of the replay.
    pub days: i64,
    /// Storage as the days go by.
    pub growth: Vec<GrowthRow>,
    /// Versions in the list/open test, and the document's characters.
    pub versions: usize,
    /// Characters of that document.
    pub chars: usize,
    /// Listing every version (the store call `GET …/versions` makes), ms.
    pub list_ms: Option<Spread>,
    /// Opening one (read its state and decode its text, as `GET …/text`), ms.
    pub open_ms: Option<Spread>,
    /// Problems met, if any.
    pub problems: Vec<String>,
}

/// Replays `updates` spread evenly over `days` simulated days of
/// [`HOURS_PER_DAY`] hours of editing, a checkpoint every
/// [`INTERVAL_MINUTES`], retention applied after each as the server does.
pub fn growth(
    scratch: &Path,
    updates: &[Vec<u8>],
    days: i64,
    report_every: i64,
) -> anyhow::Result<Vec<GrowthRow>> {
    const MINUTE: i64 = 60_000;
    const DAY: i64 = 24 * 60 * MINUTE;
    let (store, dir) = fresh_store(scratch, "history-growth")?;
    let room = RoomId::new("bench")?;
    let policy = HistoryPolicy::default();
    let doc = tandem_shared::doc::new_doc();
    let per_day = (HOURS_PER_DAY * 60 / INTERVAL_MINUTES) as usize;
    let total = (days as usize) * per_day;
    let mut sizes: HashMap<u64, u64> = HashMap::new();
    let (mut applied, mut taken, mut unthinned) = (0usize, 0usize, 0u64);
    let mut rows = Vec::new();
    // Day 0 starts at a UTC midnight, editing from 09:00.
    let epoch = 1_767_225_600_000; // 2026-01-01T00:00Z
    for day in 0..days {
        for slot in 0..per_day {
            let end = updates.len() * (taken + 1) / total;
            for bytes in &updates[applied..end] {
                let update = Update::decode_v1(bytes)?;
                doc.transact_mut().apply_update(update)?;
            }
            applied = end;
            let state = doc
                .transact()
                .encode_state_as_update_v1(&StateVector::default());
            let at =
                epoch + day * DAY + 9 * 60 * MINUTE + (slot as i64 + 1) * INTERVAL_MINUTES * MINUTE;
            let id = store.add_version(
                &room,
                &NewVersion {
                    at,
                    authors: &["Ana".to_string()],
                    label: None,
                    kind: VersionKind::Edit,
                    restored_from: None,
                    changes: &[],
                    state: &state,
                },
            )?;
            taken += 1;
            unthinned += state.len() as u64;
            sizes.insert(id, state.len() as u64);
            let dropped = thin(&store.list_versions(&room)?, at, &policy);
            store.delete_versions(&room, &dropped)?;
            for id in dropped {
                sizes.remove(&id);
            }
        }
        if (day + 1) % report_every == 0 || day + 1 == days {
            rows.push(GrowthRow {
                day: day + 1,
                edits: applied,
                taken,
                kept: sizes.len(),
                kept_bytes: sizes.values().sum(),
                unthinned_bytes: unthinned,
                file_bytes: dir_size(&dir),
            });
        }
    }
    drop(store);
    let _ = std::fs::remove_dir_all(dir);
    Ok(rows)
}

/// Stores `versions` versions of a `chars`-character document (each one a
/// small edit of the previous), then times listing them all and opening
/// versions spread over the list.
pub fn list_and_open(
    scratch: &Path,
    text: &str,
    chars: usize,
    versions: usize,
    runs: usize,
) -> anyhow::Result<(Option<Spread>, Option<Spread>)> {
    let (store, dir) = fresh_store(scratch, "history-list")?;
    let room = RoomId::new("bench")?;
    let doc = tandem_shared::doc::new_doc();
    let body = doc.get_or_insert_text(tandem_shared::doc::CONTENT);
    let base: String = text.chars().cycle().take(chars).collect();
    body.insert(&mut doc.transact_mut(), 0, &base);
    let mut rng = fastrand::Rng::with_seed(15);
    let mut ids = Vec::with_capacity(versions);
    for i in 0..versions {
        let len = body.len(&doc.transact());
        body.insert(&mut doc.transact_mut(), rng.u32(0..len), &format!(" v{i}"));
        let state = doc
            .transact()
            .encode_state_as_update_v1(&StateVector::default());
        ids.push(store.add_version(
            &room,
            &NewVersion {
                at: i as i64 * 600_000,
                authors: &["Ana".to_string(), "Bo".to_string()],
                label: (i % 50 == 0).then_some("named"),
                kind: VersionKind::Edit,
                restored_from: None,
                changes: &[],
                state: &state,
            },
        )?);
    }
    let mut list_ms = Vec::new();
    for _ in 0..runs.max(5) {
        let began = Instant::now();
        let listed = store.list_versions(&room)?;
        list_ms.push(began.elapsed().as_secs_f64() * 1000.0);
        anyhow::ensure!(listed.len() == versions, "listed {}", listed.len());
    }
    let mut open_ms = Vec::new();
    for _ in 0..runs.max(5) * 4 {
        let id = ids[rng.usize(..ids.len())];
        let began = Instant::now();
        let state = store
            .version_state(&room, id)?
            .ok_or_else(|| anyhow::anyhow!("version {id} missing"))?;
        let opened = decode(&state).map_err(|e| anyhow::anyhow!("{e}"))?;
        open_ms.push(began.elapsed().as_secs_f64() * 1000.0);
        anyhow::ensure!(opened.body.encode_utf16().count() >= chars, "short text");
    }
    drop(store);
    let _ = std::fs::remove_dir_all(dir);
    Ok((Spread::of(&list_ms), Spread::of(&open_ms)))
}

/// The whole section. Quick: 10 simulated days; full: 60 (past the 30 days
/// of hourly retention, into the daily one).
pub fn run(scratch: &Path, updates: &[Vec<u8>], text: &str, quick: bool) -> VersionsResult {
    let days = if quick { 10 } else { 60 };
    let mut result = VersionsResult {
        days,
        versions: 1000,
        chars: 100_000,
        ..VersionsResult::default()
    };
    match growth(scratch, updates, days, if quick { 2 } else { 10 }) {
        Ok(rows) => result.growth = rows,
        Err(err) => result.problems.push(format!("growth: {err:#}")),
    }
    let runs = if quick { 5 } else { 10 };
    match list_and_open(scratch, text, result.chars, result.versions, runs) {
        Ok((list, open)) => {
            result.list_ms = list;
            result.open_ms = open;
        }
        Err(err) => result.problems.push(format!("list/open: {err:#}")),
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    fn updates(n: usize) -> Vec<Vec<u8>> {
        let doc = tandem_shared::doc::new_doc();
        let text = doc.get_or_insert_text(tandem_shared::doc::CONTENT);
        (0..n)
            .map(|i| {
                let mut txn = doc.transact_mut();
                text.insert(&mut txn, (i / 2) as u32, "x");
                txn.encode_update_v1()
            })
            .collect()
    }

    #[test]
    fn retention_bounds_the_replay() {
        let scratch =
            std::env::temp_dir().join(format!("tandem-versions-bench-{}", std::process::id()));
        let rows = growth(&scratch, &updates(600), 40, 40).expect("measured");
        let last = rows.last().expect("a row");
        assert_eq!(last.taken, 40 * 48);
        assert_eq!(last.edits, 600);
        // A day of every checkpoint (48, and the one 24 h back), 30 days of
        // 9 hourly ones (09:10 to 17:00 spans nine hours), 10 daily ones.
        assert!(last.kept <= 49 + 30 * 9 + 10, "{last:?}");
        assert!(
            last.kept > 40 + 10,
            "retention keeps a day and then some: {last:?}"
        );
        assert!(last.kept_bytes < last.unthinned_bytes);
        let (list, open) = list_and_open(&scratch, "abc def\n", 2000, 30, 2).expect("measured");
        assert!(list.is_some() && open.is_some());
        let _ = std::fs::remove_dir_all(scratch);
    }
}
