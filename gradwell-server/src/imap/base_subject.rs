//! The base subject of RFC 5256 §2.1, which SORT (SUBJECT) and THREAD compare, and whether
//! the subject marked a reply or forward, which THREAD=REFERENCES uses to merge threads.

/// A subject reduced to its base, in lower case (SORT compares with i;ascii-casemap).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct BaseSubject {
    /// The base subject.
    pub(super) text: String,
    /// Extraction removed a `Re:`/`Fw:`/`Fwd:` leader, a `(fwd)` trailer or a `[fwd: …]`
    /// wrapper: RFC 5256 §3 (REFERENCES) calls such a message a reply or forward.
    pub(super) reply: bool,
}

/// `subj-blob = "[" *BLOBCHAR "]" *WSP`: its length at the start of `s`.
fn blob_len(s: &str) -> Option<usize> {
    let rest = s.strip_prefix('[')?;
    // BLOBCHAR = %x01-5a / %x5c / %x5e-ff: anything but "[" and "]".
    let end = rest.find(['[', ']'])?;
    let after = rest.get(end..)?.strip_prefix(']')?;
    let spaces = after.len() - after.trim_start_matches(' ').len();
    Some(1 + end + 1 + spaces)
}

/// `subj-refwd = ("re" / ("fw" ["d"])) *WSP [subj-blob] ":"`: its length at the start.
fn refwd_len(s: &str) -> Option<usize> {
    ["re", "fwd", "fw"].iter().find_map(|word| {
        let rest = s.strip_prefix(word)?.trim_start_matches(' ');
        let rest = match blob_len(rest) {
            Some(n) => rest.get(n..)?,
            None => rest,
        };
        let rest = rest.strip_prefix(':')?;
        Some(s.len() - rest.len())
    })
}

/// `subj-leader = (*subj-blob subj-refwd) / WSP`: its length, and whether it held a
/// subj-refwd.
fn leader_len(s: &str) -> Option<(usize, bool)> {
    if s.starts_with(' ') {
        return Some((1, false));
    }
    let mut at = 0;
    loop {
        let rest = s.get(at..)?;
        if let Some(n) = refwd_len(rest) {
            return Some((at + n, true));
        }
        at += blob_len(rest)?;
    }
}

/// RFC 5256 §2.1, steps (1) to (7). Step (1)'s decoding of encoded-words is left to the
/// header reader; here whitespace runs become one space.
pub(super) fn extract(subject: &str) -> BaseSubject {
    let mut s = subject
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_ascii_lowercase();
    let mut reply = false;
    loop {
        // (2) "Remove all trailing text of the subject that matches the subj-trailer ABNF;
        // repeat until no more matches are possible." subj-trailer = "(fwd)" / WSP.
        loop {
            if let Some(rest) = s.strip_suffix("(fwd)") {
                s.truncate(rest.len());
                reply = true;
            } else if s.ends_with(' ') {
                s.pop();
            } else {
                break;
            }
        }
        // (5) "Repeat (3) and (4) until no matches remain."
        loop {
            // (3) "Remove all prefix text of the subject that matches the subj-leader ABNF."
            if let Some((n, refwd)) = leader_len(&s) {
                s.drain(..n);
                reply |= refwd;
                continue;
            }
            // (4) "If there is prefix text of the subject that matches the subj-blob ABNF,
            // and removing that prefix leaves a non-empty subj-base, then remove the prefix
            // text."
            match blob_len(&s) {
                Some(n) if s.get(n..).is_some_and(|rest| !rest.trim().is_empty()) => {
                    s.drain(..n);
                }
                _ => break,
            }
        }
        // (6) "If the resulting text begins with the subj-fwd-hdr ABNF and ends with the
        // subj-fwd-trl ABNF, remove the subj-fwd-hdr and subj-fwd-trl and repeat from
        // step (2)." subj-fwd-hdr = "[fwd:", subj-fwd-trl = "]".
        match s.strip_prefix("[fwd:").and_then(|r| r.strip_suffix(']')) {
            Some(inner) => {
                s = inner.to_owned();
                reply = true;
            }
            // (7) "The resulting text is the "base subject" used in the SORT."
            None => return BaseSubject { text: s, reply },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_answers() {
        let table: &[(&str, &str, bool)] = &[
            ("plain", "plain", false),
            ("Re: [list] Fwd: Hello  World (fwd)", "hello world", true),
            ("[fwd: Re: hi]", "hi", true),
            ("[Fwd: [list] lunch] (fwd)", "lunch", true),
            ("RE [tag] : x", "x", true),
            ("Fwd:x", "x", true),
            ("fw: fw: x", "x", true),
            ("[list] news", "news", false),
            ("[list]", "[list]", false),
            ("[a][b] Re: c", "c", true),
            ("Reply: x", "reply: x", false),
            ("Re:", "", true),
            ("  \t spaced \r\n out  ", "spaced out", false),
            ("Grüße", "grüße", false),
        ];
        for (subject, base, reply) in table {
            assert_eq!(
                extract(subject),
                BaseSubject {
                    text: (*base).to_owned(),
                    reply: *reply
                },
                "{subject:?}"
            );
        }
    }
}
