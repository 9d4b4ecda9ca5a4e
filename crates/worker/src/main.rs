//! `fitfleet-worker`: see [`fitfleet_worker::cli::main`].
fn main() -> std::process::ExitCode {
    fitfleet_worker::cli::main()
}
