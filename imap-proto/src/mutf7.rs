//! Modified UTF-7 for mailbox names (RFC 3501 §5.1.3).
//!
//! Decoding accepts only the canonical spelling of every name, so that no two byte strings
//! name one mailbox: after decoding, the name is encoded again and must give back the input.
//! That one check refuses base64 runs that hide printable ASCII (`&AGEAYgBj-` for `abc`),
//! adjacent runs that should have been one, non-zero padding bits and overlong runs.

use crate::error::ValidationError;

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";

/// RFC 3501 §5.1.3: "printable US-ASCII characters, except for "&", represent themselves".
fn is_direct(c: char) -> bool {
    matches!(c, '\x20'..='\x7e') && c != '&'
}

/// Encodes a Unicode mailbox name as modified UTF-7.
pub fn encode(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut pending: Vec<u16> = Vec::new();
    for c in name.chars() {
        if is_direct(c) || c == '&' {
            flush_base64(&mut pending, &mut out);
            // RFC 3501 §5.1.3: ""&" is used to shift to modified BASE64 and "-" to shift back
            // to US-ASCII"; "&" itself "is represented by the two-octet sequence "&-"".
            if c == '&' {
                out.push_str("&-");
            } else {
                out.push(c);
            }
        } else {
            let mut units = [0u16; 2];
            pending.extend_from_slice(c.encode_utf16(&mut units));
        }
    }
    flush_base64(&mut pending, &mut out);
    out
}

/// Writes `&<modified base64 of UTF-16BE>-` for the pending code units.
fn flush_base64(units: &mut Vec<u16>, out: &mut String) {
    if units.is_empty() {
        return;
    }
    out.push('&');
    let mut bits: u32 = 0;
    let mut nbits = 0;
    for unit in units.drain(..) {
        bits = (bits << 16) | u32::from(unit);
        nbits += 16;
        while nbits >= 6 {
            nbits -= 6;
            out.push(char::from(ALPHABET[((bits >> nbits) & 0x3f) as usize]));
        }
        bits &= (1 << nbits) - 1;
    }
    if nbits > 0 {
        // The bits left over are filled with zeros; modified BASE64 has no "=" padding
        // (RFC 3501 §5.1.3 omits it), so decoding insists on both.
        out.push(char::from(
            ALPHABET[((bits << (6 - nbits)) & 0x3f) as usize],
        ));
    }
    out.push('-');
}

fn sextet(b: u8) -> Option<u32> {
    ALPHABET.iter().position(|a| *a == b).map(|p| p as u32)
}

/// Decodes a modified UTF-7 mailbox name; refuses every non-canonical spelling.
pub fn decode(wire: &[u8]) -> Result<String, ValidationError> {
    let mut out = String::with_capacity(wire.len());
    let mut rest = wire;
    while let Some((&b, tail)) = rest.split_first() {
        if b == b'&' {
            let end = tail
                .iter()
                .position(|b| *b == b'-')
                .ok_or(ValidationError::InvalidMutf7)?;
            let (run, after) = tail.split_at(end);
            decode_run(run, &mut out)?;
            // `after` starts with the "-" found above.
            rest = after.get(1..).unwrap_or_default();
        } else if is_direct(char::from(b)) {
            out.push(char::from(b));
            rest = tail;
        } else {
            return Err(ValidationError::InvalidMutf7);
        }
    }
    // The canonical-form check described in the module docs.
    if encode(&out).as_bytes() != wire {
        return Err(ValidationError::InvalidMutf7);
    }
    Ok(out)
}

fn decode_run(run: &[u8], out: &mut String) -> Result<(), ValidationError> {
    if run.is_empty() {
        out.push('&');
        return Ok(());
    }
    let mut units = Vec::with_capacity(run.len() * 6 / 16);
    let mut bits: u32 = 0;
    let mut nbits = 0;
    for b in run {
        bits = (bits << 6) | sextet(*b).ok_or(ValidationError::InvalidMutf7)?;
        nbits += 6;
        if nbits >= 16 {
            nbits -= 16;
            units.push(((bits >> nbits) & 0xffff) as u16);
            bits &= (1 << nbits) - 1;
        }
    }
    if nbits >= 6 || bits != 0 {
        return Err(ValidationError::InvalidMutf7);
    }
    for c in char::decode_utf16(units) {
        out.push(c.map_err(|_| ValidationError::InvalidMutf7)?);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn kat() {
        // RFC 3501 §5.1.3 example: "~peter/mail/&U,BTFw-/&ZeVnLIqe-" is
        // "~peter/mail/台北/日本語".
        let table: &[(&str, &str)] = &[
            ("~peter/mail/台北/日本語", "~peter/mail/&U,BTFw-/&ZeVnLIqe-"),
            ("&", "&-"),
            ("A&B", "A&-B"),
            ("Entwürfe", "Entw&APw-rfe"),
            ("", ""),
            ("😀", "&2D3eAA-"),
        ];
        for (name, wire) in table {
            assert_eq!(encode(name), *wire);
            assert_eq!(decode(wire.as_bytes()).as_deref(), Ok(*name));
        }
    }

    #[test]
    fn non_canonical_spellings_are_refused() {
        for bad in [
            &b"&AGEAYgBj-"[..], // "abc" hidden in base64
            b"&U,A-&BTFw-",     // one run split in two
            b"&U,BTFw",         // no closing "-"
            b"&U,BTFx-",        // non-zero padding bits
            b"&2D0-",           // lone high surrogate
            b"&AP-",            // leftover sextet
            b"Entw\xc3\xbcrfe", // raw 8-bit
            b"a\tb",            // control character sent directly
            b"&AAA=-",          // standard base64 padding
            b"&U/BTFw-",        // "/" instead of ","
        ] {
            assert_eq!(decode(bad), Err(ValidationError::InvalidMutf7), "{bad:?}");
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]
        #[test]
        fn round_trip(name in "\\PC{0,12}") {
            let wire = encode(&name);
            prop_assert!(wire.bytes().all(|b| (0x20..=0x7e).contains(&b)));
            prop_assert_eq!(decode(wire.as_bytes()), Ok(name));
        }
    }
}
