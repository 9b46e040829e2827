//! `refactor eval` end to end on fixtures/eval/ with the hand-built `lookup` model,
//! whose every fill is "AB" at confidence 0.4607 (see tests/holes_rules.rs): the
//! fixtures put "AB" as the answer at known sites, so every number is computable.

mod common;

use common::*;
use serde_json::Value;

fn eval(args: &[&str]) -> (Value, String) {
    let m = fixture("models/lookup").to_string_lossy().into_owned();
    let mut all = vec!["eval", "--model", m.as_str()];
    all.extend_from_slice(args);
    let out = refactor(&root(), &all);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let so = stdout(&out);
    let last = so.lines().last().expect("a JSON line").to_string();
    (serde_json::from_str(&last).expect("json"), so)
}

#[test]
fn return_types_exact_match_applied_and_baselines() {
    let (j, _) = eval(&["--task", "py-return-type", "fixtures/eval/py"]);
    assert_eq!(j["task"], "py-return-type");
    assert_eq!(j["sites"], 4);
    // answers: int (app.py), AB, float, str (shapes.py); the guess is always AB
    assert_eq!(j["exact_match"], 0.25);
    assert_eq!(j["applied"], 0.0);
    assert_eq!(j["applied_precision"], Value::Null);
    assert_eq!(j["baseline_most_frequent"], 0.25);
    assert_eq!(j["most_frequent_answer"], "int");
    // prefix decoding, the default: A (.95) in the first pass, then B (.50,
    // the leftmost open position) and the end of the hole (.97) in the second
    assert_eq!(j["forward_passes"], 2);
    assert_eq!(j["decode"], "prefix");
    // no --threshold: each hole takes its kind's calibrated default (docs/eval.md)
    assert_eq!(j["threshold"], Value::Null);
    assert!(j["device"].as_str().unwrap().len() > 2);
    // Decoding time is measured, not defaulted: present, positive and less
    // than the whole process took.
    let started = std::time::Instant::now();
    let (again, _) = eval(&["--task", "py-return-type", "fixtures/eval/py"]);
    let wall = started.elapsed().as_secs_f64();
    let secs = again["seconds"].as_f64().expect("seconds is a number");
    assert!(secs > 0.0 && secs < wall, "seconds {secs}, process {wall}");
    assert!(j["tokens_per_pass"].as_f64().unwrap() > 0.0);

    let (j, _) = eval(&[
        "--task",
        "py-return-type",
        "--threshold",
        "0.4",
        "fixtures/eval/py",
    ]);
    assert_eq!(j["applied"], 1.0);
    assert_eq!(j["applied_precision"], 0.25);
    assert_eq!(j["applied_exact"], 0.25);
}

#[test]
fn every_task_counts_its_sites() {
    for (task, path, sites, exact) in [
        ("py-param-type", "fixtures/eval/py", 9, 0.1111),
        // sides=, verbose= twice: the callee's only names left (AB= is not one)
        ("py-kwarg-name", "fixtures/eval/py", 4, 0.75),
        ("py-local-name", "fixtures/eval/py", 5, 0.4),
        ("rs-let-type", "fixtures/eval/rs", 3, 0.3333),
    ] {
        let (j, _) = eval(&["--task", task, path]);
        assert_eq!(j["task"], task);
        assert_eq!(j["sites"], sites, "{task}: {j}");
        assert_eq!(j["exact_match"], exact, "{task}: {j}");
    }
}

#[test]
fn sequential_decoding_and_limit() {
    let (j, _) = eval(&[
        "--task",
        "py-param-type",
        "--decode",
        "sequential",
        "--limit",
        "2",
        "fixtures/eval/py",
    ]);
    assert_eq!(j["decode"], "sequential");
    assert_eq!(j["sites"], 2);
    // "A", "B", then <|eoh|>: one token per slot per step
    assert_eq!(j["forward_passes"], 3);
}

#[test]
fn per_site_dump_names_answers_and_guesses() {
    let dump = tempfile::NamedTempFile::new().unwrap();
    let m = fixture("models/lookup").to_string_lossy().into_owned();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_refactor"))
        .args([
            "eval",
            "--model",
            &m,
            "--task",
            "py-local-name",
            "fixtures/eval/py",
        ])
        .current_dir(root())
        .env("REFACTOR_EVAL_SITES", dump.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = std::fs::read_to_string(dump.path()).unwrap();
    let sites: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let answers: Vec<&str> = sites
        .iter()
        .map(|s| s["answer"].as_str().unwrap())
        .collect();
    // first assignment of each local, parameters excluded, path then text order
    assert_eq!(answers, vec!["sq", "AB", "shape", "AB", "text"]);
    assert!(sites
        .iter()
        .all(|s| s["guess"] == "AB" && s["status"] == "unresolved"));
}

#[test]
fn all_tasks_print_one_line_each_and_unknown_task_fails() {
    let (_, so) = eval(&["--task", "all", "fixtures/eval"]);
    let lines: Vec<Value> = so
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 5);
    let out = refactor(&root(), &["eval", "--task", "nope", "fixtures/eval"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("unknown eval task"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn keyword_names_rank_the_callees_parameters_unless_off() {
    let (j, _) = eval(&["--task", "py-kwarg-name", "fixtures/eval/py"]);
    assert_eq!(j["exact_match"], 0.75, "{j}");
    assert_eq!(j["ranked"], 1.0, "{j}");
    // one name left at each site: certain, so applied and not even scored; the AB=
    // site is the one miss
    assert_eq!(j["applied"], 1.0, "{j}");
    assert_eq!(j["applied_precision"], 0.75, "{j}");
    assert_eq!(j["candidate_rows"], 0, "{j}");
    let (j, _) = eval(&[
        "--task",
        "py-kwarg-name",
        "--candidates",
        "off",
        "fixtures/eval/py",
    ]);
    assert_eq!(j["exact_match"], 0.25, "{j}");
    assert_eq!(j["ranked"], 0.0, "{j}");
    assert_eq!(j["candidate_rows"], 0, "{j}");
}

/// Type holes rank the annotations the code writes for the same parameter name, or
/// for the return of a function of the same name, against their free decoding
/// (fixtures/eval/types: `path: AB` and `read(...) -> AB` are written again in b.py;
/// with `--limit 1` only a.py's first site is taken out).
#[test]
fn type_holes_rank_the_annotations_the_code_writes() {
    for task in ["py-param-type", "py-return-type"] {
        let (on, _) = eval(&["--task", task, "--limit", "1", "fixtures/eval/types"]);
        assert_eq!(on["sites"], 1, "{task}: {on}");
        assert_eq!(on["ranked"], 1.0, "{task}: {on}");
        assert_eq!(on["exact_match"], 1.0, "{task}: {on}");
        assert!(on["candidate_rows"].as_u64().unwrap() > 0, "{task}: {on}");
        let (off, _) = eval(&[
            "--task",
            task,
            "--limit",
            "1",
            "--candidates",
            "off",
            "fixtures/eval/types",
        ]);
        assert_eq!(off["ranked"], 0.0, "{task}: {off}");
        assert_eq!(off["candidate_rows"], 0, "{task}: {off}");
    }
    // Every site taken out: no annotation of `path` or `read` is left to offer.
    let (all, _) = eval(&["--task", "py-param-type", "fixtures/eval/types"]);
    assert_eq!(all["sites"], 5, "{all}");
    assert_eq!(all["ranked"], 0.0, "{all}");
}
