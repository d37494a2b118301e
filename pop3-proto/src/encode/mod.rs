//! Encoders: values out as bytes, appended to any [`BufMut`](bytes::BufMut) (a `Vec<u8>` or
//! a `BytesMut`). Encoding cannot fail: the types only hold values with one wire form.
//!
//! Message bodies are not here: they stream through [`BodyEncoder`](crate::BodyEncoder).

mod command;
mod response;

use bytes::BufMut;

/// Appends `n` in decimal.
pub(crate) fn put_decimal(out: &mut impl BufMut, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut start = digits.len();
    loop {
        start -= 1;
        digits[start] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.put_slice(&digits[start..]);
}

#[cfg(test)]
mod tests {
    use super::put_decimal;

    #[test]
    fn decimals() {
        for n in [0, 7, 10, 4_294_967_295, u64::MAX] {
            let mut out = Vec::new();
            put_decimal(&mut out, n);
            assert_eq!(out, n.to_string().as_bytes());
        }
    }
}
