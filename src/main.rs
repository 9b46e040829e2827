//! The `refactor` binary: a thin shell around the library's CLI.

fn main() {
    // The command runs on a thread with a large stack (address space only,
    // touched as used): matching can recurse as deep as a source file nests
    // (a util that reaches itself through `has`), and parallel stages may
    // run part of their work on this thread too.
    let code = std::thread::Builder::new()
        .name("refactor".into())
        .stack_size(refactor::cli::STACK_SIZE)
        .spawn(refactor::cli::main)
        .map(|h| h.join().unwrap_or(refactor::cli::EXIT_ERROR))
        .unwrap_or_else(|e| {
            eprintln!("error: cannot start: {e}");
            refactor::cli::EXIT_ERROR
        });
    std::process::exit(code);
}
