//! Character classes of the IMAP grammar (RFC 3501 §9, RFC 9051 §9).

/// `CHAR = %x01-7F`
pub(crate) fn is_char(b: u8) -> bool {
    matches!(b, 0x01..=0x7f)
}

/// `CTL = %x00-1F / %x7F`
pub(crate) fn is_ctl(b: u8) -> bool {
    b <= 0x1f || b == 0x7f
}

/// `atom-specials = "(" / ")" / "{" / SP / CTL / list-wildcards / quoted-specials /
/// resp-specials`
pub(crate) fn is_atom_special(b: u8) -> bool {
    matches!(
        b,
        b'(' | b')' | b'{' | b' ' | b'%' | b'*' | b'"' | b'\\' | b']'
    ) || is_ctl(b)
}

/// `ATOM-CHAR = <any CHAR except atom-specials>`
pub(crate) fn is_atom_char(b: u8) -> bool {
    is_char(b) && !is_atom_special(b)
}

/// `ASTRING-CHAR = ATOM-CHAR / resp-specials`
pub(crate) fn is_astring_char(b: u8) -> bool {
    is_atom_char(b) || b == b']'
}

/// `tag = 1*<any ASTRING-CHAR except "+">`
pub(crate) fn is_tag_char(b: u8) -> bool {
    is_astring_char(b) && b != b'+'
}

/// `list-char = ATOM-CHAR / list-wildcards / resp-specials`
pub(crate) fn is_list_char(b: u8) -> bool {
    is_atom_char(b) || matches!(b, b'%' | b'*' | b']')
}

/// `TEXT-CHAR = <any CHAR except CR and LF>`
pub(crate) fn is_text_char(b: u8) -> bool {
    is_char(b) && b != b'\r' && b != b'\n'
}

/// ASCII `QUOTED-CHAR`s that stand for themselves: `<any TEXT-CHAR except
/// quoted-specials>`, as a table, because quoted strings are the most common value in
/// responses and the decoder scans them octet by octet.
pub(crate) static PLAIN_QUOTED_CHAR: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 1;
    while b < 0x80 {
        table[b] =
            b != b'\r' as usize && b != b'\n' as usize && b != b'"' as usize && b != b'\\' as usize;
        b += 1;
    }
    table
};
