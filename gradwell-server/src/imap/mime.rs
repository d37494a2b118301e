//! A message's MIME tree as byte ranges (RFC 2045, RFC 2046), for BODYSTRUCTURE and
//! `BODY[section]`. Work is bounded on hostile input: nesting deeper than [`MAX_DEPTH`] and
//! parts beyond [`MAX_PARTS`] are not split further, and header scanning is linear.

use std::ops::Range;

/// Deepest multipart or message/rfc822 nesting that is split into parts.
pub const MAX_DEPTH: usize = 64;
/// Most parts split out of one message.
pub const MAX_PARTS: usize = 5000;

/// What a part contains.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    /// A leaf.
    Leaf,
    /// `multipart/*`: its parts in order.
    Multi(Vec<Part>),
    /// `message/rfc822` (or `message/global`): the encapsulated message as a whole entity.
    Message(Box<Part>),
}

/// One entity: a whole message, or a body part.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part {
    /// The header block, blank line included.
    pub header: Range<usize>,
    /// The body.
    pub body: Range<usize>,
    /// Media type, lower case (default `text`).
    pub media_type: String,
    /// Subtype, lower case (default `plain`).
    pub subtype: String,
    /// Content-Type parameters, names lower case.
    pub params: Vec<(String, String)>,
    /// Content-ID.
    pub id: Option<String>,
    /// Content-Description.
    pub description: Option<String>,
    /// Content-Transfer-Encoding (default `7BIT`).
    pub encoding: Option<String>,
    /// Content-MD5.
    pub md5: Option<String>,
    /// Content-Disposition: value and parameters.
    pub disposition: Option<(String, Vec<(String, String)>)>,
    /// Content-Language.
    pub language: Option<String>,
    /// Content-Location.
    pub location: Option<String>,
    /// Lines in the body.
    pub lines: u64,
    /// Children.
    pub kind: Kind,
}

/// Where the header block of `data` ends (just past the blank line), or its length.
pub fn header_end(data: &[u8]) -> usize {
    let mut start = 0;
    while start < data.len() {
        let end = memchr_nl(&data[start..]).map_or(data.len(), |i| start + i + 1);
        let line = &data[start..end];
        if line == b"\r\n" || line == b"\n" {
            return end;
        }
        start = end;
    }
    data.len()
}

fn memchr_nl(data: &[u8]) -> Option<usize> {
    data.iter().position(|b| *b == b'\n')
}

/// The header fields of a block, unfolded: (name, value) in order.
pub fn fields(header: &[u8]) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for line in header.split(|b| *b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.is_empty() {
            continue;
        }
        if line[0] == b' ' || line[0] == b'\t' {
            if let Some((_, value)) = out.last_mut() {
                value.push(' ');
                value.push_str(String::from_utf8_lossy(line).trim());
            }
            continue;
        }
        if let Some(colon) = line.iter().position(|b| *b == b':') {
            let name = String::from_utf8_lossy(&line[..colon]).trim().to_owned();
            let value = String::from_utf8_lossy(&line[colon + 1..])
                .trim()
                .to_owned();
            out.push((name, value));
        }
    }
    out
}

/// The first field called `name`.
pub fn field<'a>(fields: &'a [(String, String)], name: &str) -> Option<&'a str> {
    fields
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// `value; a=b; c="d"` → (`value`, [(a, b), (c, d)]).
pub fn split_params(value: &str) -> (String, Vec<(String, String)>) {
    let mut pieces = Vec::new();
    let mut current = String::new();
    let (mut quoted, mut escaped) = (false, false);
    for c in value.chars() {
        if escaped {
            current.push(c);
            escaped = false;
        } else if quoted && c == '\\' {
            escaped = true;
        } else if c == '"' {
            quoted = !quoted;
        } else if c == ';' && !quoted {
            pieces.push(std::mem::take(&mut current));
        } else {
            current.push(c);
        }
    }
    pieces.push(current);
    let mut it = pieces.into_iter();
    let head = it.next().unwrap_or_default().trim().to_owned();
    let params = it
        .filter_map(|p| {
            let (k, v) = p.split_once('=')?;
            let k = k.trim().to_ascii_lowercase();
            (!k.is_empty()).then(|| (k, v.trim().to_owned()))
        })
        .collect();
    (head, params)
}

fn count_lines(body: &[u8]) -> u64 {
    let n = body.iter().filter(|b| **b == b'\n').count() as u64;
    if body.last().is_some_and(|b| *b != b'\n') {
        n + 1
    } else {
        n
    }
}

/// Parses the entity at `range` of `data`. `digest` makes the default type message/rfc822
/// (RFC 2046 §5.1.5).
pub fn parse(data: &[u8]) -> Part {
    let mut budget = MAX_PARTS;
    entity(data, 0..data.len(), false, 0, &mut budget)
}

fn entity(
    data: &[u8],
    range: Range<usize>,
    digest: bool,
    depth: usize,
    budget: &mut usize,
) -> Part {
    let slice = &data[range.clone()];
    let h_end = range.start + header_end(slice);
    let header = range.start..h_end;
    let body = h_end..range.end;
    let fields = fields(&data[header.clone()]);
    let (media_type, subtype, params) = match field(&fields, "Content-Type") {
        Some(ct) => {
            let (head, params) = split_params(ct);
            match head.split_once('/') {
                Some((t, s)) if !t.trim().is_empty() && !s.trim().is_empty() => (
                    t.trim().to_ascii_lowercase(),
                    s.trim().to_ascii_lowercase(),
                    params,
                ),
                _ => default_type(digest),
            }
        }
        None => default_type(digest),
    };
    let disposition = field(&fields, "Content-Disposition").map(|v| {
        let (head, params) = split_params(v);
        (head.to_ascii_lowercase(), params)
    });
    let take = |name| field(&fields, name).map(str::to_owned);
    let mut part = Part {
        lines: count_lines(&data[body.clone()]),
        header,
        body: body.clone(),
        id: take("Content-ID"),
        description: take("Content-Description"),
        encoding: take("Content-Transfer-Encoding"),
        md5: take("Content-MD5"),
        language: take("Content-Language"),
        location: take("Content-Location"),
        disposition,
        kind: Kind::Leaf,
        media_type,
        subtype,
        params,
    };
    if depth >= MAX_DEPTH || *budget == 0 {
        return part;
    }
    if part.media_type == "multipart" {
        let boundary = part
            .params
            .iter()
            .find(|(k, _)| k == "boundary")
            .map(|(_, v)| v.clone());
        if let Some(boundary) = boundary.filter(|b| !b.is_empty()) {
            let digest = part.subtype == "digest";
            let children: Vec<Part> = split_multipart(data, body, boundary.as_bytes())
                .into_iter()
                .take(*budget)
                .map(|r| {
                    *budget = budget.saturating_sub(1);
                    entity(data, r, digest, depth + 1, budget)
                })
                .collect();
            if !children.is_empty() {
                part.kind = Kind::Multi(children);
            }
        }
    } else if part.media_type == "message" && (part.subtype == "rfc822" || part.subtype == "global")
    {
        *budget = budget.saturating_sub(1);
        part.kind = Kind::Message(Box::new(entity(data, body, false, depth + 1, budget)));
    }
    part
}

fn default_type(digest: bool) -> (String, String, Vec<(String, String)>) {
    if digest {
        ("message".into(), "rfc822".into(), Vec::new())
    } else {
        (
            "text".into(),
            "plain".into(),
            vec![("charset".into(), "us-ascii".into())],
        )
    }
}

/// The body ranges between `--boundary` lines; the line break before a delimiter belongs
/// to the delimiter (RFC 2046 §5.1.1).
fn split_multipart(data: &[u8], body: Range<usize>, boundary: &[u8]) -> Vec<Range<usize>> {
    let mut parts = Vec::new();
    let mut start_of_part: Option<usize> = None;
    let mut line_start = body.start;
    while line_start < body.end {
        let line_end =
            memchr_nl(&data[line_start..body.end]).map_or(body.end, |i| line_start + i + 1);
        let line = &data[line_start..line_end];
        if let Some(rest) = line.strip_prefix(b"--")
            && let Some(after) = rest.strip_prefix(boundary)
        {
            let closing = after.starts_with(b"--");
            let tail = if closing { &after[2..] } else { after };
            if tail.iter().all(|b| b.is_ascii_whitespace()) {
                if let Some(s) = start_of_part {
                    // Drop the CRLF (or LF) that precedes this delimiter line.
                    let mut end = line_start;
                    if end > s && data[end - 1] == b'\n' {
                        end -= 1;
                        if end > s && data[end - 1] == b'\r' {
                            end -= 1;
                        }
                    }
                    parts.push(s..end.max(s));
                }
                if closing {
                    return parts;
                }
                start_of_part = Some(line_end);
            }
        }
        line_start = line_end;
    }
    if let Some(s) = start_of_part {
        parts.push(s..body.end);
    }
    parts
}

/// The part a section path names (RFC 3501 §6.4.5): part 1 of a non-multipart is itself;
/// below a message/rfc822 part the numbers go into the encapsulated message.
pub fn find<'a>(root: &'a Part, path: &[u32]) -> Option<&'a Part> {
    let mut cur = root;
    for (i, k) in path.iter().enumerate() {
        if i > 0
            && let Kind::Message(inner) = &cur.kind
        {
            cur = inner;
        }
        match &cur.kind {
            Kind::Multi(children) => cur = children.get((*k as usize).checked_sub(1)?)?,
            _ if *k == 1 => {}
            _ => return None,
        }
    }
    Some(cur)
}

/// The header lines of `header` whose names are (or, with `not`, are not) in `names`, then
/// the blank line (RFC 3501 §6.4.5 HEADER.FIELDS).
pub fn header_fields(header: &[u8], names: &[&[u8]], not: bool) -> Vec<u8> {
    select_fields(header, |name| {
        name.is_some_and(|name| {
            let listed = names
                .iter()
                .any(|n| n.eq_ignore_ascii_case(name.trim_ascii()));
            listed != not
        })
    })
}

/// The lines of `header` whose field `keep` accepts (given its name, or `None` for lines
/// before the first field), with their continuation lines, in order, then the blank line.
pub fn select_fields(header: &[u8], keep: impl Fn(Option<&[u8]>) -> bool) -> Vec<u8> {
    let mut out = Vec::new();
    let mut keeping = keep(None);
    let mut start = 0;
    while start < header.len() {
        let end = memchr_nl(&header[start..]).map_or(header.len(), |i| start + i + 1);
        let line = &header[start..end];
        start = end;
        if line == b"\r\n" || line == b"\n" {
            break;
        }
        if line[0] != b' ' && line[0] != b'\t' {
            let name = line
                .iter()
                .position(|b| *b == b':')
                .map_or(&line[..0], |c| &line[..c]);
            keeping = keep(Some(name));
        }
        if keeping {
            out.extend_from_slice(line);
        }
    }
    out.extend_from_slice(b"\r\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const MULTI: &[u8] = b"Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\npreamble\r\n--b\r\nContent-Type: text/plain\r\n\r\nline1\r\nline2\r\n--b\r\nContent-Type: message/rfc822\r\n\r\nSubject: inner\r\n\r\ninner body\r\n--b--\r\n";

    #[test]
    fn multipart_known_answer() {
        let root = parse(MULTI);
        let Kind::Multi(children) = &root.kind else {
            panic!("multipart expected")
        };
        assert_eq!(children.len(), 2);
        assert_eq!(&MULTI[children[0].body.clone()], b"line1\r\nline2");
        assert_eq!(children[0].lines, 2);
        let inner = find(&root, &[2, 1]).unwrap(); // Unwrap: the path exists.
        assert_eq!(&MULTI[inner.body.clone()], b"inner body");
        assert!(find(&root, &[3]).is_none());
        assert!(matches!(
            find(&root, &[2]).map(|p| &p.kind),
            Some(Kind::Message(_))
        ));
    }

    #[test]
    fn single_part_is_part_one() {
        let msg = b"Subject: x\r\n\r\nbody\r\n";
        let root = parse(msg);
        assert_eq!(find(&root, &[1]), Some(&root));
        assert_eq!(root.media_type, "text");
        assert_eq!(&msg[root.body.clone()], b"body\r\n");
    }

    #[test]
    fn hostile_nesting_is_bounded() {
        let mut msg = Vec::new();
        for _ in 0..10_000 {
            msg.extend_from_slice(b"Content-Type: message/rfc822\r\n\r\n");
        }
        msg.extend_from_slice(b"x");
        let root = parse(&msg);
        let mut depth = 0;
        let mut cur = &root;
        while let Kind::Message(inner) = &cur.kind {
            depth += 1;
            cur = inner;
        }
        assert_eq!(depth, MAX_DEPTH);
    }

    #[test]
    fn header_fields_known_answer() {
        let h = b"From: a\r\nSubject: s\r\n  folded\r\nDate: d\r\n\r\n";
        assert_eq!(
            header_fields(h, &[b"subject"], false),
            b"Subject: s\r\n  folded\r\n\r\n"
        );
        assert_eq!(
            header_fields(h, &[b"subject", b"date"], true),
            b"From: a\r\n\r\n"
        );
    }

    #[test]
    fn params_known_answer() {
        let (v, p) = split_params("attachment; filename=\"a;b.txt\"; size=3");
        assert_eq!(v, "attachment");
        assert_eq!(
            p,
            vec![
                ("filename".into(), "a;b.txt".into()),
                ("size".into(), "3".into())
            ]
        );
    }
}
