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
use yrs::{Text, Transact, Update};

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
    let _ = catch_unwind(AssertUnwindSafe(|| doc.transact_mut().apply_update(update)));
});
