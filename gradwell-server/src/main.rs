//! `gradwell`: the reference mail server that composes the Gradwell crates.
//!
//! It is the only crate in the workspace that does IO. Today it only reports its version;
//! listeners, sessions and the admin verbs arrive with the server issues.

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("version" | "--version" | "-V") => {
            println!("gradwell {}", env!("CARGO_PKG_VERSION"));
            ExitCode::SUCCESS
        }
        _ => {
            eprintln!(
                "gradwell {}: server commands are not implemented yet; only `gradwell version` works",
                env!("CARGO_PKG_VERSION")
            );
            ExitCode::from(2)
        }
    }
}
