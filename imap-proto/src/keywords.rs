//! Lookups in the tables that pair a value with its keyword.

/// The keyword of `value` in `table`; empty if the table does not list it.
pub(crate) fn name_of<T: PartialEq>(table: &[(T, &'static str)], value: &T) -> &'static str {
    table
        .iter()
        .find(|(v, _)| v == value)
        .map_or("", |(_, name)| name)
}

/// The value whose keyword is `name`, compared case-insensitively as IMAP keywords are.
pub(crate) fn by_name<T: Clone>(table: &[(T, &'static str)], name: &[u8]) -> Option<T> {
    table
        .iter()
        .find(|(_, n)| n.as_bytes().eq_ignore_ascii_case(name))
        .map(|(v, _)| v.clone())
}
