//! Updates on the server's path: the structural guard, then yrs decoding and
//! applying with panics contained, as the room actor does. A finding here is
//! something the server cannot survive: an abort, a stack overflow, a hang or
//! a runaway allocation.
#![no_main]

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Once;

use libfuzzer_sys::fuzz_target;
use tandem_shared::guard::check_update_v1;
use yrs::updates::decoder::Decode;
use yrs::{ReadTxn, Text, Transact, Update};

static QUIET: Once = Once::new();

fuzz_target!(|data: &[u8]| {
    // The server contains panics with catch_unwind; libFuzzer's own hook would
    // abort first, so put a silent one back.
    QUIET.call_once(|| std::panic::set_hook(Box::new(|_| {})));
    if check_update_v1(data).is_err() {
        return;
    }
    let Ok(Ok(update)) = catch_unwind(|| Update::decode_v1(data)) else {
        return;
    };
    let doc = tandem_shared::doc::new_doc();
    let text = doc.get_or_insert_text(tandem_shared::doc::CONTENT);
    text.insert(&mut doc.transact_mut(), 0, "seed text");
    // The room refuses updates with a gap before applying (room/actor.rs).
    let state = doc.transact().state_vector();
    if update.state_vector_lower().iter().any(|(c, clock)| *clock > state.get(c)) {
        return;
    }
    let _ = catch_unwind(AssertUnwindSafe(|| doc.transact_mut().apply_update(update)));
});
