//! `fitfleet-worker`: see [`worker::cli::main`].
fn main() -> std::process::ExitCode {
    worker::cli::main()
}
