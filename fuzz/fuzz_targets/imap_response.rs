#![no_main]
//! Fuzz target; the body is `imap_proto::fuzzing::response`, which unit tests also run.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| imap_proto::fuzzing::response(data));
