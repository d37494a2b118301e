#![no_main]
//! Fuzz target; the body is `gradwell_server::fuzzing::migrate_control_files`, which unit tests also run.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| gradwell_server::fuzzing::migrate_control_files(data));
