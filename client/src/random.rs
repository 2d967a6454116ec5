//! Random numbers from the browser's CSPRNG, for ids that must not collide
//! or be guessed.

/// 64 random bits from Web Crypto (two `Math.random` draws where it is missing).
pub(crate) fn random_u64() -> u64 {
    let mut bytes = [0u8; 8];
    let filled = web_sys::window()
        .and_then(|w| w.crypto().ok())
        .is_some_and(|c| c.get_random_values_with_u8_array(&mut bytes).is_ok());
    if filled {
        u64::from_le_bytes(bytes)
    } else {
        let draw = || (js_sys::Math::random() * f64::from(u32::MAX)) as u64;
        draw() << 32 | draw()
    }
}
