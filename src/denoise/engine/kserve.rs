//! Remote engine: the forward passes run on a KServe v2 inference server
//! (Triton, KServe, Seldon MLServer, …) over HTTP/REST with the binary tensor
//! data extension.
//!
//! Entry points: [`ServerUrl::parse`] (the `--model-server` value) and
//! [`KserveEngine::connect`], which checks at start that the server is
//! reachable, that the model is ready and that its inputs and outputs are the
//! model contract's, before any file is written.
//!
//! Invariants:
//! - One engine call is one `POST …/infer` with exactly the rows, sequence
//!   length and query positions the decoder passed, so the decoder batches
//!   the same way whether the model runs here or on the server; the server's
//!   `max_batch_size` (when it states one) caps the rows per call as
//!   TensorRT's profile does in process.
//! - The tokenizer and `model.json` stay local: the server sees token ids and
//!   returns logits. When the server's model configuration carries the ONNX
//!   fingerprint that `refactor model export-triton` writes, it must equal the
//!   local model's, so the server cannot serve other weights than the
//!   tokenizer was made for.
//! - Every request has a deadline (`--model-server-timeout`); connection
//!   failures, timeouts and HTTP 429/502/503/504 are retried [`RETRIES`]
//!   times after [`BACKOFF`]; other errors are not. Inference is a pure
//!   function of its inputs, so repeating a request is safe.

use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use serde_json::{json, Value};

use super::http::{Client, HttpError, Response};
use super::{gather_queries, log, Engine};
use crate::denoise::model::Model;

/// Model name asked for when the URL names none (and the name
/// `refactor model export-triton` gives the model by default).
pub const DEFAULT_MODEL_NAME: &str = "refactor-denoiser";

/// Seconds one request may take by default (connect, send, answer).
pub const DEFAULT_TIMEOUT_SECS: u64 = 60;

/// Extra attempts after a retryable failure.
pub const RETRIES: usize = 2;

/// Waits before the retries.
pub const BACKOFF: [Duration; RETRIES] = [Duration::from_millis(500), Duration::from_secs(1)];

/// Key of the model configuration parameter holding the ONNX fingerprint.
pub const FINGERPRINT_PARAMETER: &str = "refactor_onnx_fingerprint";

/// A parsed `--model-server` URL: `http://HOST[:PORT][/PREFIX]` (model
/// [`DEFAULT_MODEL_NAME`]) or `http://HOST[:PORT][/PREFIX]/v2/models/NAME[/versions/V]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerUrl {
    pub host: String,
    pub port: u16,
    /// Path before `/v2` (a reverse proxy's prefix), without a trailing slash.
    pub prefix: String,
    pub model: String,
    pub version: Option<String>,
}

impl ServerUrl {
    pub fn parse(s: &str) -> Result<ServerUrl> {
        let s = s.trim();
        let rest = if let Some(r) = s.strip_prefix("http://") {
            r
        } else if s.starts_with("https://") {
            bail!("`{s}`: https is not supported; use http:// on a trusted network (or a local TLS-terminating proxy)");
        } else if s.contains("://") {
            bail!("`{s}`: only http:// URLs are supported");
        } else {
            bail!(
                "`{s}` is not a URL (expected http://HOST:PORT or http://HOST:PORT/v2/models/NAME)"
            );
        };
        if rest.contains(['?', '#']) {
            bail!("`{s}`: a query or fragment is not supported");
        }
        let (authority, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, ""),
        };
        if authority.contains('@') {
            bail!("`{s}`: credentials in the URL are not supported");
        }
        let (host, port) = split_host_port(authority).with_context(|| format!("`{s}`"))?;
        let path = path.trim_end_matches('/');
        let (prefix, model, version) = match path.find("/v2/models/") {
            Some(i) => {
                let prefix = &path[..i];
                let tail = &path[i + "/v2/models/".len()..];
                let segs: Vec<&str> = tail.split('/').collect();
                match segs.as_slice() {
                    [name] => (prefix, name.to_string(), None),
                    [name, "versions", v] => (prefix, name.to_string(), Some(v.to_string())),
                    _ => bail!(
                        "`{s}`: expected …/v2/models/NAME or …/v2/models/NAME/versions/VERSION"
                    ),
                }
            }
            None if path.ends_with("/v2") || path.contains("/v2/") => {
                bail!("`{s}`: expected http://HOST:PORT or …/v2/models/NAME")
            }
            None => (path, DEFAULT_MODEL_NAME.to_string(), None),
        };
        if !valid_name(&model) {
            bail!("`{s}`: `{model}` is not a model name (letters, digits, `-`, `_`, `.`)");
        }
        if let Some(v) = &version {
            if v.is_empty() || !v.bytes().all(|b| b.is_ascii_digit()) {
                bail!("`{s}`: model version `{v}` is not a number");
            }
        }
        if !prefix
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"/-_.~%".contains(&b))
        {
            bail!("`{s}`: unexpected characters in the path");
        }
        Ok(ServerUrl {
            host,
            port,
            prefix: prefix.to_string(),
            model,
            version,
        })
    }

    /// `http://HOST:PORT/PREFIX` (the server, without the model).
    pub fn base(&self) -> String {
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        format!("http://{host}:{}{}", self.port, self.prefix)
    }

    /// Path of the model's endpoints: `PREFIX/v2/models/NAME[/versions/V]`.
    pub fn model_path(&self) -> String {
        match &self.version {
            Some(v) => format!("{}/v2/models/{}/versions/{v}", self.prefix, self.model),
            None => format!("{}/v2/models/{}", self.prefix, self.model),
        }
    }

    /// `model `NAME`` or `model `NAME` version V`, for messages.
    fn model_label(&self) -> String {
        match &self.version {
            Some(v) => format!("model `{}` version {v}", self.model),
            None => format!("model `{}`", self.model),
        }
    }
}

impl std::fmt::Display for ServerUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}{}",
            self.base(),
            &self.model_path()[self.prefix.len()..]
        )
    }
}

/// A model name usable as a path segment and a Triton model folder.
pub fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with('.')
        && name.len() <= 128
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
}

fn split_host_port(authority: &str) -> Result<(String, u16)> {
    let (host, port) = if let Some(r) = authority.strip_prefix('[') {
        let (h, after) = r
            .split_once(']')
            .ok_or_else(|| anyhow!("unclosed `[` in the host"))?;
        let port = match after.strip_prefix(':') {
            Some(p) => Some(p),
            None if after.is_empty() => None,
            None => bail!("unexpected `{after}` after the host"),
        };
        (h, port)
    } else {
        match authority.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (authority, None),
        }
    };
    if host.is_empty() {
        bail!("no host");
    }
    let port = match port {
        Some(p) => p
            .parse::<u16>()
            .ok()
            .filter(|&p| p != 0)
            .ok_or_else(|| anyhow!("`{p}` is not a port"))?,
        None => 80,
    };
    Ok((host.to_string(), port))
}

/// What `--model-server` and `--model-server-timeout` ask for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerOptions {
    pub url: ServerUrl,
    /// Deadline of one request (connect, send and the whole answer).
    pub timeout: Duration,
}

/// The contract as the server states it: whether `query_positions` is taken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerSignature {
    pub has_query_positions: bool,
    pub platform: String,
}

/// Checks a `GET /v2/models/NAME` answer against the model contract: inputs
/// `input_ids` and `attention_mask` (INT64, rank 2), optionally
/// `query_positions` (INT64, rank 2) and nothing else; output `logits` (FP32,
/// rank 3, last dimension the vocabulary when it is fixed).
pub fn check_metadata(meta: &Value, vocab: usize) -> Result<ServerSignature> {
    let list = |key: &str| -> Result<&Vec<Value>> {
        meta.get(key)
            .and_then(Value::as_array)
            .ok_or_else(|| anyhow!("the model metadata has no `{key}` list"))
    };
    let inputs = list("inputs")?;
    let outputs = list("outputs")?;
    let name_of = |t: &Value| {
        t.get("name")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    let names = |ts: &[Value]| -> String {
        let v: Vec<String> = ts.iter().map(name_of).collect();
        if v.is_empty() {
            "none".into()
        } else {
            v.join(", ")
        }
    };
    let find = |ts: &'_ [Value], name: &str| -> Option<Value> {
        ts.iter().find(|t| name_of(t) == name).cloned()
    };
    let check =
        |t: &Value, kind: &str, name: &str, dtype: &str, rank: usize, what: &str| -> Result<()> {
            let got = t.get("datatype").and_then(Value::as_str).unwrap_or("?");
            if got != dtype {
                bail!("{kind} `{name}` is {got}, the contract needs {dtype}");
            }
            if let Some(shape) = t.get("shape").and_then(Value::as_array) {
                if shape.len() != rank {
                    let dims: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
                    bail!(
                        "{kind} `{name}` has shape [{}], the contract needs {what}",
                        dims.join(", ")
                    );
                }
            }
            Ok(())
        };
    for name in ["input_ids", "attention_mask"] {
        let t = find(inputs, name)
            .ok_or_else(|| anyhow!("it has no input `{name}` (its inputs: {})", names(inputs)))?;
        check(&t, "input", name, "INT64", 2, "[batch, seq]")?;
    }
    let q = find(inputs, "query_positions");
    if let Some(t) = &q {
        check(t, "input", "query_positions", "INT64", 2, "[batch, k]")?;
    }
    for t in inputs {
        let n = name_of(t);
        if !matches!(
            n.as_str(),
            "input_ids" | "attention_mask" | "query_positions"
        ) {
            bail!(
                "it has an input `{n}` that is not part of the contract \
                 (input_ids, attention_mask, query_positions)"
            );
        }
    }
    let out = find(outputs, "logits").ok_or_else(|| {
        anyhow!(
            "it has no output `logits` (its outputs: {})",
            names(outputs)
        )
    })?;
    check(&out, "output", "logits", "FP32", 3, "[batch, k, vocab]")?;
    if let Some(v) = out
        .get("shape")
        .and_then(Value::as_array)
        .and_then(|s| s.get(2))
        .and_then(Value::as_i64)
    {
        if v >= 0 && v as usize != vocab {
            bail!("output `logits` has vocabulary {v} but model.json says vocab_size {vocab}");
        }
    }
    Ok(ServerSignature {
        has_query_positions: q.is_some(),
        platform: meta
            .get("platform")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string(),
    })
}

/// FNV-1a (64-bit) of the ONNX file: the fingerprint `export-triton` writes
/// into the model configuration and the engine compares at start.
pub fn fingerprint(onnx: &[u8]) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in onnx {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("fnv1a64:{h:016x}")
}

/// The engine: one HTTP connection (kept alive) to the server.
pub struct KserveEngine {
    client: Client,
    url: ServerUrl,
    name: String,
    vocab: usize,
    has_q: bool,
    max_batch: usize,
}

/// Outcome of one attempt.
enum Attempt<T> {
    Done(T),
    /// Worth another attempt (connection, timeout, overloaded server).
    Retry(String),
}

impl KserveEngine {
    /// Connects, checks readiness, the model metadata against the contract and
    /// (when the server states it) the ONNX fingerprint against `model`'s.
    pub fn connect(model: &Model, opts: &ServerOptions) -> Result<KserveEngine> {
        let url = &opts.url;
        let client = Client::new(&url.host, url.port, opts.timeout);
        let mut engine = KserveEngine {
            client,
            url: url.clone(),
            name: format!("KServe v2 server {url}"),
            vocab: model.vocab_size(),
            has_q: false,
            max_batch: 0,
        };
        let base = url.base();
        let model_path = url.model_path();
        let ready = engine
            .get(&format!("{model_path}/ready"))
            .with_context(|| format!("cannot reach the model server at {base}"))?;
        if ready.status != 200 {
            let mut msg = format!(
                "the model server at {base} has no ready {} (HTTP {}{})",
                url.model_label(),
                ready.status,
                error_text(&ready)
                    .map(|e| format!(": {e}"))
                    .unwrap_or_default()
            );
            if let Some(list) = engine.repository_index() {
                msg.push_str(&format!("; it has: {list}"));
            }
            bail!(msg);
        }
        let meta = engine.get(&model_path)?;
        if meta.status != 200 {
            bail!(
                "the model server at {base} gave no metadata for {} (HTTP {}{})",
                url.model_label(),
                meta.status,
                error_text(&meta)
                    .map(|e| format!(": {e}"))
                    .unwrap_or_default()
            );
        }
        let meta: Value = serde_json::from_slice(&meta.body).with_context(|| {
            format!("the model server at {base} sent metadata that is not JSON")
        })?;
        let sig = check_metadata(&meta, model.vocab_size()).map_err(|e| {
            anyhow!(
                "{} on the model server at {base} does not match the denoiser's model contract: {e}",
                url.model_label()
            )
        })?;
        engine.has_q = sig.has_query_positions;
        // Triton's model configuration (other KServe servers have none).
        if let Ok(cfg) = engine.get(&format!("{model_path}/config")) {
            if cfg.status == 200 {
                if let Ok(cfg) = serde_json::from_slice::<Value>(&cfg.body) {
                    if let Some(m) = cfg.get("max_batch_size").and_then(Value::as_u64) {
                        engine.max_batch = m as usize;
                    }
                    let remote = cfg
                        .pointer(&format!("/parameters/{FINGERPRINT_PARAMETER}/string_value"))
                        .and_then(Value::as_str);
                    if let Some(remote) = remote {
                        let local = fingerprint(&model.onnx);
                        if remote != local {
                            bail!(
                                "{} on the model server at {base} is a different ONNX file than the \
                                 local model ({}): fingerprint {remote}, local {local}; export the \
                                 same model folder with `refactor model export-triton`",
                                url.model_label(),
                                model.origin
                            );
                        }
                    }
                }
            }
        }
        let platform = if sig.platform.is_empty() {
            String::new()
        } else {
            format!(", platform {}", sig.platform)
        };
        log(&format!(
            "running the denoiser on the model server {url} (KServe v2{platform}; tokenizer from the {})",
            model.origin
        ));
        Ok(engine)
    }

    fn get(&self, path: &str) -> Result<Response> {
        self.send("GET", path, &[], &[])
    }

    /// One request with the retry policy of the module docs.
    fn send(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, String)],
        body: &[u8],
    ) -> Result<Response> {
        self.with_retries(|| match self.client.request(method, path, headers, body) {
            Ok(r) if matches!(r.status, 429 | 502 | 503 | 504) => Ok(Attempt::Retry(format!(
                "HTTP {}{}",
                r.status,
                error_text(&r).map(|e| format!(": {e}")).unwrap_or_default()
            ))),
            Ok(r) => Ok(Attempt::Done(r)),
            Err(e @ (HttpError::Connect(_) | HttpError::Io(_) | HttpError::Closed(_))) => {
                Ok(Attempt::Retry(e.to_string()))
            }
            Err(e @ HttpError::Protocol(_)) => Err(anyhow!("{e}")),
        })
    }

    fn with_retries<T>(&self, mut f: impl FnMut() -> Result<Attempt<T>>) -> Result<T> {
        let mut why = String::new();
        for attempt in 0..=RETRIES {
            if attempt > 0 {
                std::thread::sleep(BACKOFF[attempt - 1]);
            }
            match f()? {
                Attempt::Done(v) => return Ok(v),
                Attempt::Retry(w) => why = w,
            }
        }
        bail!(
            "{why} ({} attempts, {} s timeout each)",
            RETRIES + 1,
            self.client_timeout_secs()
        )
    }

    fn client_timeout_secs(&self) -> String {
        let t = self.client.timeout();
        if t.subsec_millis() == 0 {
            t.as_secs().to_string()
        } else {
            format!("{:.1}", t.as_secs_f64())
        }
    }

    /// `NAME (STATE), …` from Triton's repository index, for the not-ready message.
    fn repository_index(&self) -> Option<String> {
        let r = self
            .client
            .request(
                "POST",
                &format!("{}/v2/repository/index", self.url.prefix),
                &[("Content-Type", "application/json".into())],
                b"{}",
            )
            .ok()?;
        if r.status != 200 {
            return None;
        }
        let v: Value = serde_json::from_slice(&r.body).ok()?;
        let items: Vec<String> = v
            .as_array()?
            .iter()
            .map(|m| {
                let name = m.get("name").and_then(Value::as_str).unwrap_or("?");
                let state = m.get("state").and_then(Value::as_str).unwrap_or("");
                let reason = m.get("reason").and_then(Value::as_str).unwrap_or("");
                match (state.is_empty(), reason.is_empty()) {
                    (true, _) => format!("`{name}`"),
                    (false, true) => format!("`{name}` ({state})"),
                    (false, false) => format!("`{name}` ({state}: {reason})"),
                }
            })
            .collect();
        Some(if items.is_empty() {
            "no models".into()
        } else {
            items.join(", ")
        })
    }

    fn infer(
        &self,
        ids: &[i64],
        mask: &[i64],
        batch: usize,
        seq: usize,
        q: &[i64],
        k: usize,
    ) -> Result<Vec<f32>> {
        let mut inputs = vec![
            ("input_ids", [batch, seq], ids),
            ("attention_mask", [batch, seq], mask),
        ];
        if self.has_q {
            inputs.push(("query_positions", [batch, k], q));
        }
        let header = json!({
            "inputs": inputs.iter().map(|(name, shape, data)| json!({
                "name": name,
                "shape": shape,
                "datatype": "INT64",
                "parameters": {"binary_data_size": data.len() * 8},
            })).collect::<Vec<_>>(),
            "outputs": [{"name": "logits", "parameters": {"binary_data": true}}],
        });
        let header = serde_json::to_vec(&header)?;
        let mut body = header.clone();
        body.reserve(inputs.iter().map(|(_, _, d)| d.len() * 8).sum());
        for (_, _, data) in &inputs {
            for v in data.iter() {
                body.extend_from_slice(&v.to_le_bytes());
            }
        }
        let path = format!("{}/infer", self.url.model_path());
        let resp = self
            .send(
                "POST",
                &path,
                &[
                    ("Content-Type", "application/octet-stream".into()),
                    ("Inference-Header-Content-Length", header.len().to_string()),
                ],
                &body,
            )
            .with_context(|| format!("inference request to {} failed", self.url))?;
        if resp.status != 200 {
            bail!(
                "the model server at {} refused an inference request (HTTP {}{})",
                self.url,
                resp.status,
                error_text(&resp)
                    .map(|e| format!(": {e}"))
                    .unwrap_or_default()
            );
        }
        let rows = if self.has_q { k } else { seq };
        let logits = decode_logits(&resp, [batch, rows, self.vocab])
            .with_context(|| format!("the model server at {} sent an unusable answer", self.url))?;
        if self.has_q {
            Ok(logits)
        } else {
            gather_queries(&logits, batch, seq, self.vocab, q, k)
        }
    }
}

/// The `error` of a KServe error answer, or its text.
fn error_text(r: &Response) -> Option<String> {
    if let Ok(v) = serde_json::from_slice::<Value>(&r.body) {
        if let Some(e) = v.get("error").and_then(Value::as_str) {
            return Some(e.to_string());
        }
    }
    let t = String::from_utf8_lossy(&r.body).trim().to_string();
    (!t.is_empty()).then(|| t.chars().take(300).collect())
}

/// The `logits` output of an inference answer, binary or JSON, checked to be
/// FP32 of shape `want`.
pub fn decode_logits(resp: &Response, want: [usize; 3]) -> Result<Vec<f32>> {
    let header_len = match resp.header("Inference-Header-Content-Length") {
        Some(v) => v
            .parse::<usize>()
            .ok()
            .filter(|&n| n <= resp.body.len())
            .ok_or_else(|| anyhow!("bad Inference-Header-Content-Length `{v}`"))?,
        None => resp.body.len(),
    };
    let header: Value = serde_json::from_slice(&resp.body[..header_len])
        .context("the answer's header is not JSON")?;
    let outputs = header
        .get("outputs")
        .and_then(Value::as_array)
        .ok_or_else(|| anyhow!("the answer has no `outputs`"))?;
    // Binary outputs follow the header in the order they are listed.
    let mut offset = header_len;
    for out in outputs {
        let size = out
            .pointer("/parameters/binary_data_size")
            .and_then(Value::as_u64)
            .map(|n| n as usize);
        if out.get("name").and_then(Value::as_str) != Some("logits") {
            offset += size.unwrap_or(0);
            continue;
        }
        let dtype = out.get("datatype").and_then(Value::as_str).unwrap_or("?");
        if dtype != "FP32" {
            bail!("`logits` came as {dtype}, the contract needs FP32");
        }
        let shape: Vec<u64> = out
            .get("shape")
            .and_then(Value::as_array)
            .map(|s| s.iter().filter_map(Value::as_u64).collect())
            .unwrap_or_default();
        let want_u: Vec<u64> = want.iter().map(|&n| n as u64).collect();
        if shape != want_u {
            bail!("`logits` has shape {shape:?}, expected {want_u:?}");
        }
        let n = want.iter().product::<usize>();
        return match size {
            Some(size) => {
                if size != n * 4 {
                    bail!("`logits` has {size} bytes, expected {}", n * 4);
                }
                let bytes = resp
                    .body
                    .get(offset..offset + size)
                    .ok_or_else(|| anyhow!("the answer is shorter than its tensors"))?;
                Ok(bytes
                    .chunks_exact(4)
                    .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                    .collect())
            }
            None => {
                let data = out
                    .get("data")
                    .and_then(Value::as_array)
                    .ok_or_else(|| anyhow!("`logits` has neither binary data nor `data`"))?;
                if data.len() != n {
                    bail!("`logits` has {} values, expected {n}", data.len());
                }
                data.iter()
                    .map(|v| {
                        v.as_f64()
                            .map(|f| f as f32)
                            .ok_or_else(|| anyhow!("`logits` holds a non-number"))
                    })
                    .collect()
            }
        };
    }
    bail!("the answer has no `logits` output")
}

impl Engine for KserveEngine {
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
        self.infer(ids, mask, batch, seq, q, k)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_forms() {
        let u = ServerUrl::parse("http://localhost:8000").unwrap();
        assert_eq!(
            (
                u.host.as_str(),
                u.port,
                u.prefix.as_str(),
                u.model.as_str(),
                u.version.as_deref()
            ),
            ("localhost", 8000, "", DEFAULT_MODEL_NAME, None)
        );
        assert_eq!(u.model_path(), "/v2/models/refactor-denoiser");
        assert_eq!(
            u.to_string(),
            "http://localhost:8000/v2/models/refactor-denoiser"
        );
        let u = ServerUrl::parse("http://10.0.0.5:8000/v2/models/den/versions/3/").unwrap();
        assert_eq!((u.model.as_str(), u.version.as_deref()), ("den", Some("3")));
        assert_eq!(u.model_path(), "/v2/models/den/versions/3");
        let u = ServerUrl::parse("http://gw.example/serving/v2/models/den").unwrap();
        assert_eq!(
            (u.port, u.prefix.as_str(), u.model.as_str()),
            (80, "/serving", "den")
        );
        assert_eq!(u.to_string(), "http://gw.example:80/serving/v2/models/den");
        let u = ServerUrl::parse("http://[::1]:9000/").unwrap();
        assert_eq!((u.host.as_str(), u.port), ("::1", 9000));
        assert_eq!(u.base(), "http://[::1]:9000");
        for bad in [
            "https://h:1",
            "ftp://h",
            "localhost:8000",
            "http://:8000",
            "http://h:0",
            "http://h:99999",
            "http://h:1/v2/models/",
            "http://h:1/v2/models/a/b",
            "http://h:1/v2/models/a/versions/x",
            "http://h:1/v2/models/../x",
            "http://h:1/v2",
            "http://u:p@h:1",
            "http://h:1/?x=1",
        ] {
            assert!(ServerUrl::parse(bad).is_err(), "{bad}");
        }
        let e = ServerUrl::parse("https://h:1").unwrap_err().to_string();
        assert!(e.contains("https is not supported"), "{e}");
    }

    fn triton_meta() -> Value {
        json!({
            "name": "refactor-denoiser", "versions": ["1"], "platform": "onnxruntime_onnx",
            "inputs": [
                {"name": "input_ids", "datatype": "INT64", "shape": [-1, -1]},
                {"name": "attention_mask", "datatype": "INT64", "shape": [-1, -1]},
                {"name": "query_positions", "datatype": "INT64", "shape": [-1, -1]}
            ],
            "outputs": [{"name": "logits", "datatype": "FP32", "shape": [-1, -1, 8192]}]
        })
    }

    #[test]
    fn metadata_matching_the_contract_is_accepted() {
        let sig = check_metadata(&triton_meta(), 8192).unwrap();
        assert!(sig.has_query_positions);
        assert_eq!(sig.platform, "onnxruntime_onnx");
        let mut m = triton_meta();
        m["inputs"].as_array_mut().unwrap().pop();
        m["outputs"][0]["shape"] = json!([-1, -1, -1]);
        assert!(!check_metadata(&m, 8192).unwrap().has_query_positions);
    }

    #[test]
    fn metadata_breaking_the_contract_is_refused_with_the_reason() {
        type Edit = Box<dyn Fn(&mut Value)>;
        let cases: Vec<(Edit, &str)> = vec![
            (
                Box::new(|m| m["inputs"][0]["name"] = json!("tokens")),
                "no input `input_ids` (its inputs: tokens, attention_mask, query_positions)",
            ),
            (
                Box::new(|m| m["inputs"][1]["datatype"] = json!("INT32")),
                "input `attention_mask` is INT32, the contract needs INT64",
            ),
            (
                Box::new(|m| m["inputs"][2]["datatype"] = json!("FP32")),
                "input `query_positions` is FP32",
            ),
            (
                Box::new(|m| m["inputs"][0]["shape"] = json!([-1])),
                "input `input_ids` has shape [-1], the contract needs [batch, seq]",
            ),
            (
                Box::new(|m| {
                    m["inputs"]
                        .as_array_mut()
                        .unwrap()
                        .push(json!({"name": "extra", "datatype": "INT64", "shape": [-1, -1]}))
                }),
                "input `extra` that is not part of the contract",
            ),
            (
                Box::new(|m| m["outputs"][0]["name"] = json!("scores")),
                "no output `logits` (its outputs: scores)",
            ),
            (
                Box::new(|m| m["outputs"][0]["datatype"] = json!("FP16")),
                "output `logits` is FP16, the contract needs FP32",
            ),
            (
                Box::new(|m| m["outputs"][0]["shape"] = json!([-1, 8192])),
                "output `logits` has shape [-1, 8192]",
            ),
            (
                Box::new(|m| m["outputs"][0]["shape"] = json!([-1, -1, 4096])),
                "vocabulary 4096 but model.json says vocab_size 8192",
            ),
            (
                Box::new(|m| {
                    m.as_object_mut().unwrap().remove("outputs");
                }),
                "no `outputs` list",
            ),
        ];
        for (edit, want) in cases {
            let mut m = triton_meta();
            edit(&mut m);
            let e = check_metadata(&m, 8192).unwrap_err().to_string();
            assert!(e.contains(want), "{e}\n  wanted: {want}");
        }
    }

    fn response(headers: &[(&str, &str)], body: Vec<u8>) -> Response {
        Response::for_tests(200, headers, body)
    }

    #[test]
    fn binary_and_json_logits_are_decoded_and_checked() {
        let values = [1.5f32, -2.0, 0.25, 3.0];
        let header = br#"{"outputs":[{"name":"other","datatype":"FP32","shape":[1],"parameters":{"binary_data_size":4}},{"name":"logits","datatype":"FP32","shape":[1,2,2],"parameters":{"binary_data_size":16}}]}"#;
        let mut body = header.to_vec();
        body.extend_from_slice(&9f32.to_le_bytes());
        for v in values {
            body.extend_from_slice(&v.to_le_bytes());
        }
        let len = header.len().to_string();
        let r = response(&[("inference-header-content-length", &len)], body);
        assert_eq!(decode_logits(&r, [1, 2, 2]).unwrap(), values);
        let e = decode_logits(&r, [2, 1, 2]).unwrap_err().to_string();
        assert!(e.contains("shape [1, 2, 2], expected [2, 1, 2]"), "{e}");

        let json_body = br#"{"outputs":[{"name":"logits","datatype":"FP32","shape":[1,2,2],"data":[1.5,-2.0,0.25,3.0]}]}"#;
        let r = response(&[], json_body.to_vec());
        assert_eq!(decode_logits(&r, [1, 2, 2]).unwrap(), values);

        let fp16 = br#"{"outputs":[{"name":"logits","datatype":"FP16","shape":[1,2,2],"data":[1,2,3,4]}]}"#;
        let e = decode_logits(&response(&[], fp16.to_vec()), [1, 2, 2])
            .unwrap_err()
            .to_string();
        assert!(e.contains("FP16"), "{e}");
        let short = response(
            &[("Inference-Header-Content-Length", &len)],
            header.to_vec(),
        );
        assert!(decode_logits(&short, [1, 2, 2]).is_err());
    }

    #[test]
    fn fingerprint_is_fnv1a64() {
        assert_eq!(fingerprint(b""), "fnv1a64:cbf29ce484222325");
        assert_eq!(fingerprint(b"a"), "fnv1a64:af63dc4c8601ec8c");
    }
}
