//! `--redis-url`: a `redis://` URL, checked when parsed, whose password
//! never shows in logs or `Debug`.

use std::fmt;
use std::str::FromStr;

/// A `redis://` URL whose password never shows in logs or `Debug`.
#[derive(Clone)]
pub struct RedisUrl {
    /// As given, for connecting.
    pub(super) url: String,
    /// `redis://host:port/db`, for logs.
    redacted: String,
}

impl RedisUrl {
    /// The URL without user or password.
    pub fn redacted(&self) -> &str {
        &self.redacted
    }
}

impl fmt::Debug for RedisUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted)
    }
}

impl FromStr for RedisUrl {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        use redis::IntoConnectionInfo;
        let info = s
            .into_connection_info()
            .map_err(|_| "not a valid redis:// URL".to_string())?;
        let redacted = format!("redis://{}/{}", info.addr(), info.redis_settings().db());
        Ok(Self {
            url: s.to_string(),
            redacted,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_url_keeps_its_password_out_of_logs() {
        let url: RedisUrl = "redis://:hunter2@127.0.0.1:6380/2".parse().expect("valid");
        assert_eq!(url.redacted(), "redis://127.0.0.1:6380/2");
        assert_eq!(format!("{url:?}"), "redis://127.0.0.1:6380/2");
        assert!(!format!("{url:?}").contains("hunter2"));
        assert_eq!(
            url.url, "redis://:hunter2@127.0.0.1:6380/2",
            "kept for connecting"
        );
    }

    #[test]
    fn the_database_defaults_to_zero_and_junk_is_refused() {
        let url: RedisUrl = "redis://localhost:6379".parse().expect("valid");
        assert_eq!(url.redacted(), "redis://localhost:6379/0");
        for junk in [
            "",
            "localhost:6379",
            "http://localhost",
            "redis://host:port",
        ] {
            assert_eq!(
                junk.parse::<RedisUrl>().map(|u| u.redacted().to_owned()),
                Err("not a valid redis:// URL".to_string()),
                "{junk:?}"
            );
        }
    }
}
