//! The embedded engine (tract) and ONNX Runtime give the same logits and fills.
//! Skipped, with a note, when no ONNX Runtime library is found (`pip install
//! onnxruntime` or set ORT_DYLIB_PATH to run it).

use std::path::{Path, PathBuf};

use refactor::denoise::engine::{self, onnxruntime, EngineChoice};
use refactor::denoise::model::Model;
use refactor::denoise::{
    ContextIndex, DecodeMode, DecodeOptions, Denoiser, Device, FileHoles, HoleSite, ModelSource,
};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/models")
        .join(name)
}

fn load(name: &str) -> Model {
    Model::load(&ModelSource::Path(fixture(name))).unwrap()
}

/// Whether ONNX Runtime can be loaded. Where it was never installed the
/// parity checks are skipped with the reason printed; where CI installed it
/// (`REFACTOR_REQUIRE_ORT=1`), failing to load it fails the test instead of
/// quietly turning the parity checks into no-ops.
fn ort_available() -> bool {
    match onnxruntime::find_and_init() {
        Ok(p) => {
            eprintln!("ONNX Runtime: {}", p.display());
            true
        }
        Err(e) if std::env::var_os("REFACTOR_REQUIRE_ORT").is_some_and(|v| v == "1") => {
            panic!("ONNX Runtime was installed for this run but cannot be loaded: {e:#}")
        }
        Err(e) => {
            eprintln!("SKIPPED: tract vs ONNX Runtime parity (ONNX Runtime not installed): {e}");
            false
        }
    }
}

fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0f32, f32::max)
}

fn files() -> Vec<FileHoles> {
    let a = "from typing import List\n\ndef load(self, items: List[str]) -> Optional[Dict[str, int]]:\n    result = None\n";
    let b = "struct Point { x: f64, y: f64 }\nfn main() { let x: i32 = 1; println!(\"{}\", x); }\n";
    vec![
        FileHoles {
            path: "a.py".into(),
            text: a.into(),
            holes: vec![
                HoleSite {
                    name: "T".into(),
                    offset: a.find("str]").unwrap(),
                    max_tokens: 6,
                    tie_key: None,
                },
                HoleSite {
                    name: "R".into(),
                    offset: a.find(" None").unwrap(),
                    max_tokens: 4,
                    tie_key: None,
                },
            ],
        },
        FileHoles {
            path: "b.rs".into(),
            text: b.into(),
            holes: vec![HoleSite {
                name: "T".into(),
                offset: b.find("i32").unwrap(),
                max_tokens: 8,
                tie_key: None,
            }],
        },
    ]
}

#[test]
fn tract_and_onnxruntime_agree() {
    if !ort_available() {
        return;
    }
    for name in ["tiny_transformer", "lookup", "no_query"] {
        let model = load(name);
        let tract = engine::create_with(&model, Device::Cpu, EngineChoice::Tract).unwrap();
        let ort = engine::create_with(&model, Device::Cpu, EngineChoice::Ort).unwrap();
        assert_eq!(ort.name(), "onnxruntime (CPU)");
        // raw logits on a two-row batch
        let seq = 64;
        let mut ids: Vec<i64> = (0..2 * seq as i64).map(|i| (i * 37 + 11) % 400).collect();
        let mut mask = vec![1i64; 2 * seq];
        for j in 50..seq {
            ids[seq + j] = 0;
            mask[seq + j] = 0;
        }
        let q: Vec<i64> = vec![3, 10, 20, 63, 0, 5, 49, 49];
        let a = tract.run(&ids, &mask, 2, seq, &q, 4).unwrap();
        let b = ort.run(&ids, &mask, 2, seq, &q, 4).unwrap();
        assert_eq!(a.len(), 2 * 4 * 400);
        let max = max_abs_diff(&a, &b);
        assert!(max < 1e-3, "{name}: max |tract - ort| = {max}");

        // whole decoding runs
        let dt = Denoiser::from_parts(load(name), tract);
        let do_ = Denoiser::from_parts(load(name), ort);
        for mode in [DecodeMode::Parallel, DecodeMode::Sequential] {
            let o = DecodeOptions {
                mode,
                threshold: 0.9,
                ..Default::default()
            };
            let ctx = ContextIndex::build(files().into_iter().map(|f| (f.path, f.text)));
            let (ft, st) = dt.fill(&files(), &ctx, &o).unwrap();
            let (fo, so) = do_.fill(&files(), &ctx, &o).unwrap();
            assert_eq!(st.forward_passes, so.forward_passes, "{name} {mode:?}");
            for (x, y) in ft.iter().flatten().zip(fo.iter().flatten()) {
                assert_eq!(x.text, y.text, "{name} {mode:?}");
                assert_eq!(x.steps, y.steps, "{name} {mode:?}");
                assert!(
                    (x.confidence - y.confidence).abs() < 1e-3,
                    "{name} {mode:?}"
                );
            }
        }
    }
}

#[test]
fn device_cuda_without_gpu_is_an_error() {
    if !ort_available() {
        return;
    }
    let model = load("lookup");
    // A CPU-only ONNX Runtime cannot honour --device cuda: an error, not a fallback.
    if !<ort::ep::CUDA as ort::ep::ExecutionProvider>::is_available().unwrap_or(false) {
        let e = engine::create_with(&model, Device::Cuda, EngineChoice::Auto)
            .err()
            .expect("error");
        assert!(format!("{e:#}").contains("CUDA"), "{e:#}");
    }
    let e = engine::create_with(&model, Device::Cuda, EngineChoice::Tract)
        .err()
        .expect("error");
    assert!(format!("{e:#}").contains("ONNX Runtime"), "{e:#}");
}

/// The shipped default (embedded) model runs on the embedded engine, which is what a
/// fresh machine without ONNX Runtime uses, and agrees with ONNX Runtime where present.
/// Its copy head adds `Sigmoid`/`Log` and a one-hot `Equal`/`Cast`/`MatMul`; its
/// outputs are log-probabilities, so each row's softmax must sum to one either way.
#[test]
fn shipped_default_model_runs_on_tract_and_agrees_with_onnxruntime() {
    if !refactor::denoise::model::has_default_model() {
        eprintln!("NOTE: no default model embedded in this build");
        return;
    }
    let model = Model::load(&ModelSource::Default).unwrap();
    let vocab = model.vocab_size();
    let tract = engine::create_with(&model, Device::Cpu, EngineChoice::Tract).unwrap();
    let seq = 48;
    let mut ids: Vec<i64> = (0..2 * seq as i64).map(|i| 40 + (i * 131) % 5000).collect();
    let mut mask = vec![1i64; 2 * seq];
    for j in 40..seq {
        ids[seq + j] = 0;
        mask[seq + j] = 0;
    }
    ids[7] = 5; // a slot position <|m0|>
    let q: Vec<i64> = vec![7, 8, 20, 3, 39, 0];
    let a = tract.run(&ids, &mask, 2, seq, &q, 3).unwrap();
    assert_eq!(a.len(), 2 * 3 * vocab);
    for row in a.chunks(vocab) {
        assert!(row.iter().all(|x| x.is_finite()));
        let m = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let z: f32 = row.iter().map(|x| (x - m).exp()).sum::<f32>().ln() + m;
        // log-probabilities of the vocabulary/copy mixture: they already sum to one
        assert!(z.abs() < 1e-3, "log-sum-exp of a row is {z}");
    }
    if !ort_available() {
        return;
    }
    // ONNX Runtime on the float graph: the same computation as tract.
    let mut float_only = Model::load(&ModelSource::Default).unwrap();
    let cpu_graph = float_only.onnx_cpu.take();
    let ort = engine::create_with(&float_only, Device::Cpu, EngineChoice::Ort).unwrap();
    assert_eq!(ort.name(), "onnxruntime (CPU)");
    let b = ort.run(&ids, &mask, 2, seq, &q, 3).unwrap();
    let max = max_abs_diff(&a, &b);
    assert!(max < 1e-3, "default model: max |tract - ort| = {max}");
    // The CPU graph (int8 matrix products) agrees in probabilities, not to the bit.
    if cpu_graph.is_some() {
        let ort = engine::create_with(&model, Device::Cpu, EngineChoice::Ort).unwrap();
        assert_eq!(ort.name(), "onnxruntime (CPU, model.cpu.onnx)");
        let c = ort.run(&ids, &mask, 2, seq, &q, 3).unwrap();
        for (x, y) in a.chunks(vocab).zip(c.chunks(vocab)) {
            let p = |v: &[f32]| v.iter().map(|l| l.exp()).collect::<Vec<f32>>();
            let (px, py) = (p(x), p(y));
            let max = max_abs_diff(&px, &py);
            assert!(
                max < 0.05,
                "default model: max |p_tract - p_cpu_graph| = {max}"
            );
            let argmax = |v: &[f32]| (0..v.len()).max_by(|&i, &j| v[i].total_cmp(&v[j]));
            assert_eq!(argmax(&px), argmax(&py));
        }
    }
}

/// An engine that lets the decoder cut rows to their content, wrapping a real
/// one (the shipped engines keep full rows).
struct CutRows(Box<dyn engine::Engine>);

impl engine::Engine for CutRows {
    fn name(&self) -> &str {
        self.0.name()
    }
    fn fixed_seq_len(&self) -> bool {
        false
    }
    fn run(
        &self,
        ids: &[i64],
        mask: &[i64],
        batch: usize,
        seq: usize,
        q: &[i64],
        k: usize,
    ) -> anyhow::Result<Vec<f32>> {
        self.0.run(ids, mask, batch, seq, q, k)
    }
}

/// For a model that masks padding out of every head (the fixture models), rows
/// cut to their content give the same fills, steps and confidences as full
/// rows, with fewer token positions sent; the shipped engines keep full rows.
#[test]
fn rows_cut_to_their_content_give_the_same_fills_as_full_rows() {
    for name in ["tiny_transformer", "lookup"] {
        let model = load(name);
        let full_engine = engine::create_with(&model, Device::Cpu, EngineChoice::Tract).unwrap();
        assert!(full_engine.fixed_seq_len());
        let full = Denoiser::from_parts(load(name), full_engine);
        let cut = Denoiser::from_parts(
            load(name),
            Box::new(CutRows(
                engine::create_with(&model, Device::Cpu, EngineChoice::Tract).unwrap(),
            )),
        );
        for mode in [
            DecodeMode::Parallel,
            DecodeMode::Sequential,
            DecodeMode::Prefix,
        ] {
            let o = DecodeOptions {
                mode,
                threshold: 0.9,
                ..Default::default()
            };
            let ctx = ContextIndex::build(files().into_iter().map(|f| (f.path, f.text)));
            let (fc, sc) = cut.fill(&files(), &ctx, &o).unwrap();
            let (ff, sf) = full.fill(&files(), &ctx, &o).unwrap();
            assert_eq!(sc.forward_passes, sf.forward_passes, "{name} {mode:?}");
            assert!(
                sc.tokens_run < sf.tokens_run,
                "{name} {mode:?}: cut rows sent {} positions, full rows {}",
                sc.tokens_run,
                sf.tokens_run
            );
            assert_eq!(sc.tokens_content, sf.tokens_content, "{name} {mode:?}");
            let (fc, ff): (Vec<_>, Vec<_>) =
                (fc.iter().flatten().collect(), ff.iter().flatten().collect());
            assert_eq!(fc.len(), ff.len());
            assert!(!fc.is_empty());
            for (x, y) in fc.iter().zip(&ff) {
                assert_eq!(x.text, y.text, "{name} {mode:?}");
                assert_eq!(x.steps, y.steps, "{name} {mode:?}");
                assert!(
                    (x.confidence - y.confidence).abs() < 1e-3,
                    "{name} {mode:?}: {} vs {}",
                    x.confidence,
                    y.confidence
                );
            }
        }
    }
}
