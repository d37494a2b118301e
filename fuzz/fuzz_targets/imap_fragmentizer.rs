#![no_main]
//! Fuzz target; the body is `imap_proto::fuzzing::fragmentizer`, which unit tests also run.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| imap_proto::fuzzing::fragmentizer(data));
