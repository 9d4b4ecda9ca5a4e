//! `fitfleet`: a thin binary over the `client` crate.
fn main() -> std::process::ExitCode {
    client::main()
}
