//! Test helpers shared by the known-answer tables.

use std::fmt::Debug;

use crate::parse::PResult;

/// Asserts that every strict prefix of `full` parses as "incomplete": the streaming parsers
/// must never mistake a cut message for a complete or a broken one.
pub(crate) fn assert_prefixes_incomplete<T: Debug>(
    full: &[u8],
    parse: impl for<'a> Fn(&'a [u8]) -> PResult<'a, T>,
) {
    for end in 0..full.len() {
        let prefix = &full[..end];
        let result = parse(prefix);
        assert!(
            matches!(result, Err(nom::Err::Incomplete(_))),
            "prefix {:?} of {:?} gave {result:?}",
            String::from_utf8_lossy(prefix),
            String::from_utf8_lossy(full),
        );
    }
}
