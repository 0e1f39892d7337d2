//! The process entry: arguments in, exit code out. No logic, no printing.

fn main() -> std::process::ExitCode {
    eksop_auth::run(std::env::args_os())
}
