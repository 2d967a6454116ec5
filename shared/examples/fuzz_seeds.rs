//! Writes seed inputs for the fuzz targets (`fuzz/`): real updates and sync
//! frames made by yrs, so the fuzzer starts from valid structure.
//!
//! `cargo run -p tandem-shared --example fuzz_seeds -- fuzz/corpus`

use std::collections::HashMap;
use std::path::PathBuf;

use tandem_shared::SyncFrame;
use yrs::{Any, Array, Map, ReadTxn, StateVector, Text, Transact};

fn main() -> std::io::Result<()> {
    let root = PathBuf::from(
        std::env::args()
            .nth(1)
            .unwrap_or_else(|| "fuzz/corpus".into()),
    );
    let doc = tandem_shared::doc::new_doc();
    let text = doc.get_or_insert_text(tandem_shared::doc::CONTENT);
    let title = doc.get_or_insert_text(tandem_shared::doc::TITLE);
    let map = doc.get_or_insert_map("meta");
    let array = doc.get_or_insert_array("list");
    let mut updates: Vec<Vec<u8>> = Vec::new();
    let mut edit = |f: &dyn Fn(&mut yrs::TransactionMut)| {
        let mut txn = doc.transact_mut();
        f(&mut txn);
        updates.push(txn.encode_update_v1());
    };
    edit(&|txn| text.insert(txn, 0, "hello 👋 world"));
    edit(&|txn| text.remove_range(txn, 2, 4));
    edit(&|txn| title.insert(txn, 0, "Title"));
    edit(&|txn| {
        map.insert(
            txn,
            "k",
            Any::from(vec![Any::from(1.5), Any::from("x"), Any::Null]),
        );
    });
    edit(&|txn| {
        array.insert(txn, 0, Any::Bool(true));
    });
    edit(&|txn| {
        let attrs = HashMap::from([("bold".into(), Any::Bool(true))]);
        text.format(txn, 0, 3, attrs);
    });
    updates.push(
        doc.transact()
            .encode_state_as_update_v1(&StateVector::default()),
    );

    for dir in ["update_raw", "update_guarded", "sync_frame"] {
        std::fs::create_dir_all(root.join(dir))?;
    }
    for (i, update) in updates.iter().enumerate() {
        std::fs::write(root.join("update_raw").join(format!("seed-{i}")), update)?;
        std::fs::write(
            root.join("update_guarded").join(format!("seed-{i}")),
            update,
        )?;
        let frame = SyncFrame::Update(update.clone()).encode();
        std::fs::write(root.join("sync_frame").join(format!("seed-{i}")), frame)?;
    }
    let sv = SyncFrame::Step1(doc.transact().state_vector()).encode();
    std::fs::write(root.join("sync_frame").join("seed-step1"), sv)?;
    println!("wrote {} seeds under {}", updates.len(), root.display());
    Ok(())
}
