//! Model loading and contract validation (design §4, docs/canvas.md).
//!
//! A model is a folder with `model.json` (the sidecar), the ONNX file and
//! `tokenizer.json`, or the default embedded at build time from `model/default/`.
//! Entry point: [`Model::load`].

use std::borrow::Cow;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context, Result};
use serde::Deserialize;

use super::onnx_proto::{self, Signature, FLOAT32, INT64};
use super::{ModelSource, MAX_SLOT_TOKENS};

/// How many more output rows than tokenizer tokens a model may have (exports
/// round the embedding up, e.g. to a multiple of 64 or 128).
pub const MAX_VOCAB_PADDING: usize = 256;

/// Canvas format this runtime implements (docs/canvas.md).
pub const CANVAS_FORMAT: u32 = 1;

/// Special tokens and their required ids (docs/canvas.md, "Tokenizer").
pub const PAD: u32 = 0;
pub const MASK: u32 = 1;
pub const EOH: u32 = 2;
pub const SEP: u32 = 3;
pub const CTX: u32 = 4;
/// Id of `<|m0|>`; `<|mi|>` is `SLOT0 + i`.
pub const SLOT0: u32 = 5;
/// Ids `0..NUM_SPECIAL` are special tokens; a fill never contains them (except `<|eoh|>`,
/// which ends it).
pub const NUM_SPECIAL: u32 = SLOT0 + MAX_SLOT_TOKENS as u32;

#[derive(Debug, Clone, Deserialize)]
pub struct SpecialTokens {
    pub pad: String,
    pub mask: String,
    pub eoh: String,
    pub sep: String,
    pub ctx: String,
    pub slot_prefix: String,
    pub max_slot: usize,
}

/// `model.json`.
#[derive(Debug, Clone, Deserialize)]
pub struct ModelConfig {
    pub canvas_format: u32,
    pub max_seq_len: usize,
    pub vocab_size: usize,
    pub special_tokens: SpecialTokens,
    #[serde(default = "default_onnx")]
    pub onnx: String,
    #[serde(default = "default_tokenizer")]
    pub tokenizer: String,
    #[serde(default)]
    pub supports_query_positions: bool,
    /// An optional second graph of the same weights for ONNX Runtime's CPU
    /// execution provider (`model/cpu_graph.py`: fused ops, int8 matrix
    /// products). Every other engine runs `onnx`.
    #[serde(default)]
    pub onnx_cpu: Option<String>,
    #[serde(default)]
    pub provenance: serde_json::Value,
}

fn default_onnx() -> String {
    "model.onnx".into()
}
fn default_tokenizer() -> String {
    "tokenizer.json".into()
}

/// A validated model: sidecar, tokenizer and ONNX bytes.
pub struct Model {
    pub config: ModelConfig,
    pub tokenizer: tokenizers::Tokenizer,
    pub onnx: Cow<'static, [u8]>,
    /// `model.json`'s `onnx_cpu` graph, when it names one: what ONNX Runtime runs
    /// on a CPU (see [`ModelConfig::onnx_cpu`]).
    pub onnx_cpu: Option<Cow<'static, [u8]>>,
    /// The graph takes `query_positions` (else logits come for every position).
    pub has_query_positions: bool,
    /// Where it came from, for messages ("embedded default" or the folder).
    pub origin: String,
}

impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Model")
            .field("origin", &self.origin)
            .field("config", &self.config)
            .finish()
    }
}

#[cfg(refactor_default_model)]
mod embedded {
    pub const MODEL_JSON: &[u8] = include_bytes!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/model/default/model.json"
    ));
    pub const TOKENIZER: &[u8] = include_bytes!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/model/default/tokenizer.json"
    ));
    pub const ONNX: &[u8] = include_bytes!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/model/default/model.onnx"
    ));
    #[cfg(refactor_default_cpu_graph)]
    pub const ONNX_CPU: Option<&[u8]> = Some(include_bytes!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/model/default/model.cpu.onnx"
    )));
    #[cfg(not(refactor_default_cpu_graph))]
    pub const ONNX_CPU: Option<&[u8]> = None;
}

/// Whether this build embeds a default model.
pub fn has_default_model() -> bool {
    cfg!(refactor_default_model)
}

impl Model {
    pub fn load(src: &ModelSource) -> Result<Model> {
        match src {
            ModelSource::Path(p) => Self::load_dir(p),
            ModelSource::Default => Self::load_default(),
        }
    }

    #[cfg(refactor_default_model)]
    fn load_default() -> Result<Model> {
        let model = Self::from_parts(
            embedded::MODEL_JSON,
            embedded::TOKENIZER,
            Cow::Borrowed(embedded::ONNX),
            "embedded default model".into(),
        )?;
        match embedded::ONNX_CPU {
            Some(bytes) => model.with_cpu_graph(Cow::Borrowed(bytes), "model.cpu.onnx"),
            None => Ok(model),
        }
    }

    #[cfg(not(refactor_default_model))]
    fn load_default() -> Result<Model> {
        bail!(
            "no default model is shipped in this build (model/default/ was absent when it was \
             compiled); pass --model PATH with a folder holding model.json, model.onnx and tokenizer.json"
        )
    }

    fn load_dir(path: &Path) -> Result<Model> {
        let dir: PathBuf = if path.is_file() {
            // Accept the sidecar or the ONNX file itself; the folder is what counts.
            path.parent().map(Path::to_path_buf).unwrap_or_default()
        } else {
            path.to_path_buf()
        };
        if !dir.is_dir() {
            bail!("model folder `{}` does not exist", path.display());
        }
        let json_path = dir.join("model.json");
        let json = std::fs::read(&json_path).with_context(|| {
            format!(
                "model folder `{}` has no readable model.json (the model sidecar)",
                dir.display()
            )
        })?;
        let config = parse_config(&json, &json_path.display().to_string())?;
        let tok_path = dir.join(&config.tokenizer);
        let tok = std::fs::read(&tok_path)
            .with_context(|| format!("{}: cannot read the tokenizer", tok_path.display()))?;
        let onnx_path = dir.join(&config.onnx);
        let onnx = std::fs::read(&onnx_path)
            .with_context(|| format!("{}: cannot read the ONNX model", onnx_path.display()))?;
        let model = Self::from_files(
            (&json, &json_path.display().to_string()),
            (&tok, &tok_path.display().to_string()),
            (Cow::Owned(onnx), &onnx_path.display().to_string()),
            dir.display().to_string(),
        )?;
        match model.config.onnx_cpu.clone() {
            Some(name) => {
                let p = dir.join(&name);
                let bytes = std::fs::read(&p).with_context(|| {
                    format!(
                        "{}: cannot read the CPU graph that model.json names (`onnx_cpu`)",
                        p.display()
                    )
                })?;
                model.with_cpu_graph(Cow::Owned(bytes), &p.display().to_string())
            }
            None => Ok(model),
        }
    }

    /// Adds the CPU graph after checking that it has the float graph's inputs and
    /// output (same contract, other operators).
    pub fn with_cpu_graph(mut self, onnx: Cow<'static, [u8]>, name: &str) -> Result<Model> {
        let signature = onnx_proto::read_signature(&onnx)
            .with_context(|| format!("{name}: the ONNX file is corrupt or not an ONNX model"))?;
        let q = check_signature(&self.config, &signature).map_err(|e| anyhow!("{name}: {e}"))?;
        if q != self.has_query_positions {
            bail!("{name}: the CPU graph and the float graph disagree on `query_positions`");
        }
        self.onnx_cpu = Some(onnx);
        Ok(self)
    }

    /// Builds and validates a model from the three files' bytes.
    pub fn from_parts(
        json: &[u8],
        tokenizer: &[u8],
        onnx: Cow<'static, [u8]>,
        origin: String,
    ) -> Result<Model> {
        Self::from_files(
            (json, "model.json"),
            (tokenizer, "tokenizer.json"),
            (onnx, "model.onnx"),
            origin,
        )
    }

    /// Like [`Model::from_parts`], with each file's name for messages: every
    /// error starts with the file it is about (`model.json:LINE:` where the
    /// sidecar has a line for it).
    fn from_files(
        (json, json_name): (&[u8], &str),
        (tokenizer, tok_name): (&[u8], &str),
        (onnx, onnx_name): (Cow<'static, [u8]>, &str),
        origin: String,
    ) -> Result<Model> {
        let ctx = |e: anyhow::Error| e.context(format!("invalid model `{origin}`"));
        let config = parse_config(json, json_name).map_err(ctx)?;
        let tokenizer = tokenizers::Tokenizer::from_bytes(tokenizer)
            .map_err(|e| anyhow!("{tok_name}: not a valid Hugging Face tokenizer: {e}"))
            .map_err(ctx)?;
        check_tokenizer(&config, &tokenizer)
            .map_err(|e| anyhow!("{tok_name}: {e}"))
            .map_err(ctx)?;
        let signature = onnx_proto::read_signature(&onnx)
            .with_context(|| format!("{onnx_name}: the ONNX file is corrupt or not an ONNX model"))
            .map_err(ctx)?;
        let has_query_positions = check_signature(&config, &signature)
            .map_err(|e| anyhow!("{onnx_name}: {e}"))
            .map_err(ctx)?;
        Ok(Model {
            config,
            tokenizer,
            onnx,
            onnx_cpu: None,
            has_query_positions,
            origin,
        })
    }

    pub fn seq_len(&self) -> usize {
        self.config.max_seq_len
    }

    pub fn vocab_size(&self) -> usize {
        self.config.vocab_size
    }

    /// Window budget `W = seq_len * 5 / 8` including the slot (docs/canvas.md).
    pub fn window_budget(&self) -> usize {
        self.config.max_seq_len * 5 / 8
    }
}

/// Parses `model.json` (`name` is its path, for messages); every error reads
/// `name:LINE: message`.
fn parse_config(json: &[u8], name: &str) -> Result<ModelConfig> {
    let config: ModelConfig = serde_json::from_slice(json).map_err(|e| {
        let msg = e.to_string();
        let msg = msg.find(" at line ").map_or(msg.as_str(), |i| &msg[..i]);
        anyhow!(
            "{name}:{}: not a valid model sidecar: {msg}",
            e.line().max(1)
        )
    })?;
    let text = String::from_utf8_lossy(json);
    check_config(&config).map_err(|(key, msg)| {
        let needle = format!("\"{key}\"");
        let line = text
            .lines()
            .position(|l| l.contains(&needle))
            .map_or(1, |i| i + 1);
        anyhow!("{name}:{line}: {msg}")
    })?;
    Ok(config)
}

/// Semantic checks of the sidecar; an error names the offending key.
fn check_config(config: &ModelConfig) -> std::result::Result<(), (&'static str, String)> {
    macro_rules! bail {
        ($key:expr, $($arg:tt)*) => { return Err(($key, format!($($arg)*))) };
    }
    if config.canvas_format != CANVAS_FORMAT {
        bail!(
            "canvas_format",
            "canvas_format {} is not the canvas format this build implements ({CANVAS_FORMAT})",
            config.canvas_format
        );
    }
    let st = &config.special_tokens;
    let expected = [
        (&st.pad, "<|pad|>"),
        (&st.mask, "<|mask|>"),
        (&st.eoh, "<|eoh|>"),
        (&st.sep, "<|sep|>"),
        (&st.ctx, "<|ctx|>"),
        (&st.slot_prefix, "<|m"),
    ];
    for (got, want) in expected {
        if got != want {
            bail!(
                "special_tokens",
                "names special token `{got}` where canvas format 1 has `{want}`"
            );
        }
    }
    if st.max_slot != MAX_SLOT_TOKENS {
        bail!(
            "max_slot",
            "max_slot is {}, canvas format 1 has {MAX_SLOT_TOKENS}",
            st.max_slot
        );
    }
    // The window (5/8 of a row) must hold the longest slot with room around it.
    if config.max_seq_len < 64 {
        bail!(
            "max_seq_len",
            "max_seq_len {} is too small (at least 64)",
            config.max_seq_len
        );
    }
    if config.vocab_size <= NUM_SPECIAL as usize {
        bail!(
            "vocab_size",
            "vocab_size {} leaves no room for ordinary tokens",
            config.vocab_size
        );
    }
    Ok(())
}

fn check_tokenizer(config: &ModelConfig, tok: &tokenizers::Tokenizer) -> Result<()> {
    let fixed = ["<|pad|>", "<|mask|>", "<|eoh|>", "<|sep|>", "<|ctx|>"];
    let names = fixed
        .iter()
        .map(|s| s.to_string())
        .chain((0..MAX_SLOT_TOKENS).map(|i| format!("<|m{i}|>")));
    for (id, name) in names.enumerate() {
        match tok.token_to_id(&name) {
            Some(got) if got as usize == id => {}
            Some(got) => {
                bail!("has `{name}` at id {got}; canvas format 1 needs id {id}")
            }
            None => bail!("lacks the special token `{name}` (id {id})"),
        }
    }
    // The model's output rows must be the tokenizer's tokens: a smaller
    // tokenizer would let the decoder pick ids it cannot turn into text.
    // Exporters may pad the output to a round size, so allow a few unused rows.
    let n = tok.get_vocab_size(true);
    if n > config.vocab_size || config.vocab_size - n > MAX_VOCAB_PADDING {
        bail!(
            "has {n} tokens but model.json says the model's output has vocab_size {}; \
             they must describe the same vocabulary (at most {MAX_VOCAB_PADDING} unused padding rows)",
            config.vocab_size
        );
    }
    Ok(())
}

/// Checks inputs/outputs against design §4; returns whether `query_positions` is taken.
fn check_signature(config: &ModelConfig, sig: &Signature) -> Result<bool> {
    let check_input = |name: &str| -> Result<()> {
        let t = sig.input(name).ok_or_else(|| {
            let have: Vec<_> = sig.inputs.iter().map(|i| i.name.as_str()).collect();
            anyhow!(
                "the ONNX model has no input `{name}` (its inputs: {})",
                have.join(", ")
            )
        })?;
        if t.elem_type != INT64 {
            bail!(
                "the ONNX input `{name}` is {}, the contract needs int64",
                t.type_name()
            );
        }
        if let Some(s) = &t.shape {
            if s.len() != 2 {
                bail!(
                    "the ONNX input `{name}` has rank {}, the contract needs [batch, seq]",
                    s.len()
                );
            }
        }
        Ok(())
    };
    check_input("input_ids")?;
    check_input("attention_mask")?;
    let has_q = sig.input("query_positions").is_some();
    if has_q {
        check_input("query_positions")?;
    } else if config.supports_query_positions {
        bail!("model.json says supports_query_positions but the ONNX model has no `query_positions` input");
    }
    for i in &sig.inputs {
        if !matches!(
            i.name.as_str(),
            "input_ids" | "attention_mask" | "query_positions"
        ) {
            bail!(
                "the ONNX model has an input `{}` that is not part of the contract \
                 (input_ids, attention_mask, query_positions)",
                i.name
            );
        }
    }
    let out = sig.output("logits").ok_or_else(|| {
        let have: Vec<_> = sig.outputs.iter().map(|i| i.name.as_str()).collect();
        anyhow!(
            "the ONNX model has no output `logits` (its outputs: {})",
            have.join(", ")
        )
    })?;
    if out.elem_type != FLOAT32 {
        bail!(
            "the ONNX output `logits` is {}, the contract needs float32",
            out.type_name()
        );
    }
    if let Some(s) = &out.shape {
        if s.len() != 3 {
            bail!(
                "the ONNX output `logits` has rank {}, the contract needs [batch, seq|k, vocab]",
                s.len()
            );
        }
        if let Some(v) = s[2] {
            if v as usize != config.vocab_size {
                bail!(
                    "the ONNX output `logits` has vocabulary {v} but model.json says vocab_size {}",
                    config.vocab_size
                );
            }
        }
    }
    Ok(has_q)
}
