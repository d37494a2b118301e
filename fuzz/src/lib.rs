//! Fuzz targets for the Gradwell codecs live in `fuzz_targets/`, one file per decoder, framer
//! or round trip. Each target only calls a plain function from its crate's `fuzzing` module,
//! so that any crash input can be replayed as an ordinary unit test on stable Rust.
