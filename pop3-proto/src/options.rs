//! [`Options`]: every limit the codec and the state machines enforce, with its default.

use std::time::Duration;

/// Limits and switches for the decoders and the [`Server`](crate::Server) and
/// [`Client`](crate::Client) state machines.
///
/// Build one with `Options::default()` and change fields; the struct is
/// `#[non_exhaustive]` so new limits can be added without breaking callers.
///
/// ```
/// let mut options = pop3_proto::Options::default();
/// options.max_bad_commands = 3;
/// assert_eq!(options.max_command_line, 255);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Options {
    /// Longest command line a server accepts, CRLF included. Default **255**.
    ///
    /// RFC 2449 §4: "The maximum length of a command is increased from 47 characters
    /// (4 character command, single space, 40 character argument, CRLF) to 255 octets,
    /// including the terminating CRLF."
    pub max_command_line: usize,
    /// Longest `AUTH` command line and SASL client response line, CRLF included. Default
    /// **8192**: SASL data (GSSAPI tokens, SCRAM proofs) is larger than ordinary arguments.
    pub max_auth_line: usize,
    /// Longest response line a client accepts (status lines, listing lines, CAPA lines), CRLF
    /// included. Default **512**.
    ///
    /// RFC 2449 §4: "The maximum length of the first line of a command response (including
    /// the initial greeting) is unchanged at 512 octets (including the terminating CRLF)."
    pub max_response_line: usize,
    /// Longest SASL challenge line (`+ base64`) a client accepts, CRLF included. Default **8192**.
    pub max_challenge_line: usize,
    /// Highest message number either side accepts. Default **10 000 000**: far above any real
    /// maildrop, far below where counters misbehave. Zero is never a message number.
    pub max_message_number: u32,
    /// Most entries a client collects from one `LIST` or `UIDL` listing. Default **1 000 000**.
    pub max_listing_entries: usize,
    /// Most lines a client collects from one `CAPA` or `LANG` listing. Default **256**.
    pub max_capability_lines: usize,
    /// Most invalid commands (syntax errors, over-long lines, commands in the wrong state) a
    /// server answers with `-ERR` before it closes the session. Default **10**.
    pub max_bad_commands: u32,
    /// Most bytes either state machine holds unprocessed. `handle_input` takes no more than
    /// this; the caller feeds the rest after draining events. Default **65 536**.
    pub max_buffered_input: usize,
    /// Server only: how long the server waits for the client before it closes the session
    /// (see [`Server::handle_timeout`](crate::Server::handle_timeout)). Default **10 minutes**.
    ///
    /// RFC 1939 §3: "A POP3 server MAY have an inactivity autologout timer. Such a timer MUST
    /// be of at least 10 minutes' duration."
    pub idle_timeout: Duration,
    /// Client only: send commands back to back before the server has announced `PIPELINING`
    /// in its `CAPA` response. Default **false**: without it, one command is in flight at a
    /// time, as RFC 1939 clients do.
    pub assume_pipelining: bool,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            max_command_line: 255,
            max_auth_line: 8192,
            max_response_line: 512,
            max_challenge_line: 8192,
            max_message_number: 10_000_000,
            max_listing_entries: 1_000_000,
            max_capability_lines: 256,
            max_bad_commands: 10,
            max_buffered_input: 65_536,
            idle_timeout: Duration::from_secs(600),
            assume_pipelining: false,
        }
    }
}
