//! Strict base64 (RFC 4648 §4, with padding) for SASL data (RFC 5034 §4), on the `base64`
//! crate. Decoding is canonical: padding is required and unused bits must be zero, so
//! `decode(encode(x)) == x` and every accepted text has exactly one meaning.

use base64::{Engine, engine::general_purpose::STANDARD};

/// Appends the base64 form of `data` to `out`.
pub(crate) fn encode_into(data: &[u8], out: &mut impl bytes::BufMut) {
    out.put_slice(STANDARD.encode(data).as_bytes());
}

/// Decodes canonical padded base64; `None` for anything else.
pub(crate) fn decode(text: &[u8]) -> Option<Vec<u8>> {
    STANDARD.decode(text).ok()
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
