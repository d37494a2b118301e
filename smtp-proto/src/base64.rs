//! Strict base64 (RFC 4648 §4, with padding) for SASL data in AUTH (RFC 4954 §4), on the
//! `base64` crate.

use base64::{Engine, engine::general_purpose::STANDARD};

/// Appends the base64 form of `data` to `out`.
pub(crate) fn encode(data: &[u8], out: &mut Vec<u8>) {
    out.extend_from_slice(STANDARD.encode(data).as_bytes());
}

/// Decodes canonical padded base64; `None` for anything else (wrong length, stray
/// characters, non-zero padding bits), so that every input has one meaning.
pub(crate) fn decode(text: &[u8]) -> Option<Vec<u8>> {
    STANDARD.decode(text).ok()
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn rfc4648_vectors() {
        let table: &[(&[u8], &[u8])] = &[
            (b"", b""),
            (b"f", b"Zg=="),
            (b"fo", b"Zm8="),
            (b"foo", b"Zm9v"),
            (b"foob", b"Zm9vYg=="),
            (b"fooba", b"Zm9vYmE="),
            (b"foobar", b"Zm9vYmFy"),
        ];
        for (plain, coded) in table {
            let mut out = Vec::new();
            encode(plain, &mut out);
            assert_eq!(&out, coded);
            assert_eq!(decode(coded).as_deref(), Some(*plain));
        }
        for bad in [&b"Zg="[..], b"Zh==", b"Z===", b"Zm9v!A==", b"Zg==Zg=="] {
            assert_eq!(decode(bad), None, "{bad:?}");
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn round_trip(data in proptest::collection::vec(any::<u8>(), 0..40)) {
            let mut out = Vec::new();
            encode(&data, &mut out);
            prop_assert_eq!(decode(&out), Some(data));
        }
    }
}
