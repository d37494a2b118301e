//! Limits, each with a documented default.

/// Limits the framing layer and the parsers enforce. Over a limit the peer gets a clear
/// protocol error (tagged `BAD`) and the session recovers; nothing is buffered without bound.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Options {
    /// Longest line, CRLF included, not counting literal data. Default 64 KiB, Dovecot's
    /// `imap_max_line_length`.
    pub max_line_length: usize,
    /// Largest literal accepted. Default 25 MiB, a common maximum message size.
    pub max_literal_size: u64,
    /// Largest non-synchronizing literal (`{n+}`). Default: no limit beyond
    /// `max_literal_size`. A server that advertises LITERAL- (RFC 7888) sets 4096.
    pub max_non_sync_literal_size: u64,
    /// Largest whole message: every line and literal of one command or response. Default
    /// 26 MiB, so a maximal literal still fits with its command line.
    pub max_message_size: usize,
    /// Literals longer than this are not buffered: the framer hands them out in chunks
    /// ([`crate::fragmentizer::FramingEvent::LiteralData`]), so a large APPEND needs bounded
    /// memory. Default 1 MiB.
    pub literal_stream_threshold: u64,
    /// Inactivity after which an authenticated session is logged out. Default 30 minutes,
    /// the least RFC 9051 §5.4 allows for an autologout timer after authentication.
    pub idle_timeout: std::time::Duration,
    /// Inactivity after which a session that has not authenticated is closed. Default 60 s.
    pub unauthenticated_timeout: std::time::Duration,
    /// Refused commands in a row (malformed, oversized, wrong state) after which the server
    /// session says BYE and ends. Default 20.
    pub max_bad_commands: usize,
    /// Deepest nesting of parenthesised lists and `NOT`/`OR` search keys. Default 64, so that
    /// an `OR` chain of 32 terms, which nests 31 deep, parses.
    pub max_nesting_depth: usize,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            max_line_length: 64 * 1024,
            max_literal_size: 25 * 1024 * 1024,
            max_non_sync_literal_size: u64::MAX,
            max_message_size: 26 * 1024 * 1024,
            literal_stream_threshold: 1024 * 1024,
            idle_timeout: std::time::Duration::from_secs(30 * 60),
            unauthenticated_timeout: std::time::Duration::from_secs(60),
            max_bad_commands: 20,
            max_nesting_depth: 64,
        }
    }
}
