//! The ids this node shows other nodes' people under: the other node's tag
//! in the upper bits, its connection id in the lower 32, so they never meet
//! this node's own connection ids (which count up from 1), stay exact as
//! JavaScript numbers, and say which node a person was on when it dies.

use tandem_shared::ClientId;

/// A short number for a node id: the upper bits of the ids its people
/// get on the other nodes.
pub fn node_tag(node: &str) -> u64 {
    // FNV-1a, folded to 20 bits and never 0, so remote ids stay above every
    // local connection id (which count up from 1) and below 2^53, exact in
    // JavaScript numbers.
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in node.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    ((hash ^ (hash >> 20) ^ (hash >> 40)) & 0xF_FFFF).max(1)
}

/// The id connection `client` of `node` is shown under on other nodes.
pub fn remote_client(node: &str, client: u64) -> ClientId {
    ClientId((node_tag(node) << 32) | (client & 0xFFFF_FFFF))
}

/// The node tag of an id made by [`remote_client`] (0 for a local id).
pub fn node_of(client: ClientId) -> u64 {
    client.0 >> 32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remote_ids_never_meet_local_ones_and_stay_exact_in_javascript() {
        for node in ["", "a", "00000000deadbeef", "ffffffffffffffff"] {
            let id = remote_client(node, u64::from(u32::MAX));
            assert!(id.0 > u64::from(u32::MAX), "{node}: above local ids");
            assert!(id.0 < 1 << 53, "{node}: exact as a JavaScript number");
            assert_eq!(node_of(id), node_tag(node));
        }
    }

    #[test]
    fn a_tag_is_twenty_bits_never_zero_and_the_same_for_the_same_node() {
        for node in ["", "a", "b", "0123456789abcdef"] {
            let tag = node_tag(node);
            assert!((1..1 << 20).contains(&tag), "{node}: {tag}");
            assert_eq!(tag, node_tag(node));
        }
        assert_ne!(node_tag("a"), node_tag("b"));
        assert_eq!(node_of(ClientId(7)), 0, "a local id has no node tag");
        let id = remote_client("a", (1 << 40) | 9);
        assert_eq!(id.0 & 0xFFFF_FFFF, 9, "the connection's lower 32 bits");
        assert_eq!(node_of(id), node_tag("a"));
    }
}
