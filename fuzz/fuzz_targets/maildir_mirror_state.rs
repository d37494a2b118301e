#![no_main]
//! Fuzzes `maildir_store::fuzzing::maildir_mirror_state`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| maildir_store::fuzzing::maildir_mirror_state(data));
