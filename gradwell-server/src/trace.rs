//! Protocol traces (`protocol_trace = true`, or `gradwell log-level
//! info,gradwell_server::trace=debug`): every line a client sends (`C:`) and the server
//! answers (`S:`), logged at debug level inside the session's span, with credentials
//! redacted: the arguments of `AUTH`/`AUTHENTICATE`, `LOGIN`, `USER`/`PASS`, the literals
//! that follow such a command, and bare base64 lines (SASL responses).

use std::sync::atomic::{AtomicBool, Ordering};

static ENABLED: AtomicBool = AtomicBool::new(false);

/// The longest part of a line logged; the rest is counted, not shown.
const LINE_MAX: usize = 200;

/// Turns tracing on or off for every session (config `protocol_trace`, re-read on reload).
pub fn set_enabled(on: bool) {
    ENABLED.store(on, Ordering::Relaxed);
}

/// Whether sessions trace.
pub fn enabled() -> bool {
    ENABLED.load(Ordering::Relaxed)
        && tracing::enabled!(target: "gradwell_server::trace", tracing::Level::DEBUG)
}

/// One session's trace state: whether the next client line continues a credential.
#[derive(Debug, Default)]
pub struct Tracer {
    redact_next: bool,
}

/// Commands whose arguments are credentials.
const SECRET_COMMANDS: [&str; 5] = ["AUTH", "AUTHENTICATE", "LOGIN", "PASS", "USER"];

impl Tracer {
    /// Logs what the client sent.
    pub fn client(&mut self, bytes: &[u8]) {
        for line in lines(bytes) {
            let shown = self.redact(line);
            tracing::debug!(target: "gradwell_server::trace", "C: {shown}");
        }
    }

    /// Logs what the server sent.
    pub fn server(&self, bytes: &[u8]) {
        for line in lines(bytes) {
            tracing::debug!(target: "gradwell_server::trace", "S: {}", shorten(line));
        }
    }

    /// The line as it may be logged.
    pub fn redact(&mut self, line: &[u8]) -> String {
        let text = String::from_utf8_lossy(line);
        let continues = self.redact_next;
        self.redact_next = false;
        let words: Vec<&str> = text.split_ascii_whitespace().collect();
        // IMAP puts a tag first; SMTP and POP3 do not.
        let secret_at = words
            .iter()
            .take(2)
            .position(|w| SECRET_COMMANDS.iter().any(|c| w.eq_ignore_ascii_case(c)));
        let ends_in_literal = text.trim_end().ends_with('}');
        if continues || secret_at.is_some() {
            self.redact_next = ends_in_literal;
        }
        if continues {
            return "<redacted>".to_owned();
        }
        if let Some(at) = secret_at {
            let keep = at
                + 1
                + usize::from(words.get(at).is_some_and(|w| {
                    w.eq_ignore_ascii_case("AUTH") || w.eq_ignore_ascii_case("AUTHENTICATE")
                }));
            let mut shown = shorten(words[..keep.min(words.len())].join(" ").as_bytes());
            if words.len() > keep {
                shown.push_str(" <redacted>");
            }
            return shown;
        }
        if looks_like_base64(text.trim_end()) {
            return "<redacted>".to_owned();
        }
        shorten(line)
    }
}

/// A SASL response line: only base64 characters (and `*`, the cancel), no space.
fn looks_like_base64(s: &str) -> bool {
    !s.is_empty()
        && s.len() >= 4
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'='))
}

fn lines(bytes: &[u8]) -> impl Iterator<Item = &[u8]> {
    bytes
        .split(|&b| b == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
        .filter(|l| !l.is_empty())
}

fn shorten(line: &[u8]) -> String {
    let shown = &line[..line.len().min(LINE_MAX)];
    let mut s = String::from_utf8_lossy(shown).into_owned();
    if line.len() > LINE_MAX {
        s.push_str(&format!("… ({} octets)", line.len()));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_are_redacted() {
        let mut t = Tracer::default();
        assert_eq!(t.redact(b"a1 LOGIN alice secret"), "a1 LOGIN <redacted>");
        assert_eq!(t.redact(b"PASS hunter2"), "PASS <redacted>");
        assert_eq!(t.redact(b"USER alice"), "USER <redacted>");
        assert_eq!(
            t.redact(b"AUTH PLAIN AGFsaWNlAHB3"),
            "AUTH PLAIN <redacted>"
        );
        assert_eq!(t.redact(b"a2 AUTHENTICATE PLAIN"), "a2 AUTHENTICATE PLAIN");
        assert_eq!(t.redact(b"AGFsaWNlAHB3"), "<redacted>");
        // A literal after LOGIN is the user name or password: redacted.
        assert_eq!(t.redact(b"a3 LOGIN {5}"), "a3 LOGIN <redacted>");
        assert_eq!(t.redact(b"alice {6}"), "<redacted>");
        assert_eq!(t.redact(b"secret"), "<redacted>");
        assert_eq!(t.redact(b"a4 NOOP"), "a4 NOOP");
        assert_eq!(t.redact(b"MAIL FROM:<a@b>"), "MAIL FROM:<a@b>");
    }

    #[test]
    fn long_lines_are_cut() {
        let long = vec![b'x'; 1000];
        let s = Tracer::default().redact(&[b"a ".as_slice(), &long].concat());
        assert!(s.ends_with("(1002 octets)"), "{s}");
        let s = Tracer::default().redact(&[&long, b" LOGIN a b".as_slice()].concat());
        assert!(s.ends_with("octets) <redacted>"), "{s}");
    }
}
