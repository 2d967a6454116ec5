//! Text frames as the server parses them: never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tandem_shared::ClientMsg;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(ClientMsg::Presence(presence)) = serde_json::from_str::<ClientMsg>(text) {
            let _ = presence.validate();
        }
    }
});
