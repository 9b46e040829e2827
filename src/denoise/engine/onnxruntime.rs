//! ONNX Runtime engine through `ort` with `load-dynamic` (design §6).
//!
//! The shared library is found via `ORT_DYLIB_PATH`, then the Python environment
//! (`onnxruntime/capi/libonnxruntime.so.*` of `python3`'s `onnxruntime` package, then
//! common site-packages folders), then system library folders and `LD_LIBRARY_PATH`.
//! It is loaded once per process with `ort::init_from` (never `ort::init`, which
//! panics when nothing is found). Entry points: [`find_and_init`], [`OrtEngine::new`].

use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

use anyhow::{anyhow, bail, Context, Result};
use ort::ep::{self, ExecutionProvider};
use ort::session::builder::GraphOptimizationLevel;
use ort::session::Session;
use ort::value::Tensor;

use super::{gather_queries, log, Engine};
use crate::denoise::model::Model;
use crate::denoise::Device;

/// The process-wide ONNX Runtime environment: initialised at most once.
struct OrtRuntime {
    path: PathBuf,
    env: ort::environment::Environment,
}

static RUNTIME: OnceLock<std::result::Result<OrtRuntime, String>> = OnceLock::new();

/// Candidate library files in search order (see the module docs).
pub fn candidate_libraries() -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Some(p) = std::env::var_os("ORT_DYLIB_PATH") {
        out.push(PathBuf::from(p));
        return out;
    }
    if let Some(dir) = python_onnxruntime_dir() {
        out.extend(libs_in(&dir.join("capi")));
    }
    for sp in site_packages_dirs() {
        out.extend(libs_in(&sp.join("onnxruntime").join("capi")));
    }
    let mut sys: Vec<PathBuf> = Vec::new();
    if let Some(ld) = std::env::var_os("LD_LIBRARY_PATH") {
        sys.extend(std::env::split_paths(&ld));
    }
    for d in [
        "/usr/local/lib",
        "/usr/lib",
        "/usr/lib/x86_64-linux-gnu",
        "/usr/lib/aarch64-linux-gnu",
        "/usr/lib64",
        "/opt/onnxruntime/lib",
    ] {
        sys.push(PathBuf::from(d));
    }
    for d in sys {
        out.extend(libs_in(&d));
    }
    let mut seen = std::collections::HashSet::new();
    out.retain(|p| seen.insert(p.canonicalize().unwrap_or_else(|_| p.clone())));
    out
}

fn python_onnxruntime_dir() -> Option<PathBuf> {
    // find_spec does not import the package (importing loads the library: slow).
    let script = "import importlib.util as u, os\ns = u.find_spec('onnxruntime')\nprint(os.path.dirname(s.origin) if s and s.origin else '')";
    for py in ["python3", "python"] {
        let Ok(out) = std::process::Command::new(py)
            .args(["-c", script])
            .stderr(std::process::Stdio::null())
            .stdin(std::process::Stdio::null())
            .output()
        else {
            continue;
        };
        let s = String::from_utf8_lossy(&out.stdout).trim().to_string();
        if out.status.success() && !s.is_empty() {
            return Some(PathBuf::from(s));
        }
    }
    None
}

fn site_packages_dirs() -> Vec<PathBuf> {
    let mut roots: Vec<PathBuf> = Vec::new();
    for var in ["VIRTUAL_ENV", "CONDA_PREFIX"] {
        if let Some(v) = std::env::var_os(var) {
            roots.push(PathBuf::from(v).join("lib"));
        }
    }
    if let Some(home) = std::env::var_os("HOME") {
        let home = PathBuf::from(home);
        roots.push(home.join(".local/lib"));
        if let Ok(rd) = std::fs::read_dir(home.join(".pyenv/versions")) {
            let mut v: Vec<_> = rd.flatten().map(|e| e.path().join("lib")).collect();
            v.sort();
            roots.extend(v);
        }
    }
    roots.extend(["/usr/local/lib", "/usr/lib", "/opt/conda/lib"].map(PathBuf::from));
    let mut out = Vec::new();
    for r in roots {
        let Ok(rd) = std::fs::read_dir(&r) else {
            continue;
        };
        let mut pys: Vec<_> = rd
            .flatten()
            .map(|e| e.path())
            .filter(|p| {
                p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with("python3"))
            })
            .collect();
        pys.sort();
        for p in pys {
            out.push(p.join("site-packages"));
            out.push(p.join("dist-packages"));
        }
    }
    out
}

fn is_ort_lib_name(name: &str) -> bool {
    name == "libonnxruntime.so"
        || name.starts_with("libonnxruntime.so.")
        || (name.starts_with("libonnxruntime")
            && name.ends_with(".dylib")
            && !name.contains("providers"))
        || name == "onnxruntime.dll"
}

/// Library files in `dir`, newest version first.
fn libs_in(dir: &Path) -> Vec<PathBuf> {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut v: Vec<PathBuf> = rd
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(is_ort_lib_name)
        })
        .collect();
    v.sort_by_key(|p| std::cmp::Reverse(version_key(p)));
    v
}

fn version_key(p: &Path) -> Vec<u32> {
    let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
    name.split(|c: char| !c.is_ascii_digit())
        .filter_map(|s| s.parse().ok())
        .collect()
}

/// Finds and loads the ONNX Runtime library once per process. Returns its path, or
/// why none could be used.
pub fn find_and_init() -> std::result::Result<PathBuf, String> {
    let rt = RUNTIME.get_or_init(|| {
        let candidates = candidate_libraries();
        if candidates.is_empty() {
            return Err(
                "no ONNX Runtime library found (set ORT_DYLIB_PATH or `pip install onnxruntime`)"
                    .into(),
            );
        }
        let mut errors = Vec::new();
        for path in candidates {
            if !path.is_file() {
                errors.push(format!("`{}` does not exist", path.display()));
                continue;
            }
            // A failed init_from leaves nothing loaded, so the next candidate may be tried.
            match ort::init_from(&path) {
                Ok(builder) => match builder.with_name("refactor").build() {
                    Ok(env) => return Ok(OrtRuntime { path, env }),
                    Err(e) => errors.push(format!("`{}`: {e}", path.display())),
                },
                Err(e) => errors.push(e.to_string()),
            }
        }
        Err(format!(
            "no usable ONNX Runtime library ({})",
            errors.join("; ")
        ))
    });
    match rt {
        Ok(r) => Ok(r.path.clone()),
        Err(e) => Err(e.clone()),
    }
}

fn runtime() -> Result<&'static OrtRuntime> {
    find_and_init().map_err(|e| anyhow!(e))?;
    match RUNTIME.get() {
        Some(Ok(r)) => Ok(r),
        _ => bail!("ONNX Runtime is not initialised"),
    }
}

/// ONNX Runtime session for one model.
pub struct OrtEngine {
    session: Mutex<Session>,
    name: String,
    vocab: usize,
    has_q: bool,
    max_batch: usize,
}

/// Intra-op threads for the CPU session: `REFACTOR_ORT_THREADS` when set to a positive
/// number, else one per logical CPU.
pub fn intra_op_threads() -> usize {
    std::env::var("REFACTOR_ORT_THREADS")
        .ok()
        .and_then(|v| v.trim().parse::<usize>().ok())
        .filter(|&n| n > 0)
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

/// Rows per call under TensorRT: its engine is built once for batch 1..=this.
pub const TENSORRT_MAX_BATCH: usize = 64;

/// Rows per call on the CPU. Smaller calls keep the activations in cache: with
/// the shipped model on 2 cores (model/cpu_graph.py --check, 256-token rows,
/// medians of 5) the int8 graph takes 14.6 ms a row in calls of 8 rows against
/// 18.4 ms in calls of 32 (18.8 ms one row at a time), the float graph 34.4 ms
/// against 38.9 ms.
pub const CPU_MAX_BATCH: usize = 8;

/// Which of the model's graphs a session runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Graph {
    /// `model.onnx`: plain ONNX operators, what every engine runs.
    Float,
    /// `onnx_cpu` in model.json: the same weights with ONNX Runtime's fused
    /// operators and int8 matrix products, about twice as fast on a CPU.
    Cpu,
}

/// Graphs to try for provider `p`, best first. `REFACTOR_CPU_GRAPH=float` keeps the
/// float graph on the CPU too (to compare the two, or to rule the int8 one out).
fn graphs_for(model: &Model, p: Provider) -> Vec<(Graph, &[u8])> {
    let mut out = Vec::new();
    let float_only = std::env::var("REFACTOR_CPU_GRAPH").is_ok_and(|v| v == "float");
    if p == Provider::Cpu && !float_only {
        if let Some(cpu) = &model.onnx_cpu {
            out.push((Graph::Cpu, &cpu[..]));
        }
    }
    out.push((Graph::Float, &model.onnx[..]));
    out
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Provider {
    TensorRt,
    Cuda,
    Cpu,
}

impl OrtEngine {
    pub fn new(model: &Model, device: Device) -> Result<Self> {
        let rt = runtime().with_context(|| {
            format!("ONNX Runtime is needed here (device {device:?} or REFACTOR_ENGINE=ort)")
        })?;
        let order: Vec<Provider> = match device {
            Device::Auto => vec![Provider::TensorRt, Provider::Cuda, Provider::Cpu],
            Device::Cpu => vec![Provider::Cpu],
            Device::Cuda => vec![Provider::Cuda],
            Device::TensorRt => vec![Provider::TensorRt],
        };
        let mut errors = Vec::new();
        for p in order {
            let graphs = graphs_for(model, p);
            for (i, &(graph, onnx)) in graphs.iter().enumerate() {
                match Self::session_for(&rt.env, model, onnx, p) {
                    Ok(session) => return Ok(Self::started(session, model, &rt.path, p, graph)),
                    // The CPU graph uses ONNX Runtime's own fused operators; a build
                    // without them still runs the float graph.
                    Err(e) if i + 1 < graphs.len() => log(&format!(
                        "ONNX Runtime rejected the model's CPU graph ({e:#}); running the float graph"
                    )),
                    Err(e) => errors.push(format!("{p:?}: {e:#}")),
                }
            }
        }
        bail!(
            "ONNX Runtime cannot run the model on device {device:?}: {}",
            errors.join("; ")
        )
    }

    /// The engine around a started session, named after its provider and graph
    /// (`onnxruntime (CPU, model.cpu.onnx)`), with a log line saying what runs.
    fn started(session: Session, model: &Model, lib: &Path, p: Provider, graph: Graph) -> Self {
        let provider = match p {
            Provider::TensorRt => "TensorRT",
            Provider::Cuda => "CUDA",
            Provider::Cpu => "CPU",
        };
        let (label, graph_note) = match graph {
            Graph::Cpu => {
                let file = model.config.onnx_cpu.as_deref().unwrap_or("CPU graph");
                (format!("{provider}, {file}"), format!(", graph {file}"))
            }
            Graph::Float => (provider.to_string(), String::new()),
        };
        log(&format!(
            "running the denoiser with ONNX Runtime ({provider} execution provider{graph_note}, {})",
            lib.display()
        ));
        OrtEngine {
            session: Mutex::new(session),
            name: format!("onnxruntime ({label})"),
            vocab: model.vocab_size(),
            has_q: model.has_query_positions,
            max_batch: match p {
                Provider::TensorRt => TENSORRT_MAX_BATCH,
                Provider::Cpu => CPU_MAX_BATCH,
                Provider::Cuda => 0,
            },
        }
    }

    fn session_for(
        env: &ort::environment::Environment,
        model: &Model,
        onnx: &[u8],
        p: Provider,
    ) -> Result<Session> {
        let builder = Session::builder(env).map_err(|e| anyhow!("{e}"))?;
        let builder = match p {
            Provider::TensorRt => {
                if !ep::TensorRT::is_available().unwrap_or(false) {
                    bail!("this ONNX Runtime library has no TensorRT execution provider");
                }
                // One optimisation profile for every shape the canvas uses (rows are always
                // max_seq_len long; the batch shrinks as rows finish; k <= seq), and an
                // on-disk engine cache, so TensorRT builds its engine once, not per shape.
                let seq = model.seq_len();
                let b = TENSORRT_MAX_BATCH;
                let shapes = |b: usize, k: usize| {
                    let mut s = format!("input_ids:{b}x{seq},attention_mask:{b}x{seq}");
                    if model.has_query_positions {
                        s.push_str(&format!(",query_positions:{b}x{k}"));
                    }
                    s
                };
                let cache = std::env::temp_dir().join("refactor-tensorrt-cache");
                let _ = std::fs::create_dir_all(&cache);
                let trt = ep::TensorRT::default()
                    .with_profile_min_shapes(shapes(1, 1))
                    .with_profile_opt_shapes(shapes(b, 32))
                    .with_profile_max_shapes(shapes(b, seq))
                    .with_engine_cache(true)
                    .with_engine_cache_path(cache.display())
                    .with_timing_cache(true)
                    .with_timing_cache_path(cache.display());
                builder
                    .with_execution_providers([trt.build().error_on_failure()])
                    .map_err(|e| anyhow!("{e}"))?
            }
            Provider::Cuda => {
                if !ep::CUDA::is_available().unwrap_or(false) {
                    bail!("this ONNX Runtime library has no CUDA execution provider (install onnxruntime-gpu)");
                }
                builder
                    .with_execution_providers([ep::CUDA::default().build().error_on_failure()])
                    .map_err(|e| anyhow!("{e}"))?
            }
            Provider::Cpu => builder,
        };
        // All graph optimisations, and one intra-op thread per core: ONNX Runtime's
        // default counts physical cores, which on a 2-vCPU machine (one core, two
        // hyperthreads) is one thread.
        let threads = intra_op_threads();
        let mut builder = builder
            .with_optimization_level(GraphOptimizationLevel::All)
            .map_err(|e| anyhow!("{e}"))?
            .with_intra_threads(threads)
            .map_err(|e| anyhow!("{e}"))?;
        builder
            .commit_from_memory(onnx)
            .map_err(|e| anyhow!("ONNX Runtime rejected the model: {e}"))
    }
}

impl Engine for OrtEngine {
    fn name(&self) -> &str {
        &self.name
    }

    fn max_batch(&self) -> usize {
        self.max_batch
    }

    fn run(
        &self,
        ids: &[i64],
        mask: &[i64],
        batch: usize,
        seq: usize,
        q: &[i64],
        k: usize,
    ) -> Result<Vec<f32>> {
        let shape = [batch as i64, seq as i64];
        let ids_t = Tensor::from_array((shape, ids.to_vec())).map_err(|e| anyhow!("{e}"))?;
        let mask_t = Tensor::from_array((shape, mask.to_vec())).map_err(|e| anyhow!("{e}"))?;
        let mut session = self
            .session
            .lock()
            .map_err(|_| anyhow!("ONNX Runtime session poisoned"))?;
        let outputs = if self.has_q {
            let q_t = Tensor::from_array(([batch as i64, k as i64], q.to_vec()))
                .map_err(|e| anyhow!("{e}"))?;
            session.run(ort::inputs! {
                "input_ids" => ids_t,
                "attention_mask" => mask_t,
                "query_positions" => q_t,
            })
        } else {
            session.run(ort::inputs! {
                "input_ids" => ids_t,
                "attention_mask" => mask_t,
            })
        }
        .map_err(|e| anyhow!("ONNX Runtime inference failed: {e}"))?;
        let logits = outputs
            .get("logits")
            .context("the model produced no `logits` output")?;
        let (_, data) = logits
            .try_extract_tensor::<f32>()
            .map_err(|e| anyhow!("{e}"))?;
        if self.has_q {
            if data.len() != batch * k * self.vocab {
                bail!(
                    "the model returned {} logits, expected [batch {batch}, k {k}, vocab {}]",
                    data.len(),
                    self.vocab
                );
            }
            Ok(data.to_vec())
        } else {
            gather_queries(data, batch, seq, self.vocab, q, k)
        }
    }
}
