#![no_main]
//! Fuzzes `maildir_store::fuzzing::maildir_structure_cache`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| maildir_store::fuzzing::maildir_structure_cache(data));
