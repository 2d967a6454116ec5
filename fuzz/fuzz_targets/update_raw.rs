//! yrs alone, without Tandem's guard: every panic is a finding. Crashing
//! inputs found here go to `fuzz/regressions/update/`, where a server test
//! replays them against a live server to prove it refuses or contains them.
#![no_main]

use libfuzzer_sys::fuzz_target;
use yrs::updates::decoder::Decode;
use yrs::{Text, Transact, Update};

fuzz_target!(|data: &[u8]| {
    // Inputs the guard would refuse cannot reach yrs on the server; skipping
    // them keeps the fuzzer on what can.
    if tandem_shared::guard::check_update_v1(data).is_err() {
        return;
    }
    if let Ok(update) = Update::decode_v1(data) {
        let doc = tandem_shared::doc::new_doc();
        let text = doc.get_or_insert_text(tandem_shared::doc::CONTENT);
        text.insert(&mut doc.transact_mut(), 0, "seed text");
        let _ = doc.transact_mut().apply_update(update);
    }
});
