#![no_main]
//! Fuzzes `maildir_store::fuzzing::mailbox_name`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| maildir_store::fuzzing::mailbox_name(data));
