//! Modified UTF-7 (RFC 3501 §5.1.3), the encoding Dovecot uses for folder names on disk.
//!
//! Decoding is strict: a spelling is accepted only if encoding its result gives the same
//! bytes back, so one folder has exactly one on-disk name (no `&AGEAYgBj-` for `abc`).

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";

/// Encodes Unicode text: printable ASCII stays, `&` becomes `&-`, the rest is base64 of
/// UTF-16 between `&` and `-`.
pub fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut pending: Vec<u16> = Vec::new();
    for c in text.chars() {
        if (' '..='~').contains(&c) {
            flush(&mut pending, &mut out);
            out.push(c);
            if c == '&' {
                out.push('-');
            }
        } else {
            let mut buf = [0u16; 2];
            pending.extend_from_slice(c.encode_utf16(&mut buf));
        }
    }
    flush(&mut pending, &mut out);
    out
}

fn flush(units: &mut Vec<u16>, out: &mut String) {
    if units.is_empty() {
        return;
    }
    out.push('&');
    let bytes: Vec<u8> = units.iter().flat_map(|u| u.to_be_bytes()).collect();
    let mut acc: u32 = 0;
    let mut bits = 0;
    for b in bytes {
        acc = (acc << 8) | u32::from(b);
        bits += 8;
        while bits >= 6 {
            bits -= 6;
            out.push(char::from(ALPHABET[((acc >> bits) & 63) as usize]));
        }
    }
    if bits > 0 {
        out.push(char::from(ALPHABET[((acc << (6 - bits)) & 63) as usize]));
    }
    out.push('-');
    units.clear();
}

fn sextet(c: u8) -> Option<u32> {
    ALPHABET.iter().position(|&a| a == c).map(|p| p as u32)
}

/// Decodes a canonical modified-UTF-7 string, or `None` for anything malformed or
/// non-canonical.
pub fn decode(encoded: &str) -> Option<String> {
    let mut out = String::with_capacity(encoded.len());
    let mut rest = encoded.as_bytes();
    while let Some((&first, tail)) = rest.split_first() {
        rest = tail;
        if first != b'&' {
            if !(0x20..=0x7e).contains(&first) {
                return None;
            }
            out.push(char::from(first));
            continue;
        }
        let end = rest.iter().position(|&b| b == b'-')?;
        let (chunk, after) = rest.split_at(end);
        rest = after.get(1..)?;
        if chunk.is_empty() {
            out.push('&');
            continue;
        }
        let mut acc: u32 = 0;
        let mut bits = 0;
        let mut units = Vec::new();
        for &c in chunk {
            acc = (acc << 6) | sextet(c)?;
            bits += 6;
            if bits >= 16 {
                bits -= 16;
                units.push(((acc >> bits) & 0xffff) as u16);
            }
        }
        out.push_str(&String::from_utf16(&units).ok()?);
    }
    (encode(&out) == encoded).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_answers() {
        let table = [
            ("Bücher", "B&APw-cher"),
            ("a&b", "a&-b"),
            ("日本語", "&ZeVnLIqe-"),
            ("plain", "plain"),
            ("~peter/mail/台北/日本語", "~peter/mail/&U,BTFw-/&ZeVnLIqe-"),
            ("😀", "&2D3eAA-"),
        ];
        for (text, wire) in table {
            assert_eq!(encode(text), wire, "{text}");
            assert_eq!(decode(wire).as_deref(), Some(text), "{wire}");
        }
    }

    #[test]
    fn rejects_non_canonical_and_malformed() {
        for bad in [
            "&AGEAYgBj-",
            "&",
            "&AC4ALgAv",
            "a\u{1}b",
            "&Jjo!-",
            "&AGE-&AGI-",
            "&2D0-",
        ] {
            assert_eq!(decode(bad), None, "{bad:?}");
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]
        #[test]
        fn round_trip(s in "\\PC{0,20}") {
            proptest::prop_assert_eq!(decode(&encode(&s)), Some(s));
        }
    }
}
