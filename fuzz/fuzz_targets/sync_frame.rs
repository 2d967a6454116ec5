//! Binary frames as the server parses them: never a panic, and whatever
//! decodes survives a re-encode (byte equality is not required: a varint may
//! be written with redundant continuation bytes).
#![no_main]

use libfuzzer_sys::fuzz_target;
use tandem_shared::SyncFrame;

fuzz_target!(|data: &[u8]| {
    if let Ok(frame) = SyncFrame::decode(data) {
        assert_eq!(SyncFrame::decode(&frame.encode()).as_ref(), Ok(&frame));
    }
});
