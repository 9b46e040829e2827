//! `refactor completions SHELL` and `refactor man`: generated from the clap
//! definitions, so they name every command and flag.

mod common;

use common::*;

#[test]
fn completions_name_the_commands_and_flags_for_every_shell() {
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let out = refactor(&root(), &["completions", shell]);
        assert_eq!(out.status.code(), Some(0), "{shell}: {}", stderr(&out));
        let script = stdout(&out);
        assert!(!script.trim().is_empty(), "{shell}");
        for word in [
            "apply",
            "check",
            "completions",
            "man",
            "--interactive",
            "--write",
        ] {
            assert!(script.contains(word), "{shell} lacks {word}");
        }
    }
}

#[test]
fn bash_completion_is_valid_bash() {
    let out = refactor(&root(), &["completions", "bash"]);
    assert_eq!(out.status.code(), Some(0));
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("refactor.bash");
    std::fs::write(&path, &out.stdout).expect("write");
    let check = std::process::Command::new("bash")
        .arg("-n")
        .arg(&path)
        .output()
        .expect("bash");
    assert!(check.status.success(), "{}", stderr(&check));
}

#[test]
fn an_unknown_shell_is_a_usage_error() {
    let out = refactor(&root(), &["completions", "tcsh"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("bash"), "{}", stderr(&out));
}

#[test]
fn man_page_is_roff_with_every_command_and_the_apply_flags() {
    let out = refactor(&root(), &["man"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let page = stdout(&out);
    assert!(page.starts_with(".ie") || page.contains("\n.TH "), "{page}");
    assert!(page.contains(".TH refactor 1"), "{page}");
    for section in [
        ".SH \"REFACTOR APPLY\"",
        ".SH \"REFACTOR CHECK\"",
        ".SH \"REFACTOR TEST\"",
        ".SH \"REFACTOR MODEL EXPORT-TRITON\"",
        ".SH \"REFACTOR COMPLETIONS\"",
    ] {
        assert!(page.contains(section), "{section}");
    }
    // roff escapes `-` as `\-`.
    for flag in [
        "interactive",
        "write",
        "commit",
        "allow\\-dirty",
        "no\\-wait",
        "json",
    ] {
        assert!(page.contains(&format!("\\fB\\-\\-{flag}\\fR")), "--{flag}");
    }
    assert!(
        page.contains("edit the replacement in $EDITOR"),
        "apply's help text"
    );
}
