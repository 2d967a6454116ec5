//! What comments cost on a big document (issue 29): the automerge paper
//! (259,778 edits) with 500 threads, in process, no network.
//!
//! - reading every thread and resolving both anchors of each
//!   (`comments::threads` + `Thread::anchor`), as a page showing the margin
//!   would on opening;
//! - the server's check of a comment link's update
//!   (`comments::check_comment_update`) beside applying that update, for a
//!   reply as the page sends it (its own transaction's delete set) and for a
//!   whole sync step 2 (the client's full delete set).
//!
//! ```text
//! cargo run --release -p tandem-bench --example comments_check -- /work/shared/bench-data/automerge-paper.json.gz
//! ```

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;
use tandem_shared::comments::{self, COMMENTS, Comment, Stamp};
use tandem_shared::doc::{CONTENT, new_doc};
use yrs::updates::decoder::Decode;
use yrs::{Doc, ReadTxn, StateVector, Text, Transact, Update};

/// Threads opened on the paper.
const THREADS: u32 = 500;
/// Timed repetitions of each measure; the median is reported.
const RUNS: usize = 9;

fn note(id: &str) -> Comment {
    Comment {
        id: id.to_owned(),
        stamp: Stamp {
            author: "bench".into(),
            name: "Bench".into(),
            color: "#2f8636".into(),
            time: 1_765_000_000_000,
        },
        text: "Is this right?".into(),
    }
}

fn load(state: &[u8]) -> anyhow::Result<Doc> {
    let doc = new_doc();
    let update = Update::decode_v1(state).context("state")?;
    doc.transact_mut().apply_update(update).context("apply")?;
    Ok(doc)
}

/// Median milliseconds of `RUNS` runs of `run`.
fn median_ms(mut run: impl FnMut()) -> f64 {
    median_of(|| {
        let started = Instant::now();
        run();
        started.elapsed().as_secs_f64() * 1000.0
    })
}

/// Median of `RUNS` values `run` measures itself, in milliseconds.
fn median_of(mut run: impl FnMut() -> f64) -> f64 {
    let mut times: Vec<f64> = (0..RUNS).map(|_| run()).collect();
    times.sort_by(f64::total_cmp);
    times[RUNS / 2]
}

fn main() -> anyhow::Result<()> {
    let path = PathBuf::from(
        std::env::args()
            .nth(1)
            .unwrap_or_else(|| "/work/shared/bench-data/automerge-paper.json.gz".into()),
    );
    let trace = tandem_loadgen::trace::Trace::load(&path)?;
    let prepared = tandem_loadgen::bigdoc::prepare(&trace, None)?;
    let room = load(&prepared.state)?;
    let body = room.get_or_insert_text(CONTENT);
    let notes = room.get_or_insert_map(COMMENTS);
    let length = body.len(&room.transact());
    let step = length / (THREADS + 1);
    for i in 0..THREADS {
        let start = step * (i + 1);
        let mut txn = room.transact_mut();
        comments::open_thread(
            &mut txn,
            &notes,
            &body,
            &format!("t{i}"),
            (start, start + 10),
            &note("c1"),
        )
        .context("open")?;
    }
    println!(
        "paper: {} UTF-16 units, {} edits; {THREADS} threads",
        length,
        prepared.updates.len()
    );

    let read = median_ms(|| {
        let txn = room.transact();
        let threads = comments::threads(&txn, &notes);
        let placed = threads
            .iter()
            .filter(|t| matches!(t.anchor(&txn), comments::Anchor::Range { .. }))
            .count();
        assert_eq!(placed, THREADS as usize);
    });
    println!("read {THREADS} threads and resolve their anchors: {read:.1} ms (median of {RUNS})");

    // A reviewer's copy, and a reply as the page would send it.
    let state = room
        .transact()
        .encode_state_as_update_v1(&StateVector::default());
    let reviewer = load(&state)?;
    let reviewer_notes = reviewer.get_or_insert_map(COMMENTS);
    let before = reviewer.transact().state_vector();
    let reply = {
        let mut txn = reviewer.transact_mut();
        comments::reply(&mut txn, &reviewer_notes, "t250", &note("c2")).context("reply")?;
        txn.encode_update_v1()
    };
    let step2 = reviewer.transact().encode_state_as_update_v1(&before);
    for (what, update) in [
        ("a reply", &reply),
        ("a step 2 with the whole delete set", &step2),
    ] {
        let check = median_ms(|| {
            let verdict = comments::check_comment_update(&room.transact(), update);
            assert_eq!(verdict, Ok(()));
        });
        // Applying it to a fresh copy of the room (only the apply timed).
        let apply = median_of(|| {
            let copy = load(&state).expect("copy");
            let started = Instant::now();
            let update = Update::decode_v1(update).expect("decode");
            copy.transact_mut().apply_update(update).expect("apply");
            started.elapsed().as_secs_f64() * 1000.0
        });
        println!(
            "{what} ({} bytes): check {check:.2} ms, apply {apply:.2} ms (medians of {RUNS})",
            update.len()
        );
    }
    Ok(())
}
