//! `refactor model export-triton`: a Triton Inference Server model repository
//! for a denoiser. Entry points: [`config_pbtxt`] (the model configuration)
//! and [`export`] (writes `DIR/NAME/config.pbtxt` and `DIR/NAME/1/model.onnx`).
//!
//! The configuration states the model contract (inputs `input_ids`,
//! `attention_mask` and, when the graph takes it, `query_positions`, all
//! INT64 `[batch, -1]`; output `logits` FP32 `[batch, -1, vocab]`), the ONNX
//! Runtime backend, a batch limit, dynamic batching and the ONNX file's
//! fingerprint, which the remote engine compares with the local model's.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use super::engine::kserve::{fingerprint, valid_name, FINGERPRINT_PARAMETER};
use super::model::Model;

/// Rows per request Triton accepts and its dynamic batcher forms by default.
/// The decoder sends at most 32 rows per call; the room above lets the
/// batcher merge requests of several clients.
pub const DEFAULT_MAX_BATCH_SIZE: u32 = 64;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TritonOptions {
    /// Model name: the folder in the repository and the name clients ask for.
    pub name: String,
    pub max_batch_size: u32,
    pub dynamic_batching: bool,
    /// Ask the ONNX Runtime backend to run the graph through TensorRT on GPUs.
    pub tensorrt: bool,
}

impl Default for TritonOptions {
    fn default() -> Self {
        TritonOptions {
            name: super::engine::kserve::DEFAULT_MODEL_NAME.into(),
            max_batch_size: DEFAULT_MAX_BATCH_SIZE,
            dynamic_batching: true,
            tensorrt: false,
        }
    }
}

/// The `config.pbtxt` for `model` (protobuf text format).
pub fn config_pbtxt(model: &Model, opts: &TritonOptions) -> String {
    let mut inputs = vec!["input_ids", "attention_mask"];
    if model.has_query_positions {
        inputs.push("query_positions");
    }
    let input_lines: Vec<String> = inputs
        .iter()
        .map(|n| format!("  {{ name: \"{n}\" data_type: TYPE_INT64 dims: [ -1 ] }}"))
        .collect();
    // Without query_positions the graph returns a row per position.
    let rows = if model.has_query_positions {
        "queries"
    } else {
        "positions"
    };
    let mut s = format!(
        "# Triton model configuration written by `refactor model export-triton`.\n\
         # Model contract: token ids and attention mask [batch, seq]{q}, int64;\n\
         # logits [batch, {rows}, vocab {vocab}], float32.\n\
         name: \"{name}\"\n\
         backend: \"onnxruntime\"\n\
         max_batch_size: {mbs}\n\
         input [\n{inputs}\n]\n\
         output [\n  {{ name: \"logits\" data_type: TYPE_FP32 dims: [ -1, {vocab} ] }}\n]\n",
        q = if model.has_query_positions {
            ", query positions [batch, k]"
        } else {
            ""
        },
        name = opts.name,
        mbs = opts.max_batch_size,
        inputs = input_lines.join(",\n"),
        vocab = model.vocab_size(),
    );
    if opts.dynamic_batching {
        s.push_str("dynamic_batching { }\n");
    }
    if opts.tensorrt {
        s.push_str(
            "optimization { execution_accelerators {\n  \
             gpu_execution_accelerator [ { name: \"tensorrt\" } ]\n} }\n",
        );
    }
    s.push_str(&format!(
        "parameters {{ key: \"{FINGERPRINT_PARAMETER}\" value: {{ string_value: \"{}\" }} }}\n",
        fingerprint(&model.onnx)
    ));
    s
}

/// Writes the repository entry for `model`; returns the model's folder.
/// Refuses to replace an existing entry unless `force`.
pub fn export(model: &Model, dir: &Path, opts: &TritonOptions, force: bool) -> Result<PathBuf> {
    if !valid_name(&opts.name) {
        bail!(
            "`{}` is not a model name (letters, digits, `-`, `_`, `.`; not starting with `.`)",
            opts.name
        );
    }
    if opts.max_batch_size == 0 {
        bail!("--max-batch-size must be at least 1");
    }
    let model_dir = dir.join(&opts.name);
    let config = model_dir.join("config.pbtxt");
    let onnx = model_dir.join("1").join("model.onnx");
    if !force {
        for p in [&config, &onnx] {
            if p.exists() {
                bail!(
                    "`{}` already exists; pass --force to replace it or choose another --name",
                    p.display()
                );
            }
        }
    }
    std::fs::create_dir_all(model_dir.join("1"))
        .with_context(|| format!("cannot create `{}`", model_dir.join("1").display()))?;
    write_file(&onnx, &model.onnx)?;
    write_file(&config, config_pbtxt(model, opts).as_bytes())?;
    Ok(model_dir)
}

/// Writes through a temporary file beside `path`, then renames it over.
fn write_file(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut tmp = tempfile::NamedTempFile::new_in(dir)
        .with_context(|| format!("cannot write in `{}`", dir.display()))?;
    std::io::Write::write_all(&mut tmp, bytes)
        .with_context(|| format!("cannot write `{}`", path.display()))?;
    // Readable by the server's user, as a file written with the usual umask.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let _ = tmp
            .as_file()
            .set_permissions(std::fs::Permissions::from_mode(0o644));
    }
    tmp.persist(path)
        .with_context(|| format!("cannot write `{}`", path.display()))?;
    Ok(())
}
