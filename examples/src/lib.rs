//! Small programs that embed the Gradwell crates, one file each under `examples/`.
//!
//! This library holds nothing; the programs are the point. Run one with
//! `cargo run -p examples --example NAME`.
#![forbid(unsafe_code)]
