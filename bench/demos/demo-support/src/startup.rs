//! A demo binary's `main`: a start-up error (a missing `JWT_SECRET`, a port in use) is printed as one
//! line, `NAME: error`, and the exit status is 1.
//!
//! ```no_run
//! #[tokio::main]
//! async fn main() -> std::process::ExitCode {
//!     demo_support::startup::exit("my-demo", run().await)
//! }
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> { Ok(()) }
//! ```
use std::process::ExitCode;

pub fn exit(name: &str, result: Result<(), Box<dyn std::error::Error>>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{name}: {e}");
            ExitCode::FAILURE
        }
    }
}
