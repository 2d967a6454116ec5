//! What the tests take from their environment: the PostgreSQL and Redis
//! that `cargo xtask test` (or `cargo xtask services -- …`) provides, and
//! the key in a share link.

/// The PostgreSQL server the cluster and PostgreSQL tests use (an admin URL:
/// each test creates its own database there).
pub const DATABASE_URL_ENV: &str = "TANDEM_TEST_DATABASE_URL";

/// The Redis the cluster tests use.
pub const REDIS_URL_ENV: &str = "TANDEM_TEST_REDIS_URL";

/// The value of `var`; fails the test (never skips it) when it is not set,
/// saying how to get it.
pub fn required(var: &str) -> String {
    std::env::var(var).unwrap_or_else(|_| {
        panic!(
            "{var} is not set: this test needs the PostgreSQL and Redis that `cargo xtask test` \
             provides (or `cargo xtask services -- cargo test …`)"
        )
    })
}

/// The share key in a link's fragment (`…/d/{room}#key=e.…`); fails the
/// test when the link carries none.
pub fn key_of(link: &str) -> String {
    match link
        .split_once('#')
        .and_then(|(_, fragment)| fragment.strip_prefix("key="))
    {
        Some(key) if !key.is_empty() => key.to_owned(),
        _ => panic!("the share link {link} carries no #key=…"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_share_links_key_is_its_fragment() {
        assert_eq!(
            key_of("http://127.0.0.1:8080/d/notes#key=e.AAAAAAAAAAAAAAAAAAAAAA"),
            "e.AAAAAAAAAAAAAAAAAAAAAA"
        );
    }

    #[test]
    #[should_panic(expected = "carries no #key=")]
    fn a_link_without_a_key_fails_the_test() {
        key_of("http://127.0.0.1:8080/d/notes");
    }
}
