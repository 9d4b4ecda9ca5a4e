//! `fitfleet`: a thin binary over the `fitfleet` library (`fitfleet::main`).
fn main() -> std::process::ExitCode {
    fitfleet::main()
}
