#![no_main]
//! Fuzzes `maildir_store::fuzzing::maildir_index`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| maildir_store::fuzzing::maildir_index(data));
