//! What bare yrs does in this process, on one core: the floors the servers
//! are measured against. A room applies every update in its own
//! transaction, so one room can never relay faster than yrs applies
//! single-edit updates; a fresh client can never load faster than yrs
//! decodes and applies the document's state.

use std::time::{Duration, Instant};

use yrs::updates::decoder::Decode;
use yrs::{Text, Transact, Update};

use tandem_loadgen::stats::Spread;

/// Applies every update in its own transaction to a fresh Tandem document
/// (decode included, as a room does): updates per second, over `runs` runs.
pub fn apply_rate(updates: &[Vec<u8>], runs: usize) -> Option<Spread> {
    let rates: Vec<f64> = (0..runs.max(1))
        .map(|_| {
            let doc = tandem_shared::doc::new_doc();
            let _text = doc.get_or_insert_text(tandem_shared::doc::CONTENT);
            let started = Instant::now();
            for bytes in updates {
                if let Ok(update) = Update::decode_v1(bytes) {
                    let _ = doc.transact_mut().apply_update(update);
                }
            }
            updates.len() as f64 / started.elapsed().as_secs_f64().max(1e-9)
        })
        .collect();
    Spread::of(&rates)
}

/// Appends `count` single characters, one transaction and one encoded
/// update each (what a typing writer does): updates per second.
pub fn append_rate(count: usize, runs: usize) -> Option<Spread> {
    let rates: Vec<f64> = (0..runs.max(1))
        .map(|_| {
            let doc = tandem_shared::doc::new_doc();
            let text = doc.get_or_insert_text(tandem_shared::doc::CONTENT);
            let started = Instant::now();
            for i in 0..count {
                let mut txn = doc.transact_mut();
                let len = text.len(&txn);
                let c = char::from(b'a' + (i % 26) as u8);
                text.insert(&mut txn, len, c.encode_utf8(&mut [0; 4]));
                std::hint::black_box(txn.encode_update_v1());
            }
            count as f64 / started.elapsed().as_secs_f64().max(1e-9)
        })
        .collect();
    Spread::of(&rates)
}

/// Decodes and applies a whole document state into a fresh document:
/// milliseconds, over `runs` runs.
pub fn load_ms(state: &[u8], runs: usize) -> Option<Spread> {
    let times: Vec<f64> = (0..runs.max(1))
        .map(|_| {
            let started = Instant::now();
            let doc = tandem_shared::doc::new_doc();
            let _text = doc.get_or_insert_text(tandem_shared::doc::CONTENT);
            if let Ok(update) = Update::decode_v1(state) {
                let _ = doc.transact_mut().apply_update(update);
            }
            ms(started.elapsed())
        })
        .collect();
    Spread::of(&times)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floors_measure_something() {
        let doc = tandem_shared::doc::new_doc();
        let text = doc.get_or_insert_text(tandem_shared::doc::CONTENT);
        let updates: Vec<Vec<u8>> = (0..200)
            .map(|i| {
                let mut txn = doc.transact_mut();
                text.insert(&mut txn, i, "x");
                txn.encode_update_v1()
            })
            .collect();
        assert!(apply_rate(&updates, 2).is_some_and(|s| s.median > 0.0));
        assert!(append_rate(100, 1).is_some_and(|s| s.median > 0.0));
        let state =
            yrs::ReadTxn::encode_state_as_update_v1(&doc.transact(), &yrs::StateVector::default());
        assert!(load_ms(&state, 3).is_some_and(|s| s.runs == 3));
    }
}
