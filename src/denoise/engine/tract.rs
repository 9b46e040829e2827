//! Embedded pure-Rust engine (tract-onnx): runs the same ONNX file with no setup.
//! Entry point: [`TractEngine::new`].

use std::sync::Arc;

use anyhow::{anyhow, bail, Result};
use rayon::prelude::*;
use tract_onnx::prelude::*;

use super::{gather_queries, Engine};
use crate::denoise::model::Model;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Input {
    Ids,
    Mask,
    Query,
}

pub struct TractEngine {
    plan: Arc<TypedRunnableModel>,
    inputs: Vec<Input>,
    vocab: usize,
    has_q: bool,
    /// Parts a call is split into (one per core).
    threads: usize,
}

impl TractEngine {
    pub fn new(model: &Model) -> Result<Self> {
        let err =
            |e: anyhow::Error| anyhow!("the embedded engine (tract) cannot run the model: {e:#}");
        let mut reader = std::io::Cursor::new(model.onnx.as_ref());
        let mut inf = tract_onnx::onnx()
            .model_for_read(&mut reader)
            .map_err(err)?;
        inf.select_outputs_by_name(["logits"]).map_err(err)?;
        let mut inputs = Vec::new();
        for outlet in inf.input_outlets().map_err(err)?.to_vec() {
            let name = inf.node(outlet.node).name.clone();
            inputs.push(match name.as_str() {
                "input_ids" => Input::Ids,
                "attention_mask" => Input::Mask,
                "query_positions" => Input::Query,
                other => bail!("the model has an input `{other}` outside the contract"),
            });
        }
        let typed = inf.into_optimized().map_err(err)?;
        let plan = typed.into_runnable().map_err(err)?;
        Ok(TractEngine {
            plan,
            inputs,
            vocab: model.vocab_size(),
            has_q: model.has_query_positions,
            threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
        })
    }
}

impl Engine for TractEngine {
    fn name(&self) -> &str {
        "tract"
    }

    /// tract runs a call on one thread, so the batch is split into one part per
    /// core (contiguous rows, as evenly as possible) run side by side; the parts'
    /// logits are concatenated in row order. Each row's logits do not depend on the
    /// other rows of its call.
    fn run(
        &self,
        ids: &[i64],
        mask: &[i64],
        batch: usize,
        seq: usize,
        q: &[i64],
        k: usize,
    ) -> Result<Vec<f32>> {
        let parts = self.threads.min(batch).max(1);
        if parts == 1 {
            return self.run_part(ids, mask, batch, seq, q, k);
        }
        let bounds: Vec<(usize, usize)> = (0..parts)
            .map(|p| (batch * p / parts, batch * (p + 1) / parts))
            .collect();
        let outs: Vec<Result<Vec<f32>>> = bounds
            .par_iter()
            .map(|&(a, b)| {
                self.run_part(
                    &ids[a * seq..b * seq],
                    &mask[a * seq..b * seq],
                    b - a,
                    seq,
                    &q[a * k..b * k],
                    k,
                )
            })
            .collect();
        let mut data = Vec::with_capacity(batch * k * self.vocab);
        for o in outs {
            data.extend(o?);
        }
        Ok(data)
    }
}

impl TractEngine {
    fn run_part(
        &self,
        ids: &[i64],
        mask: &[i64],
        batch: usize,
        seq: usize,
        q: &[i64],
        k: usize,
    ) -> Result<Vec<f32>> {
        let mut tv: TVec<TValue> = tvec![];
        for inp in &self.inputs {
            let t = match inp {
                Input::Ids => Tensor::from_shape(&[batch, seq], ids)?,
                Input::Mask => Tensor::from_shape(&[batch, seq], mask)?,
                Input::Query => Tensor::from_shape(&[batch, k], q)?,
            };
            tv.push(t.into_tvalue());
        }
        let out = self
            .plan
            .run(tv)
            .map_err(|e| anyhow!("tract inference failed: {e:#}"))?;
        let logits = out
            .first()
            .ok_or_else(|| anyhow!("the model produced no output"))?;
        let view = logits.to_plain_array_view::<f32>()?;
        let data: Vec<f32> = view.iter().copied().collect();
        if self.has_q {
            if data.len() != batch * k * self.vocab {
                bail!(
                    "the model returned {} logits, expected [batch {batch}, k {k}, vocab {}]",
                    data.len(),
                    self.vocab
                );
            }
            Ok(data)
        } else {
            gather_queries(&data, batch, seq, self.vocab, q, k)
        }
    }
}
