#![no_main]
//! Fuzzes `maildir_store::fuzzing::maildir_placement_map`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| maildir_store::fuzzing::maildir_placement_map(data));
