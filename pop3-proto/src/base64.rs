//! Strict base64 (RFC 4648 §4, with padding) for SASL data (RFC 5034 §4).
//!
//! Written here because the proto crates take no dependency beyond nom, bytes, thiserror and
//! memchr. Decoding is canonical: padding is required and unused bits must be zero, so
//! `decode(encode(x)) == x` and every accepted text has exactly one meaning.

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Appends the base64 form of `data` to `out`.
pub(crate) fn encode_into(data: &[u8], out: &mut impl bytes::BufMut) {
    for chunk in data.chunks(3) {
        let b = [
            chunk.first().copied().unwrap_or(0),
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        let sextet = |shift: u32| ALPHABET[((n >> shift) & 63) as usize];
        out.put_u8(sextet(18));
        out.put_u8(sextet(12));
        out.put_u8(if chunk.len() > 1 { sextet(6) } else { b'=' });
        out.put_u8(if chunk.len() > 2 { sextet(0) } else { b'=' });
    }
}

fn value(c: u8) -> Option<u32> {
    let v = match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'+' => 62,
        b'/' => 63,
        _ => return None,
    };
    Some(u32::from(v))
}

/// Decodes canonical padded base64; `None` for anything else.
pub(crate) fn decode(text: &[u8]) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(4) {
        return None;
    }
    let mut out = Vec::with_capacity(text.len() / 4 * 3);
    let quads = text.len() / 4;
    for (i, quad) in text.chunks_exact(4).enumerate() {
        let last = i + 1 == quads;
        let pad = match quad {
            [_, _, b'=', b'='] if last => 2,
            [_, _, _, b'='] if last => 1,
            _ => 0,
        };
        let mut n = 0u32;
        for &c in &quad[..4 - pad] {
            n = (n << 6) | value(c)?;
        }
        n <<= 6 * pad as u32;
        let bytes = [(n >> 16) as u8, (n >> 8) as u8, n as u8];
        let keep = 3 - pad;
        // Canonical form: the bits that padding hides must be zero.
        if bytes[keep..].iter().any(|&b| b != 0) {
            return None;
        }
        out.extend_from_slice(&bytes[..keep]);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::{decode, encode_into};

    /// RFC 4648 §10 test vectors.
    const KAT: &[(&[u8], &[u8])] = &[
        (b"", b""),
        (b"f", b"Zg=="),
        (b"fo", b"Zm8="),
        (b"foo", b"Zm9v"),
        (b"foob", b"Zm9vYg=="),
        (b"fooba", b"Zm9vYmE="),
        (b"foobar", b"Zm9vYmFy"),
    ];

    #[test]
    fn known_answers() {
        for (plain, coded) in KAT {
            let mut out = Vec::new();
            encode_into(plain, &mut out);
            assert_eq!(&out, coded);
            assert_eq!(decode(coded).as_deref(), Some(*plain));
        }
    }

    #[test]
    fn rejects_non_canonical() {
        for bad in [
            &b"Zg="[..],
            b"Zh==",
            b"Z===",
            b"Zm9v=Zm9",
            b"Zm9v\n",
            b"====",
            b"Zg==Zg==",
        ] {
            assert_eq!(decode(bad), None, "{:?}", String::from_utf8_lossy(bad));
        }
    }
}
