//! Tandem's storage in process: what group commit buys, and what compaction
//! does to the time it takes to load a room. Uses the server's own
//! `SqliteStore` (WAL, `synchronous=FULL`) on a scratch directory, with real
//! updates from the editing trace.

use std::path::Path;
use std::time::Instant;

use tandem_server::store::{SqliteStore, Store};
use tandem_shared::RoomId;
use yrs::{ReadTxn, StateVector, Transact};

use tandem_loadgen::stats::Spread;

/// Updates per second when every append is its own transaction, and when
/// `batch` updates share one.
#[derive(Debug, Clone)]
pub struct CommitRate {
    /// Updates per transaction.
    pub batch: usize,
    /// Durable updates per second, over the runs.
    pub rate: Option<Spread>,
}

/// Loading a room whose log holds `updates` entries, before and after it is
/// compacted into one snapshot.
#[derive(Debug, Clone, Default)]
pub struct LoadTimes {
    /// Log entries written.
    pub updates: usize,
    /// Load (read from SQLite and rebuild the document), ms, from the log.
    pub log_ms: Option<Spread>,
    /// The same from the snapshot.
    pub snapshot_ms: Option<Spread>,
    /// Bytes in the log before compaction.
    pub log_bytes: u64,
    /// Bytes of the snapshot.
    pub snapshot_bytes: u64,
}

/// What the storage section measured.
#[derive(Debug, Clone, Default)]
pub struct StorageResult {
    /// Commit rate per batch size.
    pub commits: Vec<CommitRate>,
    /// Load times before and after compaction.
    pub load: LoadTimes,
    /// Problems met, if any.
    pub problems: Vec<String>,
}

/// An empty store in the folder `name` under `scratch`, and that folder.
pub(crate) fn fresh_store(
    scratch: &Path,
    name: &str,
) -> anyhow::Result<(SqliteStore, std::path::PathBuf)> {
    let dir = scratch.join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)?;
    Ok((SqliteStore::open(&dir)?, dir))
}

/// Durable updates per second appending `updates` in transactions of `batch`.
pub fn commit_rate(scratch: &Path, updates: &[Vec<u8>], batch: usize) -> anyhow::Result<f64> {
    let (store, dir) = fresh_store(scratch, &format!("commit-{batch}"))?;
    let room = RoomId::new("bench")?;
    let began = Instant::now();
    for chunk in updates.chunks(batch) {
        let refs: Vec<&[u8]> = chunk.iter().map(Vec::as_slice).collect();
        store.append(&room, &refs)?;
    }
    let rate = updates.len() as f64 / began.elapsed().as_secs_f64();
    drop(store);
    let _ = std::fs::remove_dir_all(dir);
    Ok(rate)
}

/// Writes `updates` as a room's log, then times loading it from the log and,
/// after compaction, from the snapshot (`runs` times each).
pub fn load_times(scratch: &Path, updates: &[Vec<u8>], runs: usize) -> anyhow::Result<LoadTimes> {
    let (store, dir) = fresh_store(scratch, "load")?;
    let room = RoomId::new("bench")?;
    for chunk in updates.chunks(1000) {
        let refs: Vec<&[u8]> = chunk.iter().map(Vec::as_slice).collect();
        store.append(&room, &refs)?;
    }
    let time_load = || -> anyhow::Result<(f64, yrs::Doc)> {
        let began = Instant::now();
        let stored = store.load(&room)?;
        let (doc, skipped) = stored.to_doc();
        anyhow::ensure!(
            skipped.is_empty(),
            "stored updates were skipped: {skipped:?}"
        );
        Ok((began.elapsed().as_secs_f64() * 1000.0, doc))
    };
    let mut log_ms = Vec::new();
    let mut doc = None;
    for _ in 0..runs {
        let (ms, loaded) = time_load()?;
        log_ms.push(ms);
        doc = Some(loaded);
    }
    let doc = doc.ok_or_else(|| anyhow::anyhow!("no run"))?;
    let state = doc
        .transact()
        .encode_state_as_update_v1(&StateVector::default());
    let stored = store.load(&room)?;
    store.compact(&room, &state, stored.last_seq)?;
    let mut snapshot_ms = Vec::new();
    for _ in 0..runs {
        let (ms, loaded) = time_load()?;
        anyhow::ensure!(
            loaded
                .transact()
                .encode_state_as_update_v1(&StateVector::default())
                == state,
            "compaction changed the document"
        );
        snapshot_ms.push(ms);
    }
    drop(store);
    let _ = std::fs::remove_dir_all(dir);
    Ok(LoadTimes {
        updates: updates.len(),
        log_ms: Spread::of(&log_ms),
        snapshot_ms: Spread::of(&snapshot_ms),
        log_bytes: stored.log_bytes(),
        snapshot_bytes: state.len() as u64,
    })
}

/// The whole section: commit rates for batches of 1, 16 and 256 (the group
/// commit takes whatever arrived during the previous commit), then loading a
/// room with `load_updates` log entries.
pub fn run(scratch: &Path, updates: &[Vec<u8>], quick: bool) -> StorageResult {
    let runs = if quick { 1 } else { 3 };
    let commit_updates = &updates[..updates.len().min(if quick { 500 } else { 3000 })];
    let load_updates = &updates[..updates.len().min(100_000)];
    let mut result = StorageResult::default();
    for batch in [1, 16, 256] {
        let mut rates = Vec::new();
        for _ in 0..runs {
            match commit_rate(scratch, commit_updates, batch) {
                Ok(rate) => rates.push(rate),
                Err(err) => result.problems.push(format!("batch {batch}: {err:#}")),
            }
        }
        result.commits.push(CommitRate {
            batch,
            rate: Spread::of(&rates),
        });
    }
    match load_times(scratch, load_updates, runs) {
        Ok(load) => result.load = load,
        Err(err) => result.problems.push(format!("load: {err:#}")),
    }
    result
}

#[cfg(test)]
mod tests {
    use yrs::{Text, Transact};

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
    fn both_loads_rebuild_the_same_document() {
        let scratch = std::env::temp_dir().join(format!("tandem-storage-{}", std::process::id()));
        let load = load_times(&scratch, &updates(300), 2).expect("measured");
        assert_eq!(load.updates, 300);
        assert!(load.log_ms.is_some() && load.snapshot_ms.is_some());
        assert!(load.snapshot_bytes < load.log_bytes);
        assert!(commit_rate(&scratch, &updates(20), 4).expect("measured") > 0.0);
        let _ = std::fs::remove_dir_all(scratch);
    }
}
