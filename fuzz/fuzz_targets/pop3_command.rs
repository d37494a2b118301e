//! Fuzz target: `pop3_proto::fuzzing::pop3_command` (see that function for what it checks).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| pop3_proto::fuzzing::pop3_command(data));
