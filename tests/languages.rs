//! Every supported language end to end: `fixtures/languages/<name>/` holds a
//! rule (`rules/rule.yml`) with its rule test, some code in that language
//! (`code/`) and the files ast-grep 0.51.1 writes for that rule
//! (`expected/`). A language without such a folder fails here, so adding a
//! grammar means adding its fixture.

mod common;

use common::*;
use refactor::lang::Lang;
use std::collections::BTreeSet;
use std::path::Path;

fn languages_dir() -> std::path::PathBuf {
    fixture("languages")
}

#[test]
fn every_language_has_a_fixture_folder() {
    let dirs: BTreeSet<String> = std::fs::read_dir(languages_dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    let langs: BTreeSet<String> = Lang::ALL.iter().map(|l| l.name().to_string()).collect();
    assert_eq!(dirs, langs);
}

/// The fixture's code is rewritten by `apply --write` into exactly the
/// expected files, every file is recognised as its language by extension,
/// and the rewrite changes something (a fixture that changes nothing
/// would prove nothing).
fn check_rewrite(lang: Lang) {
    let dir = languages_dir().join(lang.name());
    let code = dir.join("code");
    let expected = dir.join("expected");
    for file in snapshot(&code).keys() {
        assert_eq!(
            Lang::from_path(file),
            Some(lang),
            "{}: extension of {}",
            lang,
            file.display()
        );
    }
    let work = tempfile::tempdir().unwrap();
    copy_dir(&code, work.path());
    let rule = dir.join("rules").join("rule.yml");
    let out = refactor(
        work.path(),
        &["apply", "--write", "--rule", rule.to_str().unwrap(), "."],
    );
    assert_eq!(out.status.code(), Some(0), "{lang}: {}", stderr(&out));
    assert!(
        !stderr(&out).contains(" 0 changed"),
        "{lang}: nothing was rewritten: {}",
        stderr(&out)
    );
    assert_ne!(snapshot(&code), snapshot(&expected), "{lang}: no change");
    let got = snapshot(work.path());
    let want = snapshot(&expected);
    for (path, bytes) in &want {
        assert_eq!(
            String::from_utf8_lossy(got.get(path).map(Vec::as_slice).unwrap_or_default()),
            String::from_utf8_lossy(bytes),
            "{lang}: {}",
            path.display()
        );
    }
    assert_eq!(got.len(), want.len(), "{lang}: file count");
}

fn check_rule_tests(lang: Lang) {
    let rules = languages_dir().join(lang.name()).join("rules");
    let out = refactor(Path::new("."), &["test", rules.to_str().unwrap()]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{lang}: {text}{}", stderr(&out));
    let passed: usize = text
        .lines()
        .last()
        .and_then(|l| l.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    assert!(passed >= 2, "{lang}: {text}");
}

#[test]
fn every_language_rewrites_its_fixture_as_ast_grep_does() {
    for lang in Lang::ALL {
        check_rewrite(lang);
    }
}

#[test]
fn every_language_passes_its_rule_tests() {
    for lang in Lang::ALL {
        check_rule_tests(lang);
    }
}

/// Indentation-sensitive languages keep a multi-line fix valid: its later
/// lines are indented like the line where the match starts.
#[test]
fn multi_line_fixes_keep_indentation_in_yaml_and_haskell() {
    let yaml = std::fs::read_to_string(languages_dir().join("yaml/expected/sample.yml")).unwrap();
    assert!(
        yaml.contains("    runs-on: ubuntu-latest\n    timeout-minutes: 30\n    steps:"),
        "{yaml}"
    );
    let hs = std::fs::read_to_string(languages_dir().join("haskell/expected/sample.hs")).unwrap();
    assert!(
        hs.contains("  forM_ xs $ \\x ->\n    print x\n  putStrLn"),
        "{hs}"
    );
    // The same fix at another depth is indented to that depth.
    let work = tempfile::tempdir().unwrap();
    std::fs::write(
        work.path().join("ci.yaml"),
        "jobs:\n  a:\n    strategy:\n      matrix:\n        runs-on: ubuntu-18.04\n        os: [1]\n",
    )
    .unwrap();
    let rule = languages_dir().join("yaml/rules/rule.yml");
    let out = refactor(
        work.path(),
        &["apply", "--write", "--rule", rule.to_str().unwrap(), "."],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        std::fs::read_to_string(work.path().join("ci.yaml")).unwrap(),
        "jobs:\n  a:\n    strategy:\n      matrix:\n        runs-on: ubuntu-latest\n        timeout-minutes: 30\n        os: [1]\n"
    );
}

/// ast-grep's language names and aliases are accepted, case-insensitively.
#[test]
fn ast_grep_language_names_and_aliases_load() {
    let names = [
        ("bash", "bash"),
        ("cs", "csharp"),
        ("CSharp", "csharp"),
        ("css", "css"),
        ("dart", "dart"),
        ("ex", "elixir"),
        ("Elixir", "elixir"),
        ("hs", "haskell"),
        ("hcl", "hcl"),
        ("html", "html"),
        ("json", "json"),
        ("kt", "kotlin"),
        ("kotlin", "kotlin"),
        ("lua", "lua"),
        ("md", "markdown"),
        ("nix", "nix"),
        ("php", "php"),
        ("rb", "ruby"),
        ("scala", "scala"),
        ("sol", "solidity"),
        ("swift", "swift"),
        ("yml", "yaml"),
        ("YAML", "yaml"),
    ];
    for (alias, name) in names {
        assert_eq!(
            Lang::from_name(alias).map(Lang::name),
            Some(name),
            "{alias}"
        );
    }
    // A rule file naming the language by alias loads and runs.
    let work = tempfile::tempdir().unwrap();
    std::fs::write(work.path().join("a.rb"), "x = items.length == 0\n").unwrap();
    std::fs::write(
        work.path().join("r.yml"),
        "id: r\nlanguage: Rb\nrule:\n  pattern: $X.length == 0\nfix: $X.empty?\n",
    )
    .unwrap();
    let out = refactor(work.path(), &["apply", "--write", "--rule", "r.yml", "."]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        std::fs::read_to_string(work.path().join("a.rb")).unwrap(),
        "x = items.empty?\n"
    );
}

/// A pattern the grammar parses only with error recovery (an ERROR node
/// inside it can stand for any text) is loaded with a warning that names
/// the file and line, as ast-grep warns; a clean pattern is not.
#[test]
fn patterns_with_syntax_errors_warn_with_file_and_line() {
    let work = tempfile::tempdir().unwrap();
    std::fs::write(
        work.path().join("a.py"),
        "x = [y for]
",
    )
    .unwrap();
    std::fs::write(
        work.path().join("r.yml"),
        "id: r\nlanguage: python\nrule:\n  pattern: x = [$A for]\nfix: x = []\n",
    )
    .unwrap();
    let out = refactor(work.path(), &["apply", "--rule", "r.yml", "."]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains(
            "warning: r.yml:4: pattern `x = [$A for]` parses only with a syntax error near `for`"
        ),
        "{err}"
    );
    for lang in Lang::ALL {
        let rule = languages_dir().join(lang.name()).join("rules/rule.yml");
        let out = refactor(
            work.path(),
            &["apply", "--rule", rule.to_str().unwrap(), "."],
        );
        assert!(
            !stderr(&out).contains("warning:"),
            "{lang}: {}",
            stderr(&out)
        );
    }
}
