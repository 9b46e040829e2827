//! A model's CPU graph (`onnx_cpu` in model.json): ONNX Runtime's CPU execution
//! provider runs it, every other engine the float graph; a CPU graph ONNX Runtime
//! rejects falls back to the float graph; a missing or mismatched one is an error
//! naming its file. Skipped, with a note, where ONNX Runtime is not installed.

mod common;

use std::process::{Command, Output};

use common::*;
use serde_json::Value;

fn ort_available() -> bool {
    match refactor::denoise::engine::onnxruntime::find_and_init() {
        Ok(_) => true,
        Err(e) if std::env::var_os("REFACTOR_REQUIRE_ORT").is_some_and(|v| v == "1") => {
            panic!("ONNX Runtime was installed for this run but cannot be loaded: {e:#}")
        }
        Err(e) => {
            eprintln!("SKIPPED: CPU graph tests (ONNX Runtime not installed): {e}");
            false
        }
    }
}

/// `refactor eval` on the fixture sites with `model`, under `engine` (`REFACTOR_ENGINE`)
/// and `graph` (`REFACTOR_CPU_GRAPH`); returns the summary, the per-site guesses and stderr.
fn eval(model: &str, engine: &str, graph: Option<&str>) -> (Value, Vec<String>, String) {
    let sites = tempfile::NamedTempFile::new().unwrap();
    let m = fixture(model).to_string_lossy().into_owned();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_refactor"));
    cmd.args([
        "eval",
        "--model",
        &m,
        "--task",
        "py-return-type",
        "--threshold",
        "0.1",
        "fixtures/eval/py",
    ])
    .current_dir(root())
    .env("NO_COLOR", "1")
    .env("REFACTOR_ENGINE", engine)
    .env("REFACTOR_EVAL_SITES", sites.path())
    .env_remove("REFACTOR_CPU_GRAPH");
    if let Some(g) = graph {
        cmd.env("REFACTOR_CPU_GRAPH", g);
    }
    let out: Output = cmd.output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let last = stdout(&out).lines().last().unwrap().to_string();
    let guesses = std::fs::read_to_string(sites.path())
        .unwrap()
        .lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            format!("{} {}", v["guess"], v["confidence"])
        })
        .collect();
    (serde_json::from_str(&last).unwrap(), guesses, stderr(&out))
}

#[test]
fn the_cpu_provider_runs_the_cpu_graph_and_other_engines_the_float_one() {
    if !ort_available() {
        return;
    }
    // `cpu_graph` is the lookup model whose CPU graph is tiny_transformer's.
    let (j, cpu, err) = eval("models/cpu_graph", "ort", None);
    assert_eq!(j["device"], "onnxruntime (CPU, model.cpu.onnx)");
    assert!(err.contains("graph model.cpu.onnx"), "{err}");
    let (_, tiny, _) = eval("models/tiny_transformer", "ort", None);
    assert_eq!(cpu, tiny, "the CPU provider must run the CPU graph");

    let (_, lookup, _) = eval("models/lookup", "ort", None);
    assert_ne!(lookup, tiny, "the two graphs must be told apart");
    // The embedded engine runs the float graph, and so does ONNX Runtime when asked.
    let (j, tract, _) = eval("models/cpu_graph", "tract", None);
    assert_eq!(j["device"], "tract");
    assert_eq!(tract.len(), lookup.len());
    for (a, b) in tract.iter().zip(&lookup) {
        assert_eq!(
            a.split(' ').next(),
            b.split(' ').next(),
            "tract runs the float graph"
        );
    }
    let (j, float, err) = eval("models/cpu_graph", "ort", Some("float"));
    assert_eq!(j["device"], "onnxruntime (CPU)");
    assert!(!err.contains("model.cpu.onnx"), "{err}");
    assert_eq!(float, lookup);
}

#[test]
fn a_cpu_graph_onnx_runtime_rejects_falls_back_to_the_float_graph() {
    if !ort_available() {
        return;
    }
    let (j, guesses, err) = eval("models/bad_cpu_graph", "ort", None);
    assert!(
        err.contains("rejected the model's CPU graph") && err.contains("running the float graph"),
        "{err}"
    );
    assert_eq!(j["device"], "onnxruntime (CPU)");
    let (_, lookup, _) = eval("models/lookup", "ort", None);
    assert_eq!(guesses, lookup);
}

/// A model folder like `cpu_graph` whose CPU graph is `cpu` (None: absent).
fn model_with_cpu_graph(cpu: Option<&str>) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&fixture("models/cpu_graph"), dir.path());
    std::fs::remove_file(dir.path().join("model.cpu.onnx")).unwrap();
    if let Some(src) = cpu {
        std::fs::copy(fixture(src), dir.path().join("model.cpu.onnx")).unwrap();
    }
    dir
}

#[test]
fn a_missing_or_mismatched_cpu_graph_is_an_error_naming_it() {
    // Checked when the model loads, before any engine: no ONNX Runtime needed.
    for (cpu, want) in [
        (None, "cannot read the CPU graph"),
        (Some("models/no_query/model.onnx"), "model.cpu.onnx"),
        (Some("models/lookup/tokenizer.json"), "model.cpu.onnx"),
    ] {
        let dir = model_with_cpu_graph(cpu);
        let m = dir.path().to_string_lossy().into_owned();
        let work = copy_fixture("holes");
        let before = snapshot(work.path());
        let out = refactor(
            work.path(),
            &[
                "apply",
                "--model",
                &m,
                "--rule",
                &root().join("rules/holes").to_string_lossy(),
                "--write",
                ".",
            ],
        );
        assert_eq!(out.status.code(), Some(2), "{cpu:?}: {}", stderr(&out));
        let err = stderr(&out);
        assert!(err.contains(want), "{cpu:?}: {err}");
        assert_eq!(snapshot(work.path()), before, "nothing is written");
    }
}

/// The shipped model's CPU graph (int8 matrix products) gives the float graph's
/// fills on the README's example: same text and status for every hole, and
/// confidences within 0.05.
#[test]
fn the_shipped_cpu_graph_fills_like_the_float_graph() {
    if !ort_available() || !refactor::denoise::model::has_default_model() {
        return;
    }
    let run = |graph: Option<&str>| -> Vec<(String, String, String, f64)> {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_refactor"));
        cmd.args(["apply", "--rule", "rules/holes", "--json", "fixtures/holes"])
            .current_dir(root())
            .env("NO_COLOR", "1")
            .env("REFACTOR_ENGINE", "ort")
            .env_remove("REFACTOR_CPU_GRAPH");
        if let Some(g) = graph {
            cmd.env("REFACTOR_CPU_GRAPH", g);
        }
        let out = cmd.output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        let mut holes = Vec::new();
        for line in stdout(&out).lines().filter(|l| l.starts_with('{')) {
            let v: Value = serde_json::from_str(line).unwrap();
            for h in v["holes"].as_array().into_iter().flatten() {
                holes.push((
                    format!("{}:{}", v["file"], v["range"]["start"]["line"]),
                    h["text"].to_string(),
                    h["status"].to_string(),
                    h["confidence"].as_f64().unwrap_or(-1.0),
                ));
            }
        }
        holes
    };
    let float = run(Some("float"));
    let cpu = run(None);
    assert!(float.len() >= 20, "{float:?}");
    assert_eq!(float.len(), cpu.len());
    for (f, c) in float.iter().zip(&cpu) {
        assert_eq!((&f.0, &f.1, &f.2), (&c.0, &c.1, &c.2));
        assert!((f.3 - c.3).abs() < 0.05, "{f:?} vs {c:?}");
    }
}
