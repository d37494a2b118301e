//! Fuzzes smtp-proto: see `smtp_proto::fuzzing::smtp_command` for the invariants.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| smtp_proto::fuzzing::smtp_command(data));
