//! `gradwell`: the reference mail server that composes the Gradwell crates. See
//! `gradwell --help` and the `gradwell_server` library docs.

use std::process::ExitCode;

use clap::Parser;
use gradwell_server::cli;

fn main() -> ExitCode {
    match cli::run(cli::Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("gradwell: {e:#}");
            ExitCode::FAILURE
        }
    }
}
