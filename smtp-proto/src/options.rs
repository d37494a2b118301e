//! Limits and policies, each with a documented default.

use std::time::Duration;

/// What to do with a bare CR or a bare LF inside DATA.
///
/// RFC 5321 §2.3.8: "Conforming implementations MUST NOT recognize or generate any other
/// character or character sequence as a line terminator. ... In addition, the
/// appearance of "bare" "CR" or "LF" characters in text (i.e., either without the other) has
/// a long history of causing problems in mail implementations and applications that use the
/// mail system as a tool." Whatever the policy, only `CRLF.CRLF` ends the data, so one DATA
/// never yields two messages (the SMTP smuggling family, CVE-2023-51764/5/6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum BareNewlinePolicy {
    /// Read the message up to `CRLF.CRLF`, then reject it with a 5xx reply. This is what
    /// Postfix's `smtpd_forbid_bare_newline = reject` does and is the default.
    #[default]
    Reject,
    /// Keep bare CR and bare LF as ordinary message content.
    Accept,
}

/// Limits for one SMTP session, client or server side.
///
/// Build with `Options::default()` and change fields; the struct is `#[non_exhaustive]` so
/// new limits can be added without breaking callers.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Options {
    /// Longest command line in octets, CRLF included. Default 512: RFC 5321 §4.5.3.1.4 "The
    /// maximum total length of a command line including the command word and the `<CRLF>` is
    /// 512 octets." Raise it when advertising extensions that add parameters (§4.5.3.1.4
    /// allows that); AUTH response lines use [`Options::max_auth_line`].
    pub max_command_line: usize,
    /// Longest text line (DATA line, reply line) in octets, CRLF included. Default 1000: RFC
    /// 5321 §4.5.3.1.6 "The maximum total length of a text line including the `<CRLF>` is 1000
    /// octets (not counting the leading dot duplicated for transparency)."
    pub max_text_line: usize,
    /// Longest AUTH initial response or SASL continuation line, CRLF included. Default
    /// 12288, as RFC 4954 §4 says a server must accept at least 12288 octets.
    pub max_auth_line: usize,
    /// Most recipients per transaction. Default 100: RFC 5321 §4.5.3.1.8 "The minimum total
    /// number of recipients that MUST be buffered is 100 recipients."
    pub max_recipients: usize,
    /// Largest message in octets after dot-unstuffing. Default 25 MiB, a common maximum
    /// email size; advertised as the EHLO `SIZE` parameter (RFC 1870).
    pub max_message_size: u64,
    /// Protocol errors (bad syntax, bad sequence) before the server answers 421 and closes.
    /// Default 20, as Postfix's `smtpd_hard_error_limit`.
    pub max_errors: u32,
    /// Most lines in one multi-line reply the client accepts. Default 100.
    pub max_reply_lines: usize,
    /// Input the server session buffers beyond one command (or SASL) line, and so the
    /// largest piece of message body it hands out at once. Default 64 KiB; the session
    /// refuses more input until the caller has polled its events (see
    /// [`crate::server::Server::input_room`]). The client uses it as slack for its reply
    /// buffer.
    pub max_chunk: usize,
    /// Bare CR / bare LF inside DATA. Default [`BareNewlinePolicy::Reject`].
    pub bare_newline: BareNewlinePolicy,
    /// How long the server waits for the client to complete a command line (or to send more
    /// message content) before it answers 421 and closes. A client that dribbles a line
    /// octet by octet gains nothing: only a complete line or a piece of content resets the
    /// deadline. Default 5 minutes: RFC 5321 §4.5.3.2.7 "An SMTP server SHOULD have a
    /// timeout of at least 5 minutes while it is awaiting the next command from the sender."
    pub idle_timeout: Duration,
    /// How long the client waits for a reply before it gives up. Default 5 minutes, the
    /// RFC 5321 §4.5.3.2 client timeouts for the greeting, MAIL, RCPT and most others.
    pub reply_timeout: Duration,
    /// How long the client waits for the reply to the end of the message. Default 10
    /// minutes: RFC 5321 §4.5.3.2.6 "DATA Termination: 10 Minutes."
    pub message_end_timeout: Duration,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            max_command_line: 512,
            max_text_line: 1000,
            max_auth_line: 12288,
            max_recipients: 100,
            max_message_size: 25 * 1024 * 1024,
            max_errors: 20,
            max_reply_lines: 100,
            max_chunk: 64 * 1024,
            bare_newline: BareNewlinePolicy::Reject,
            idle_timeout: Duration::from_secs(300),
            reply_timeout: Duration::from_secs(300),
            message_end_timeout: Duration::from_secs(600),
        }
    }
}
