//! The addresses in a message's `From:` header fields (RFC 5322 §3.6.2), for the check that
//! a submitted message does not claim another author.

/// The header block: everything before the first empty line (or all of `head`).
fn header_block(head: &[u8]) -> &[u8] {
    let end = memchr_blank_line(head).unwrap_or(head.len());
    &head[..end]
}

fn memchr_blank_line(head: &[u8]) -> Option<usize> {
    let crlf = head.windows(4).position(|w| w == b"\r\n\r\n");
    let lf = head.windows(2).position(|w| w == b"\n\n");
    match (crlf, lf) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// The unfolded value of every `From:` field in the header of `head`.
pub fn from_fields(head: &[u8]) -> Vec<String> {
    let text = String::from_utf8_lossy(header_block(head));
    let mut fields: Vec<String> = Vec::new();
    let mut current: Option<String> = None;
    for line in text.split('\n') {
        let line = line.strip_suffix('\r').unwrap_or(line);
        if line.starts_with([' ', '\t']) {
            // RFC 5322 §2.2.3: a folded continuation of the previous field.
            if let Some(c) = &mut current {
                c.push_str(line);
            }
            continue;
        }
        if let Some(done) = current.take() {
            fields.push(done);
        }
        if let Some((name, value)) = line.split_once(':')
            && name.trim_end().eq_ignore_ascii_case("from")
        {
            current = Some(value.to_owned());
        }
    }
    fields.extend(current);
    fields
}

/// The addr-specs of a mailbox list: the part inside `<…>`, or the bare address, with
/// comments, quoted display names and group names skipped.
pub fn addresses(value: &str) -> Vec<String> {
    #[derive(Default)]
    struct Part {
        bare: String,
        inside: Option<String>,
        bracketed: Option<String>,
    }
    let mut out = Vec::new();
    let mut part = Part::default();
    let finish = |part: &mut Part, out: &mut Vec<String>| {
        let taken = std::mem::take(part);
        let address = taken.bracketed.unwrap_or(taken.bare);
        let address = address.trim();
        if !address.is_empty() {
            out.push(address.to_owned());
        }
    };
    let (mut quoted, mut depth, mut escaped) = (false, 0u32, false);
    for c in value.chars() {
        let in_angle = part.inside.is_some();
        let target = part.inside.as_mut().unwrap_or(&mut part.bare);
        if escaped {
            escaped = false;
            target.push(c);
            continue;
        }
        match c {
            '\\' if quoted || depth > 0 => escaped = true,
            '"' if depth == 0 => {
                quoted = !quoted;
                target.push(c);
            }
            _ if quoted => target.push(c),
            '(' => depth += 1,
            ')' if depth > 0 => depth -= 1,
            _ if depth > 0 => {}
            '<' => part.inside = Some(String::new()),
            '>' => part.bracketed = part.inside.take(),
            // A group name ends with ':'; its list ends with ';'.
            ':' if !in_angle => target.clear(),
            ',' | ';' if !in_angle => finish(&mut part, &mut out),
            _ => target.push(c),
        }
    }
    finish(&mut part, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn from_fields_unfold_and_stop_at_the_body() {
        let m = b"Subject: x\r\nFROM: Alice\r\n <alice@example.test>\r\nTo: b@c\r\n\r\nFrom: body@x\r\n";
        assert_eq!(from_fields(m), [" Alice <alice@example.test>"]);
        let two = b"From: a@x\r\nFrom: b@y\r\n\r\n";
        assert_eq!(from_fields(two).len(), 2);
        assert!(from_fields(b"To: x\r\n").is_empty());
    }

    #[test]
    fn address_forms() {
        let cases: &[(&str, &[&str])] = &[
            ("alice@example.test", &["alice@example.test"]),
            (" Alice <alice@example.test>", &["alice@example.test"]),
            (
                "\"Bob, <evil@x>\" <bob@example.test>",
                &["bob@example.test"],
            ),
            ("a@x (Comment, <c@d>), B <b@y>", &["a@x", "b@y"]),
            ("Team: a@x, b@y;", &["a@x", "b@y"]),
        ];
        for (value, want) in cases {
            assert_eq!(addresses(value), *want, "{value}");
        }
    }
}
