//! Partial parsing (only the top-level items, class members and statements
//! of function bodies that hold a rule's literals) never changes results:
//! reports and diffs are the same as with `--no-prefilter` (every file
//! parsed whole), the self-check (`REFACTOR_CHECK_ITEMS=1`: split every
//! file it can, parse each file a partial parse settled in full to look
//! for a missed match, compare findings taken from a partial parse with a
//! full parse's, and parse every rewrite accepted by its changed units or
//! an incremental reparse in full) passes on the fixtures, and `--stats`
//! shows what was settled.

mod common;

use common::*;
use std::path::Path;
use std::process::{Command, Output};

/// `refactor ARGS` with the self-check on.
fn checked(cwd: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_refactor"))
        .args(args)
        .current_dir(cwd)
        .env("NO_COLOR", "1")
        .env("REFACTOR_CHECK_ITEMS", "1")
        .output()
        .expect("run refactor")
}

const PATHS: [&str; 6] = [
    "fixtures/partial",
    "fixtures/python-app",
    "fixtures/langs",
    "fixtures/languages",
    "fixtures/rewriters",
    "src",
];

#[test]
fn partial_parsing_changes_no_report_and_no_diff() {
    let root = root();
    let rule_sets = [
        "rules/python",
        "rules/rust",
        "rules/typescript",
        "scripts/differential-rules",
        "fixtures/langs/rules.yml",
    ];
    for rules in rule_sets {
        for cmd in [
            &["check", "--format", "json", "--fail-on", "never"][..],
            &["apply"][..],
        ] {
            let mut args: Vec<&str> = cmd.to_vec();
            args.extend(["--rule", rules]);
            args.extend(PATHS);
            let with = checked(&root, &args);
            assert_eq!(with.status.code(), Some(0), "{args:?}: {}", stderr(&with));
            args.push("--no-prefilter");
            let whole = refactor(&root, &args);
            assert_eq!(whole.status.code(), Some(0), "{args:?}: {}", stderr(&whole));
            assert_eq!(stdout(&with), stdout(&whole), "{args:?}");
        }
    }
}

/// Asserts that `r.yml` on `file` (of `len` bytes) in `dir` is settled by
/// a partial parse that leaves more than `percent` % of it unparsed.
fn settled_sparing(dir: &Path, file: &str, len: usize, percent: usize) {
    let s = stats(dir, &["--rule", "r.yml", file], false);
    assert_eq!(s["partial_parse_files"], 1, "{s}");
    let skipped = s["partial_parse_skipped_bytes"].as_u64().unwrap() as usize;
    assert!(skipped * 100 > len * percent, "{skipped} of {len}");
}

/// Asserts that `r.yml` on `file` in `dir` is matched from the partial
/// parse (self-check on), and that the dry run's patch holds `line` and is
/// the patch of a run that parses every file whole.
fn rewritten_from_partial(dir: &Path, file: &str, line: &str) {
    let s = stats(dir, &["--rule", "r.yml", file], true);
    assert_eq!(s["partial_parse_matched_files"], 1, "{s}");
    let out = checked(dir, &["apply", "--rule", "r.yml", file]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let diff = stdout(&out);
    assert!(diff.contains(line), "{diff}");
    let whole = refactor(dir, &["apply", "--no-prefilter", "--rule", "r.yml", file]);
    assert_eq!(stdout(&whole), diff);
}

/// The stats line of a `--stats --format json` run.
fn stats(dir: &Path, args: &[&str], check: bool) -> serde_json::Value {
    let mut all = vec!["check", "--format", "json", "--fail-on", "never", "--stats"];
    all.extend_from_slice(args);
    let out = if check {
        checked(dir, &all)
    } else {
        refactor(dir, &all)
    };
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let last = stdout(&out)
        .lines()
        .last()
        .expect("a stats line")
        .to_string();
    serde_json::from_str::<serde_json::Value>(&last).expect("json")["stats"].clone()
}

#[test]
fn files_whose_matching_items_hold_no_match_are_settled_without_a_full_parse() {
    let root = root();
    let is_none = ["--rule", "rules/python/is-none.yml"];
    // `None` and `==` share only the docstring's item and the string's
    // (parsed, no match): every definition in between is skipped.
    let s = stats(
        &root,
        &[&is_none[..], &["fixtures/partial/no_match.py"]].concat(),
        false,
    );
    assert_eq!(s["partial_parse_files"], 1, "{s}");
    let text = std::fs::read_to_string(root.join("fixtures/partial/no_match.py")).unwrap();
    let skipped = text.find("MESSAGE").unwrap() - text.find("def first").unwrap();
    assert_eq!(s["partial_parse_skipped_bytes"], skipped, "{s}");
    // A match (in a class member, after a decorated multi-line header, in
    // CRLF text, in a method indented with tabs, in a file whose syntax
    // error lies in a statement the partial parse leaves out) is found by
    // the partial parse and reported from it (the self-check compares its
    // findings with a full parse's); a syntax error in a parsed statement
    // sends the file to a full parse.
    for (f, matched, reparsed) in [
        ("members.py", 1, 0),
        ("crlf.py", 1, 0),
        ("tricky.py", 1, 0),
        ("broken.py", 1, 0),
        ("broken_kept.py", 0, 1),
    ] {
        let path = format!("fixtures/partial/{f}");
        let s = stats(&root, &[&is_none[..], &[path.as_str()]].concat(), true);
        assert_eq!(s["partial_parse_files"], 0, "{f}: {s}");
        assert_eq!(s["partial_parse_matched_files"], matched, "{f}: {s}");
        assert_eq!(s["partial_parse_reparsed_files"], reparsed, "{f}: {s}");
    }
    // Text the item scanner does not follow (a string right after `else`)
    // is parsed whole from the start.
    let s = stats(
        &root,
        &[&is_none[..], &["fixtures/partial/odd_strings.py"]].concat(),
        true,
    );
    assert_eq!(s["partial_parse_files"], 0, "{s}");
    assert_eq!(s["partial_parse_reparsed_files"], 0, "{s}");
}

#[test]
fn a_class_member_far_from_the_match_is_not_parsed() {
    // 200 methods; only one holds the rule's tokens, and it has no match.
    let dir = tempfile::tempdir().expect("tempdir");
    let mut text = String::from("class Big(object):\n    \"\"\"Doc.\"\"\"\n");
    for i in 0..200 {
        text.push_str(&format!(
            "\n    def m{i}(self, x):\n        return x + {i}\n"
        ));
    }
    text.push_str("\n    def last(self):\n        return 'x == None'\n");
    std::fs::write(dir.path().join("big.py"), &text).expect("write");
    std::fs::copy(
        root().join("rules/python/is-none.yml"),
        dir.path().join("r.yml"),
    )
    .expect("copy rule");
    settled_sparing(dir.path(), "big.py", text.len(), 90);

    // The same method with a real match: reported once, from a full parse.
    std::fs::write(
        dir.path().join("big.py"),
        text.replace("return 'x == None'", "return x == None"),
    )
    .expect("write");
    let out = refactor(dir.path(), &["apply", "--rule", "r.yml", "big.py"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let diff = stdout(&out);
    assert!(diff.contains("+        return x is None"), "{diff}");
    assert_eq!(diff.matches("\n+ ").count(), 1, "{diff}");
}

#[test]
fn a_function_statement_far_from_the_match_is_not_parsed() {
    // One function of 300 statements, and a method; only one statement
    // holds the rule's tokens, in a string (no match).
    let dir = tempfile::tempdir().expect("tempdir");
    let mut body = String::new();
    for i in 0..300 {
        body.push_str(&format!("    v{i} = compute(x, {i})\n"));
    }
    let text = format!(
        "import os\n\n\n@decorate\nasync def big(x):\n    \"\"\"Doc.\"\"\"\n{body}    if x:\n        return 'x == None'\n    return v1\n\n\nclass K:\n    def m(self):\n{}        return 1\n",
        body.replace("    ", "        ")
    );
    std::fs::write(dir.path().join("big.py"), &text).expect("write");
    std::fs::copy(
        root().join("rules/python/is-none.yml"),
        dir.path().join("r.yml"),
    )
    .expect("copy rule");
    settled_sparing(dir.path(), "big.py", text.len(), 95);

    // A real match in that statement, and one in the method: both found
    // by the partial parse and rewritten as a full parse would.
    let text = text
        .replace("return 'x == None'", "return x == None")
        .replace("        return 1\n", "        return self == None\n");
    std::fs::write(dir.path().join("big.py"), &text).expect("write");
    let s = stats(dir.path(), &["--rule", "r.yml", "big.py"], true);
    assert_eq!(s["partial_parse_matched_files"], 1, "{s}");
    let out = refactor(dir.path(), &["apply", "--rule", "r.yml", "big.py"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let diff = stdout(&out);
    assert!(diff.contains("+        return x is None"), "{diff}");
    assert!(diff.contains("+        return self is None"), "{diff}");
    assert_eq!(diff.matches("\n+ ").count(), 2, "{diff}");
    let whole = refactor(
        dir.path(),
        &["apply", "--no-prefilter", "--rule", "r.yml", "big.py"],
    );
    assert_eq!(stdout(&whole), diff);
}

#[test]
fn a_match_labelled_with_its_class_is_reported_from_a_full_parse() {
    // `super-call` looks for a class around the call: the class is a
    // secondary label, whose extent a partial parse does not know.
    let dir = tempfile::tempdir().expect("tempdir");
    let mut text = String::from("class A(B):\n");
    for i in 0..50 {
        text.push_str(&format!("    def m{i}(self):\n        return {i}\n\n"));
    }
    text.push_str("    def n(self):\n        return super(A, self).n()\n");
    std::fs::write(dir.path().join("a.py"), &text).expect("write");
    std::fs::copy(
        root().join("rules/python/super-call.yml"),
        dir.path().join("r.yml"),
    )
    .expect("copy rule");
    let s = stats(dir.path(), &["--rule", "r.yml", "a.py"], true);
    assert_eq!(s["partial_parse_matched_files"], 0, "{s}");
    assert_eq!(s["partial_parse_reparsed_files"], 1, "{s}");
    let args = [
        "check",
        "--format",
        "json",
        "--fail-on",
        "never",
        "--rule",
        "r.yml",
        "a.py",
    ];
    let partial = refactor(dir.path(), &args);
    let mut whole_args = args.to_vec();
    whole_args.push("--no-prefilter");
    let whole = refactor(dir.path(), &whole_args);
    assert_eq!(stdout(&partial), stdout(&whole));
    assert!(
        stdout(&partial).contains("\"line\":1"),
        "{}",
        stdout(&partial)
    );
}

#[test]
fn rules_that_look_at_siblings_are_parsed_whole() {
    // `follows` sees the item before: a partial parse could miss it.
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("a.py"),
        "import os\n\n\ndef f():\n    pass\n\n\nx = None\n",
    )
    .expect("write");
    std::fs::write(
        dir.path().join("r.yml"),
        "id: t\nlanguage: python\nrule:\n  kind: expression_statement\n  follows:\n    kind: function_definition\n    stopBy: end\n",
    )
    .expect("write");
    let s = stats(dir.path(), &["--rule", "r.yml", "a.py"], true);
    assert_eq!(s["partial_parse_files"], 0, "{s}");
    assert_eq!(s["partial_parse_reparsed_files"], 0, "{s}");
    let out = refactor(
        dir.path(),
        &[
            "check",
            "--format",
            "json",
            "--fail-on",
            "never",
            "--rule",
            "r.yml",
            "a.py",
        ],
    );
    let report = stdout(&out);
    assert_eq!(report.matches("\"rule\":\"t\"").count(), 1, "{report}");
    assert!(report.contains("\"text\":\"x = None\""), "{report}");
}

#[test]
fn item_locality_follows_what_a_rule_looks_at() {
    use refactor::rule::load::load_one;
    let local = |rule: &str| {
        load_one(
            Path::new("t.yml"),
            1,
            &format!("id: t\nlanguage: python\nrule:\n{rule}"),
        )
        .expect("rule compiles")
        .item_local
    };
    // Inside the item, or only the kind of a class around it.
    assert!(local("  pattern: $A == None\n"));
    assert!(local(
        "  pattern: super($C, self)\n  inside:\n    kind: class_definition\n    stopBy: end\n"
    ));
    assert!(local(
        "  kind: argument_list\n  inside:\n    kind: class_definition\n    field: superclasses\n"
    ));
    assert!(local(
        "  pattern: print($A)\n  inside:\n    pattern: \"def $F($$$P): $$$B\"\n    stopBy: end\n"
    ));
    // The class's text or its other members, siblings, positions, the
    // root, error nodes: not item-local.
    assert!(!local(
        "  pattern: print($A)\n  inside:\n    kind: class_definition\n    has: {pattern: x = 1, stopBy: end}\n    stopBy: end\n"
    ));
    assert!(!local("  kind: class_definition\n"));
    assert!(!local("  kind: block\n"));
    assert!(!local("  kind: module\n"));
    assert!(!local("  kind: ERROR\n"));
    assert!(!local(
        "  pattern: $A == None\n  follows: {kind: import_statement, stopBy: end}\n"
    ));
    assert!(!local("  kind: return_statement\n  nthChild: 1\n"));
    assert!(!local(
        "  pattern: print($A)\n  inside:\n    regex: foo\n    kind: class_definition\n    stopBy: end\n"
    ));
    // A rule that matches, or looks at, a whole function keeps function
    // bodies uncut (the function is a container when they are cut).
    let body_local = |rule: &str| {
        load_one(
            Path::new("t.yml"),
            1,
            &format!("id: t\nlanguage: python\nrule:\n{rule}"),
        )
        .expect("rule compiles")
        .body_local
    };
    assert!(body_local("  pattern: $A == None\n"));
    assert!(body_local(
        "  pattern: print($A)\n  inside:\n    kind: function_definition\n    stopBy: end\n"
    ));
    // The function's name is in its header, parsed whenever its body is.
    assert!(body_local(
        "  pattern: $A == None\n  inside:\n    kind: function_definition\n    has: {field: name, regex: ^eq$}\n    stopBy: end\n"
    ));
    assert!(!body_local(
        "  pattern: $A == None\n  inside:\n    kind: function_definition\n    has: {field: body, regex: x}\n    stopBy: end\n"
    ));
    assert!(!body_local(
        "  pattern: $A == None\n  inside:\n    kind: function_definition\n    has: {pattern: x = 1, stopBy: end}\n    stopBy: end\n"
    ));
    assert!(local("  kind: function_definition\n"));
    assert!(!body_local("  kind: function_definition\n"));
    assert!(!body_local(
        "  pattern: print($A)\n  inside:\n    pattern: \"def $F($$$P): $$$B\"\n    stopBy: end\n"
    ));
}

#[test]
fn rust_impl_blocks_are_cut_into_members() {
    // A match inside an impl block's method: found by the partial parse,
    // then reported from the full one.
    let root = root();
    let s = stats(
        &root,
        &["--rule", "rules/rust", "fixtures/partial/blocks.rs"],
        true,
    );
    assert_eq!(s["partial_parse_matched_files"], 1, "{s}");

    // 200 methods in an impl; one spells `len() == 0` in a string only.
    let dir = tempfile::tempdir().expect("tempdir");
    let mut text = String::from("pub struct S;\n\nimpl S {\n");
    for i in 0..200 {
        text.push_str(&format!(
            "    pub fn m{i}(&self, x: u32) -> u32 {{\n        x + {i}\n    }}\n\n"
        ));
    }
    text.push_str("    pub fn last(&self) -> &str {\n        \"v.len() == 0\"\n    }\n}\n");
    std::fs::write(dir.path().join("big.rs"), &text).expect("write");
    std::fs::copy(
        root.join("rules/rust/len-zero.yml"),
        dir.path().join("r.yml"),
    )
    .expect("copy rule");
    settled_sparing(dir.path(), "big.rs", text.len(), 90);
    // With a real match in that method, the file is rewritten as before.
    std::fs::write(
        dir.path().join("big.rs"),
        text.replace(
            "\"v.len() == 0\"",
            "if self.0.len() == 0 { \"a\" } else { \"b\" }",
        ),
    )
    .expect("write");
    let out = refactor(dir.path(), &["apply", "--rule", "r.yml", "big.rs"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("+        if self.0.is_empty()"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn rust_function_bodies_are_cut_into_statements() {
    use refactor::rule::load::load_one;
    // Every shipped Rust rule can cut bodies: `len-zero` looks at the
    // name of the function around its match, which is in the header.
    for entry in std::fs::read_dir(root().join("rules/rust")).expect("rules") {
        let path = entry.expect("entry").path();
        let name = path.to_string_lossy().into_owned();
        if name.ends_with(".test.yml") {
            continue;
        }
        let text = std::fs::read_to_string(&path).expect("read rule");
        let rule = load_one(&path, 1, &text).expect("rule compiles");
        assert!(rule.body_local, "{name}");
    }
    // The fixture's matches (after a struct literal's `.build()`, beside an
    // `else` on its own line, in a body's value) are found by the partial
    // parse and rewritten as a full parse would; `is_empty` keeps its
    // `len() == 0`.
    let root = root();
    let s = stats(
        &root,
        &["--rule", "rules/rust", "fixtures/partial/bodies.rs"],
        true,
    );
    assert_eq!(s["partial_parse_matched_files"], 1, "{s}");
    let args = [
        "apply",
        "--rule",
        "rules/rust",
        "fixtures/partial/bodies.rs",
    ];
    let diff = stdout(&checked(&root, &args));
    assert!(diff.contains("+        if items.is_empty() {"), "{diff}");
    assert!(
        diff.contains("+    !stack.items.is_empty()\n         && c == 3"),
        "{diff}"
    );
    assert!(!diff.contains("-        self.items.len() == 0"), "{diff}");
    let whole = refactor(&root, &[&args[..], &["--no-prefilter"]].concat());
    assert_eq!(stdout(&whole), diff);

    // One function of 400 statements; one spells `len() == 0` in a string.
    let dir = tempfile::tempdir().expect("tempdir");
    let mut text = String::from("pub fn big(v: &[u32]) -> u32 {\n    let mut t = 0;\n");
    for i in 0..400 {
        text.push_str(&format!("    t += v[{i} % v.len()] * {i};\n"));
    }
    text.push_str("    let s = \"v.len() == 0\";\n    t\n}\n");
    std::fs::write(dir.path().join("big.rs"), &text).expect("write");
    std::fs::copy(
        root.join("rules/rust/len-zero.yml"),
        dir.path().join("r.yml"),
    )
    .expect("copy rule");
    settled_sparing(dir.path(), "big.rs", text.len(), 95);
    // A real match there is rewritten, checked against a full parse.
    let text = text.replace("let s = \"v.len() == 0\";", "let s = v.len() == 0;");
    std::fs::write(dir.path().join("big.rs"), &text).expect("write");
    rewritten_from_partial(dir.path(), "big.rs", "+    let s = v.is_empty();");
}

#[test]
fn a_rewrite_that_breaks_a_unit_is_refused_and_one_that_does_not_is_checked_by_its_units() {
    // A big file; the rule's rewrite is checked by parsing only the
    // statements it changed (self-check on: a full parse must agree).
    let dir = tempfile::tempdir().expect("tempdir");
    let mut text = String::from("class K:\n");
    for i in 0..100 {
        text.push_str(&format!(
            "    def m{i}(self, x):\n        return x + {i}\n\n"
        ));
    }
    text.push_str("    def last(self, x):\n        y = 1\n        return x == None\n");
    std::fs::write(dir.path().join("a.py"), &text).expect("write");
    let rule =
        |fix: &str| format!("id: t\nlanguage: python\nrule:\n  pattern: $A == None\nfix: {fix}\n");
    std::fs::write(dir.path().join("good.yml"), rule("$A is None")).expect("write");
    // `(` left open, and a string left open: the file must stay unchanged.
    std::fs::write(dir.path().join("bad.yml"), rule("\"$A is (\"")).expect("write");
    std::fs::write(dir.path().join("open.yml"), rule("\"'''$A\"")).expect("write");
    let out = checked(dir.path(), &["apply", "--rule", "good.yml", "a.py"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("+        return x is None"),
        "{}",
        stdout(&out)
    );
    for bad in ["bad.yml", "open.yml"] {
        for run in [checked, refactor] {
            let out = run(dir.path(), &["apply", "--write", "--rule", bad, "a.py"]);
            assert!(
                stderr(&out)
                    .contains("a.py: the rewrite introduces parse errors; file left unchanged"),
                "{bad}: {}",
                stderr(&out)
            );
            assert_eq!(
                std::fs::read_to_string(dir.path().join("a.py")).unwrap(),
                text
            );
        }
    }
}

#[test]
fn a_rewrite_in_a_language_without_a_splitter_is_checked_by_an_incremental_reparse() {
    // TypeScript is parsed whole; its rewrite is reparsed from the
    // original's tree (self-check on: a fresh parse must count the same
    // errors). A rewrite that breaks the file leaves it unchanged.
    let dir = tempfile::tempdir().expect("tempdir");
    let mut text = String::new();
    for i in 0..200 {
        text.push_str(&format!(
            "export function f{i}(x: number): number {{\n  return x + {i};\n}}\n\n"
        ));
    }
    text.push_str("let last: any = 1;\nconst s = `tpl ${last}`;\n");
    std::fs::write(dir.path().join("a.ts"), &text).expect("write");
    let rule = |fix: &str| {
        format!("id: t\nlanguage: typescript\nrule:\n  kind: predefined_type\n  regex: ^any$\nfix: {fix}\n")
    };
    std::fs::write(dir.path().join("good.yml"), rule("unknown")).expect("write");
    std::fs::write(dir.path().join("bad.yml"), rule("\"{\"")).expect("write");
    let out = checked(
        dir.path(),
        &["apply", "--write", "--rule", "good.yml", "a.ts"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let written = std::fs::read_to_string(dir.path().join("a.ts")).unwrap();
    assert_eq!(written, text.replace("let last: any", "let last: unknown"));
    std::fs::write(dir.path().join("a.ts"), &text).expect("write");
    for run in [checked, refactor] {
        let out = run(
            dir.path(),
            &["apply", "--write", "--rule", "bad.yml", "a.ts"],
        );
        assert!(
            stderr(&out).contains("a.ts: the rewrite introduces parse errors; file left unchanged"),
            "{}",
            stderr(&out)
        );
        assert_eq!(
            std::fs::read_to_string(dir.path().join("a.ts")).unwrap(),
            text
        );
    }
}

#[test]
fn typescript_items_far_from_the_match_are_not_parsed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut text = String::from("import { a } from './a';\n\n");
    for i in 0..200 {
        text.push_str(&format!(
            "export interface I{i} {{\n  f{i}(x: string): number;\n}}\n\nexport function g{i}(x: number): number {{\n  return x + {i};\n}}\n\n"
        ));
    }
    text.push_str("export const last = 'x == null';\n");
    std::fs::write(dir.path().join("a.ts"), &text).expect("write");
    std::fs::write(
        dir.path().join("r.yml"),
        "id: t\nlanguage: typescript\nrule:\n  pattern: $A == null\nfix: $A === null\n",
    )
    .expect("write");
    settled_sparing(dir.path(), "a.ts", text.len(), 95);
    // A real match in a function: found by the partial parse, reported
    // as a full parse would.
    let text = text.replace("return x + 7;", "return x == null ? 0 : 7;");
    std::fs::write(dir.path().join("a.ts"), &text).expect("write");
    rewritten_from_partial(dir.path(), "a.ts", "+  return x === null ? 0 : 7;");

    // A match labelled with an ancestor in its unit (`ts-any-to-unknown`
    // labels the `type_annotation` around `any`): reported from the
    // partial parse, labels included, as a full parse reports it.
    let text = text.replace("f7(x: string)", "f7(x: any)");
    std::fs::write(dir.path().join("a.ts"), &text).expect("write");
    let rule = root().join("rules/typescript/any-to-unknown.yml");
    let rule = rule.to_str().expect("utf-8 path");
    let s = stats(dir.path(), &["--rule", rule, "a.ts"], false);
    assert_eq!(s["partial_parse_matched_files"], 1, "{s}");
    assert_eq!(s["partial_parse_reparsed_files"], 0, "{s}");
    let report = |extra: &[&str]| {
        let mut args = vec![
            "check",
            "--format",
            "json",
            "--fail-on",
            "never",
            "--rule",
            rule,
        ];
        args.extend_from_slice(extra);
        args.push("a.ts");
        let out = checked(dir.path(), &args);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        stdout(&out)
    };
    let partial = report(&[]);
    assert!(partial.contains("\"labels\""), "{partial}");
    assert_eq!(partial, report(&["--no-prefilter"]));
}

#[test]
fn typescript_interface_class_and_namespace_members_far_from_the_match_are_not_parsed() {
    // A declaration file shaped like TypeScript's own: one namespace of
    // interfaces and classes, each of many members.
    let dir = tempfile::tempdir().expect("tempdir");
    let mut text = String::from("declare namespace lib {\n");
    for i in 0..100 {
        text.push_str(&format!("    export interface I{i} extends Base {{\n"));
        for k in 0..20 {
            text.push_str(&format!("        f{k}(x: string, y: number): I{i};\n"));
        }
        text.push_str("    }\n");
        text.push_str(&format!("    class C{i} {{\n        a{i}: string = 'x';\n        m{i}(): void {{\n            run();\n        }}\n    }}\n"));
    }
    text.push_str("}\n");
    std::fs::write(dir.path().join("lib.d.ts"), &text).expect("write");
    let rule = root().join("rules/typescript/any-to-unknown.yml");
    std::fs::copy(&rule, dir.path().join("r.yml")).expect("copy");
    // The word `any` in one member, but not as a type: only that member
    // (with the headers around it) is parsed, and it holds no match.
    let text = text.replace(
        "f3(x: string, y: number): I42;",
        "f3(x: \"any\", y: number): I42;",
    );
    std::fs::write(dir.path().join("lib.d.ts"), &text).expect("write");
    settled_sparing(dir.path(), "lib.d.ts", text.len(), 98);
    // A real match in one member: found and rewritten from the partial
    // parse, as a whole parse would.
    let text = text.replace(
        "f7(x: string, y: number): I61;",
        "f7(x: any, y: number): I61;",
    );
    std::fs::write(dir.path().join("lib.d.ts"), &text).expect("write");
    rewritten_from_partial(
        dir.path(),
        "lib.d.ts",
        "+        f7(x: unknown, y: number): I61;",
    );
    let s = stats(dir.path(), &["--rule", "r.yml", "lib.d.ts"], false);
    assert_eq!(s["partial_parse_matched_files"], 1, "{s}");
}

#[test]
fn a_unit_is_kept_for_its_own_literals_not_those_of_the_block_around_it() {
    // The rule needs `check_` in the file, but the statement that holds
    // the match does not spell it: the function's name lies in the header
    // around it. The statement must still be parsed (a unit is chosen by
    // what the match itself needs, not an `inside` target's literals).
    let dir = tempfile::tempdir().expect("tempdir");
    let mut text = String::from("def check_value(x):\n");
    for i in 0..300 {
        text.push_str(&format!("    y{i} = x + {i}\n"));
    }
    text.push_str("    return x == None\n\n\ndef other(x):\n    return x == None\n");
    std::fs::write(dir.path().join("a.py"), &text).expect("write");
    std::fs::write(
        dir.path().join("r.yml"),
        "id: t\nlanguage: python\nrule:\n  pattern: $A == None\n  inside:\n    kind: function_definition\n    stopBy: end\n    has:\n      field: name\n      regex: ^check_\nfix: $A is None\n",
    )
    .expect("write");
    let out = checked(dir.path(), &["apply", "--rule", "r.yml", "a.py"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let diff = stdout(&out);
    assert_eq!(diff.matches("+    return x is None").count(), 1, "{diff}");
    let whole = refactor(
        dir.path(),
        &["apply", "--no-prefilter", "--rule", "r.yml", "a.py"],
    );
    assert_eq!(stdout(&whole), diff);
    // The partial parse found the match (and, the function around it
    // being a block whose extent it does not know, sent the file on to a
    // whole parse).
    let s = stats(dir.path(), &["--rule", "r.yml", "a.py"], false);
    assert_eq!(s["partial_parse_reparsed_files"], 1, "{s}");
}
