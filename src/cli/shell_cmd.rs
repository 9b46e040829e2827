//! `refactor completions SHELL` and `refactor man`: shell completion scripts
//! and the manual page, generated from the clap definitions in `flags.rs`,
//! so they always list exactly the commands and flags the binary has.

use super::flags::{Cli, CompletionsArgs};
use super::EXIT_OK;
use clap::CommandFactory;
use std::io::Write;

/// Prints the completion script for one shell.
pub fn completions(args: CompletionsArgs) -> anyhow::Result<i32> {
    let mut cmd = Cli::command();
    // Into a buffer first: the generator panics on a failed write (a closed pipe).
    let mut buf = Vec::new();
    clap_complete::generate(args.shell, &mut cmd, "refactor", &mut buf);
    let mut out = std::io::stdout().lock();
    out.write_all(&buf)?;
    out.flush()?;
    Ok(EXIT_OK)
}

/// Prints the manual page: the top-level page, then for each command (and
/// nested command) its synopsis, description and options.
pub fn man() -> anyhow::Result<i32> {
    let mut out = std::io::stdout().lock();
    out.write_all(&man_page()?)?;
    out.flush()?;
    Ok(EXIT_OK)
}

/// The whole manual page as roff.
pub fn man_page() -> anyhow::Result<Vec<u8>> {
    let mut cmd = Cli::command().bin_name("refactor");
    cmd.build();
    let mut buf = Vec::new();
    clap_mangen::Man::new(cmd.clone()).render(&mut buf)?;
    let mut stack: Vec<clap::Command> = cmd.get_subcommands().cloned().collect();
    stack.reverse();
    while let Some(sub) = stack.pop() {
        if sub.is_hide_set() || sub.get_name() == "help" {
            continue;
        }
        let name = sub
            .get_bin_name()
            .map_or_else(|| sub.get_name().to_string(), str::to_string);
        // One section per command, its parts as subsections.
        writeln!(buf, ".SH \"{}\"", name.to_uppercase())?;
        let man = clap_mangen::Man::new(sub.clone());
        let mut part = Vec::new();
        man.render_synopsis_section(&mut part)?;
        man.render_description_section(&mut part)?;
        if sub.get_arguments().any(|a| !a.is_hide_set()) {
            man.render_options_section(&mut part)?;
        }
        buf.extend(
            String::from_utf8_lossy(&part)
                .replace(".SH ", ".SS ")
                .bytes(),
        );
        let mut nested: Vec<clap::Command> = sub.get_subcommands().cloned().collect();
        nested.reverse();
        stack.extend(nested);
    }
    Ok(buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_clap_definitions_are_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn every_command_has_a_man_section() {
        let page = String::from_utf8(man_page().expect("render")).expect("utf-8");
        for name in [
            "APPLY",
            "CHECK",
            "TEST",
            "EVAL",
            "MODEL",
            "MODEL EXPORT-TRITON",
        ] {
            assert!(page.contains(&format!(".SH \"REFACTOR {name}\"")), "{name}");
        }
        assert!(!page.contains("REFACTOR HELP"), "no section for `help`");
    }
}
