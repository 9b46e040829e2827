//! The `refactor` binary: a thin shell around the library's CLI.

fn main() {
    std::process::exit(refactor::cli::main());
}
