//! Test helpers shared by the parser test tables.

use std::fmt::Debug;

/// Asserts that every strict prefix of `input` decodes as `incomplete`.
pub(crate) fn assert_prefixes_incomplete<E: Debug + PartialEq>(
    input: &[u8],
    decode: impl Fn(&[u8]) -> Result<(), E>,
    incomplete: E,
) {
    for end in 0..input.len() {
        let prefix = &input[..end];
        assert_eq!(
            decode(prefix).as_ref().err(),
            Some(&incomplete),
            "prefix {:?} of {:?}",
            String::from_utf8_lossy(prefix),
            String::from_utf8_lossy(input)
        );
    }
}
