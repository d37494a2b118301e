//! Test helpers shared by the unit tests of every parser file.

/// Asserts that every strict prefix of `input` is "incomplete" according to `is_incomplete`.
pub(crate) fn assert_prefixes_incomplete(input: &[u8], is_incomplete: impl Fn(&[u8]) -> bool) {
    for end in 0..input.len() {
        assert!(
            is_incomplete(&input[..end]),
            "prefix {end} of {:?} is not incomplete",
            String::from_utf8_lossy(input)
        );
    }
}

pub(crate) use crate::fuzzing::decode_body_in_chunks;
