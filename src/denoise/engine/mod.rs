//! Inference engines behind one small trait (design §6).
//!
//! Entry points: [`create`] picks ONNX Runtime when its library is found (execution
//! providers TensorRT → CUDA → CPU for `Device::Auto`), else the embedded pure-Rust
//! engine (tract). `REFACTOR_ENGINE=tract|ort` forces one. [`create_remote`] sends
//! the forward passes to a KServe v2 inference server instead (`--model-server`).

mod http;
pub mod kserve;
pub mod onnxruntime;
#[cfg(feature = "embedded-engine")]
pub mod tract;

use anyhow::{bail, Result};

use super::model::Model;
use super::Device;

/// Runs the model on one batch.
pub trait Engine: Send + Sync {
    /// Human-readable name, e.g. `onnxruntime (CPU)` or `tract`.
    fn name(&self) -> &str;

    /// `ids` and `mask` are `[batch, seq]` row-major; `query_positions` is `[batch, k]`.
    /// Returns logits `[batch, k, vocab]` row-major (for models without a
    /// `query_positions` input the engine gathers those rows itself).
    fn run(
        &self,
        ids: &[i64],
        mask: &[i64],
        batch: usize,
        seq: usize,
        query_positions: &[i64],
        k: usize,
    ) -> Result<Vec<f32>>;

    /// Most rows per call the engine accepts (0: no limit). TensorRT builds its engine
    /// for a fixed shape range, so it caps the batch.
    fn max_batch(&self) -> usize {
        0
    }

    /// Whether every call must carry rows of the model's full `max_seq_len` (the
    /// default). When false, the decoder cuts each call's rows to the longest row
    /// content in it, which gives the same logits only for a model that masks
    /// padding out of every head. The shipped model does not: its fills with cut
    /// rows differed from full rows (confidence 0.43 against 0.45 on a test
    /// fixture), and padding is only 2-4 % of the positions a real run sends,
    /// so every engine keeps full rows, the shape the model was trained on.
    fn fixed_seq_len(&self) -> bool {
        true
    }
}

/// Which engine `REFACTOR_ENGINE` asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EngineChoice {
    Auto,
    Ort,
    Tract,
}

pub fn engine_choice_from_env() -> Result<EngineChoice> {
    match std::env::var("REFACTOR_ENGINE") {
        Err(_) => Ok(EngineChoice::Auto),
        Ok(v) => match v.to_ascii_lowercase().as_str() {
            "" | "auto" => Ok(EngineChoice::Auto),
            "ort" | "onnxruntime" => Ok(EngineChoice::Ort),
            "tract" | "embedded" => Ok(EngineChoice::Tract),
            other => bail!("REFACTOR_ENGINE={other} is not one of auto, ort, tract"),
        },
    }
}

/// Starts an engine for `model` on `device`, honouring `REFACTOR_ENGINE`.
pub fn create(model: &Model, device: Device) -> Result<Box<dyn Engine>> {
    create_with(model, device, engine_choice_from_env()?)
}

pub fn create_with(model: &Model, device: Device, choice: EngineChoice) -> Result<Box<dyn Engine>> {
    let gpu = matches!(device, Device::Cuda | Device::TensorRt);
    match choice {
        EngineChoice::Tract => {
            if gpu {
                bail!("--device {device:?} needs ONNX Runtime, but REFACTOR_ENGINE=tract was set");
            }
            create_tract(model)
        }
        EngineChoice::Ort => Ok(Box::new(onnxruntime::OrtEngine::new(model, device)?)),
        EngineChoice::Auto => {
            if gpu {
                return Ok(Box::new(onnxruntime::OrtEngine::new(model, device)?));
            }
            match onnxruntime::find_and_init() {
                Ok(_) => Ok(Box::new(onnxruntime::OrtEngine::new(model, device)?)),
                Err(why) => {
                    if cfg!(feature = "embedded-engine") {
                        log(&format!("{why}; using the embedded engine (tract)"));
                        create_tract(model)
                    } else {
                        bail!("{why}, and this build has no embedded engine");
                    }
                }
            }
        }
    }
}

/// Connects to the KServe v2 server of `opts` and checks its model against the
/// contract; its forward passes then run there (the tokenizer stays local).
pub fn create_remote(model: &Model, opts: &kserve::ServerOptions) -> Result<Box<dyn Engine>> {
    Ok(Box::new(kserve::KserveEngine::connect(model, opts)?))
}

#[cfg(feature = "embedded-engine")]
fn create_tract(model: &Model) -> Result<Box<dyn Engine>> {
    let e = tract::TractEngine::new(model)?;
    log("running the denoiser with the embedded engine (tract, CPU)");
    Ok(Box::new(e))
}

#[cfg(not(feature = "embedded-engine"))]
fn create_tract(_model: &Model) -> Result<Box<dyn Engine>> {
    bail!("this build has no embedded engine (feature `embedded-engine` is off)")
}

static QUIET: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Silences the engine's log lines (`--quiet`); `REFACTOR_QUIET` in the environment
/// does the same.
pub fn set_quiet(quiet: bool) {
    QUIET.store(quiet, std::sync::atomic::Ordering::Relaxed);
}

/// One log line on stderr naming what runs the model.
pub(crate) fn log(msg: &str) {
    if !QUIET.load(std::sync::atomic::Ordering::Relaxed)
        && std::env::var_os("REFACTOR_QUIET").is_none()
    {
        eprintln!("refactor: {msg}");
    }
}

/// For models without `query_positions`: picks rows `[batch, k, vocab]` out of
/// `[batch, seq, vocab]` logits.
pub fn gather_queries(
    full: &[f32],
    batch: usize,
    seq: usize,
    vocab: usize,
    query_positions: &[i64],
    k: usize,
) -> Result<Vec<f32>> {
    if full.len() != batch * seq * vocab {
        bail!(
            "the model returned {} logits, expected [batch {batch}, seq {seq}, vocab {vocab}]",
            full.len()
        );
    }
    let mut out = Vec::with_capacity(batch * k * vocab);
    for b in 0..batch {
        for j in 0..k {
            let p = query_positions[b * k + j] as usize;
            if p >= seq {
                bail!("query position {p} outside the row ({seq})");
            }
            let s = (b * seq + p) * vocab;
            out.extend_from_slice(&full[s..s + vocab]);
        }
    }
    Ok(out)
}
