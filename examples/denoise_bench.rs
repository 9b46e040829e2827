//! Denoiser runtime benchmark: forward passes and wall time per hole, parallel vs
//! sequential decoding, ONNX Runtime vs the embedded engine (tract), on the same inputs.
//!
//! ```text
//! cargo run --release --example denoise_bench -- [--model DIR] [--holes N] [--max-tokens N] [SRC_DIR]
//! ```
//! Holes are the return annotations (`-> T:`) of the Python files under SRC_DIR
//! (default `model/`), removed from the text; the fill is compared with the original.
//! Without `--model`: `model/default` if it holds a model, else the random
//! `fixtures/models/tiny_transformer` (timings only; its fills are noise). A random
//! model at the default's size: `python3 scripts/gen_test_models.py --bench /tmp/bench_model`.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result};
use refactor::denoise::engine::{self, onnxruntime, EngineChoice};
use refactor::denoise::model::Model;
use refactor::denoise::{
    ContextIndex, DecodeMode, DecodeOptions, Denoiser, Device, FileHoles, HoleSite, ModelSource,
};

fn main() -> Result<()> {
    let mut args = std::env::args().skip(1);
    let mut model_dir: Option<PathBuf> = None;
    let mut max_holes = 32usize;
    let mut max_tokens = 8usize;
    let mut src = PathBuf::from("model");
    while let Some(a) = args.next() {
        match a.as_str() {
            "--model" => model_dir = Some(args.next().context("--model DIR")?.into()),
            "--holes" => max_holes = args.next().context("--holes N")?.parse()?,
            "--max-tokens" => max_tokens = args.next().context("--max-tokens N")?.parse()?,
            other => src = other.into(),
        }
    }
    let model_dir = model_dir.unwrap_or_else(|| {
        if Path::new("model/default/model.json").exists() {
            "model/default".into()
        } else {
            "fixtures/models/tiny_transformer".into()
        }
    });
    let (files, truth, all) = sites(&src, max_holes, max_tokens)?;
    let n_holes: usize = files.iter().map(|f| f.holes.len()).sum();
    let ctx = ContextIndex::build(all);
    println!(
        "model {} | {} holes in {} files (max_tokens {max_tokens}) | context index {} names",
        model_dir.display(),
        n_holes,
        files.len(),
        ctx.len()
    );
    let mut engines = vec![EngineChoice::Tract];
    match onnxruntime::find_and_init() {
        Ok(_) => engines.insert(0, EngineChoice::Ort),
        Err(e) => println!("(ONNX Runtime not measured: {e})"),
    }
    let mut results = Vec::new();
    for choice in engines {
        let model = Model::load(&ModelSource::Path(model_dir.clone()))?;
        let t = Instant::now();
        let eng = engine::create_with(&model, Device::Cpu, choice)?;
        let load_s = t.elapsed().as_secs_f64();
        let d = Denoiser::from_parts(model, eng);
        for mode in [DecodeMode::Parallel, DecodeMode::Sequential] {
            let opts = DecodeOptions {
                mode,
                ..Default::default()
            };
            let (fills, stats) = d.fill(&files, &ctx, &opts)?;
            let flat: Vec<_> = fills.iter().flatten().collect();
            let exact = flat
                .iter()
                .zip(&truth)
                .filter(|(f, t)| f.text.trim() == t.as_str())
                .count();
            let pass90 = flat.iter().filter(|f| f.confidence >= 0.9).count();
            println!(
                "{:<18} {:<10} load {:>5.2}s | {:>3} rows {:>3} slots | {:>3} passes {:>3} steps | {:>7.3}s total {:>7.1} ms/hole {:>6.3} passes/hole | exact {}/{} conf>=0.9 {}",
                stats.engine,
                format!("{mode:?}"),
                load_s,
                stats.rows,
                stats.slots,
                stats.forward_passes,
                stats.steps,
                stats.seconds,
                1000.0 * stats.seconds / n_holes as f64,
                stats.forward_passes as f64 / n_holes as f64,
                exact,
                n_holes,
                pass90
            );
            results.push((
                stats.engine.clone(),
                mode,
                flat.iter().map(|f| f.text.clone()).collect::<Vec<_>>(),
            ));
        }
    }
    for mode in [DecodeMode::Parallel, DecodeMode::Sequential] {
        let r: Vec<_> = results.iter().filter(|r| r.1 == mode).collect();
        if r.len() == 2 {
            let same = r[0].2.iter().zip(&r[1].2).filter(|(a, b)| a == b).count();
            println!(
                "{mode:?}: {} and {} agree on {same}/{} fills",
                r[0].0,
                r[1].0,
                r[0].2.len()
            );
        }
    }
    if results.len() >= 2 {
        let (par, seq) = (&results[0].2, &results[1].2);
        for (i, t) in truth.iter().enumerate().take(8) {
            println!(
                "  hole {i}: truth {t:?} | parallel {:?} | sequential {:?}",
                par[i], seq[i]
            );
        }
    }
    Ok(())
}

type Sites = (Vec<FileHoles>, Vec<String>, Vec<(PathBuf, String)>);

/// Python files under `src` with return annotations turned into holes.
fn sites(src: &Path, max_holes: usize, max_tokens: usize) -> Result<Sites> {
    let re = regex::Regex::new(r"\)\s*->\s*([^:\n]+):").unwrap();
    let mut paths: Vec<PathBuf> = walkdir::WalkDir::new(src)
        .max_depth(1)
        .into_iter()
        .flatten()
        .filter(|e| e.path().extension().is_some_and(|x| x == "py"))
        .map(|e| e.path().to_path_buf())
        .collect();
    paths.sort();
    let (mut files, mut truth, mut all) = (Vec::new(), Vec::new(), Vec::new());
    for p in paths {
        let text = std::fs::read_to_string(&p)?;
        all.push((p.clone(), text.clone()));
        let mut out = String::new();
        let mut holes = Vec::new();
        let mut last = 0;
        for c in re.captures_iter(&text) {
            if truth.len() >= max_holes {
                break;
            }
            let m = c.get(1).unwrap();
            out.push_str(&text[last..m.start()]);
            holes.push(HoleSite {
                name: "RET".into(),
                offset: out.len(),
                max_tokens,
                tie_key: None,
            });
            truth.push(m.as_str().trim().to_string());
            last = m.end();
        }
        out.push_str(&text[last..]);
        if !holes.is_empty() {
            files.push(FileHoles {
                path: p,
                text: out,
                holes,
            });
        }
    }
    anyhow::ensure!(
        !truth.is_empty(),
        "no `-> T:` annotations under {}",
        src.display()
    );
    Ok((files, truth, all))
}
