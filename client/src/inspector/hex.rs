//! Hex dumps of binary frames, in the classic `xxd`/`hexdump -C` layout:
//! offset, sixteen bytes in two groups of eight, and the printable ASCII.

/// The dump of `bytes`, one line per 16 bytes; nothing for no bytes.
pub(crate) fn hex_dump(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(16) * 78);
    for (line, chunk) in bytes.chunks(16).enumerate() {
        if line > 0 {
            out.push('\n');
        }
        out.push_str(&format!("{:08x} ", line * 16));
        for i in 0..16 {
            if i == 8 {
                out.push(' ');
            }
            match chunk.get(i) {
                Some(byte) => out.push_str(&format!(" {byte:02x}")),
                None => out.push_str("   "),
            }
        }
        out.push_str("  |");
        out.extend(chunk.iter().map(|&b| {
            if b.is_ascii_graphic() || b == b' ' {
                char::from(b)
            } else {
                '.'
            }
        }));
        out.push('|');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dumps_lines_of_sixteen_with_ascii() {
        // The update frame of the captured session in docs/PROTOCOL.md.
        let frame = [
            0x00, 0x02, 0x13, 0x01, 0x01, 0xe9, 0x07, 0x00, 0x04, 0x01, 0x07, 0x63, 0x6f, 0x6e,
            0x74, 0x65, 0x6e, 0x74, 0x02, 0x48, 0x69, 0x00,
        ];
        assert_eq!(
            hex_dump(&frame),
            "00000000  00 02 13 01 01 e9 07 00  04 01 07 63 6f 6e 74 65  |...........conte|\n\
             00000010  6e 74 02 48 69 00                                 |nt.Hi.|"
        );
    }

    #[test]
    fn short_and_empty_input() {
        assert_eq!(
            hex_dump(&[0, 0, 1, 0]),
            "00000000  00 00 01 00                                       |....|"
        );
        assert_eq!(hex_dump(&[]), "");
        let line = hex_dump(&[b'A'; 8]);
        assert_eq!(
            line,
            "00000000  41 41 41 41 41 41 41 41                           |AAAAAAAA|"
        );
    }
}
