//! Binary frames as the server parses them: never a panic, and whatever
//! decodes re-encodes to the same bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tandem_shared::SyncFrame;

fuzz_target!(|data: &[u8]| {
    if let Ok(frame) = SyncFrame::decode(data) {
        if !matches!(frame, SyncFrame::Step1(_)) {
            assert_eq!(frame.encode(), data);
        }
    }
});
