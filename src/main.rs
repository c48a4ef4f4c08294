//! The `pgferret` binary: arguments in, exit code out; the work is in the library.

use std::process::ExitCode;

fn main() -> ExitCode {
    pgferret::cli_main()
}
