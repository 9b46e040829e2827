//! Decoding loop over the canvas (design §5, docs/canvas.md "Slot targets and fills").
//!
//! Each step runs every unfinished row in one batch (rows with nothing left to decode
//! leave it), asking only for logits at open slot positions. Parallel mode commits
//! every position whose confidence (max softmax probability over allowed tokens)
//! reaches τ, and at least the most confident position of each unfinished slot;
//! sequential mode commits the leftmost open position of each slot; prefix mode commits
//! the leftmost open position and then each following one while it reaches τ (it sees
//! every earlier position committed by then, so `<|eoh|>` may end the run). `<|eoh|>` is
//! allowed at a position only when every earlier position of the slot is committed,
//! and committing it fills the rest of the slot. Tied slots sum their
//! log-probabilities (renormalised) and commit the same token everywhere.
//! Deterministic: argmax with ties to the lowest token id and the leftmost position.
//!
//! Entry point: [`decode`].

use std::collections::HashMap;

use anyhow::{bail, Result};
use rayon::prelude::*;

use super::canvas::Canvas;
use super::engine::Engine;
use super::model::{Model, EOH, NUM_SPECIAL};
use super::{DecodeMode, DecodeOptions, DecodeStats, Fill};

/// Rows per engine call when neither the options nor the engine set a limit: one
/// tensor per step for canvases up to this size, bounded memory beyond. Attention
/// scores are batch x heads x seq^2 floats per layer, and a copy (pointer) head such
/// as the default model's builds a batch x seq x vocab one-hot (8 MiB a row at
/// seq 256, vocab 8192), so 32 rows keep one call's transients near 300 MiB.
pub const DEFAULT_MAX_BATCH: usize = 32;

/// What one position's distribution offers: best ordinary token and `<|eoh|>`.
#[derive(Debug, Clone, Copy)]
struct Summary {
    best: u32,
    best_lp: f32,
    eoh_lp: f32,
}

fn log_sum_exp(x: &[f32]) -> f32 {
    let m = x.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    if !m.is_finite() {
        return m;
    }
    m + x.iter().map(|v| (v - m).exp()).sum::<f32>().ln()
}

/// Summary of logits (or unnormalised log-probs) over `valid` tokens.
fn summarize(logits: &[f32], valid: usize) -> Summary {
    let lse = log_sum_exp(logits);
    let lo = NUM_SPECIAL as usize;
    let mut best = lo;
    for (i, &v) in logits.iter().enumerate().take(valid).skip(lo) {
        if v > logits[best] {
            best = i;
        }
    }
    Summary {
        best: best as u32,
        best_lp: logits[best] - lse,
        eoh_lp: logits[EOH as usize] - lse,
    }
}

fn log_softmax(logits: &[f32]) -> Vec<f32> {
    let lse = log_sum_exp(logits);
    logits.iter().map(|v| v - lse).collect()
}

struct GroupState {
    slots: Vec<usize>,
    len: usize,
    tokens: Vec<Option<u32>>,
    probs: Vec<f32>,
    steps: Vec<usize>,
}

impl GroupState {
    fn open(&self) -> impl Iterator<Item = usize> + '_ {
        (0..self.len).filter(|&j| self.tokens[j].is_none())
    }
    fn done(&self) -> bool {
        self.tokens.iter().all(Option::is_some)
    }
}

/// Candidate for open position `j` of group `g` given its summary.
fn candidate(g: &GroupState, j: usize, s: &Summary) -> (u32, f32) {
    pick(s, (0..j).all(|i| g.tokens[i].is_some()))
}

/// The token a position commits and its log-probability: `<|eoh|>` when allowed and
/// at least as likely as the best ordinary token.
fn pick(s: &Summary, eoh_allowed: bool) -> (u32, f32) {
    if eoh_allowed && s.eoh_lp >= s.best_lp {
        (EOH, s.eoh_lp)
    } else {
        (s.best, s.best_lp)
    }
}

/// Prefix mode's commits for one slot: its leftmost open position `first`, then each
/// next position while it reaches `tau`. Every position before one of the run is
/// committed by the time it is, so `<|eoh|>` is allowed there, and it ends the run.
/// Never commits a later position before an earlier one: a confident token cannot be
/// placed ahead of a gap the model has not filled (what makes the parallel rule write
/// `&[usize]]` when it expects a longer fill).
fn confident_run(
    open: &[usize],
    first: (usize, u32, f32),
    tau: f32,
    summary: impl Fn(usize) -> Summary,
) -> Vec<(usize, u32, f32)> {
    // `first` is `open[0]`; the run only grows over consecutive open positions.
    let mut run = vec![first];
    for pair in open.windows(2) {
        let (prev, j) = (pair[0], pair[1]);
        if run[run.len() - 1].1 == EOH || j != prev + 1 {
            break;
        }
        let (t, lp) = pick(&summary(j), true);
        if lp.exp() < tau {
            break;
        }
        run.push((j, t, lp.exp()));
    }
    run
}

/// Decodes every slot of `canvas`; returns fills per file per hole and statistics
/// (`seconds` and `engine` are left for the caller).
///
/// Each step: one batched forward pass over the rows that still have open
/// positions ([`forward`]), then per tie group the positions to commit
/// ([`choose`]) and the tokens written into every occurrence of its slots.
pub fn decode(
    canvas: &Canvas,
    engine: &dyn Engine,
    model: &Model,
    opts: &DecodeOptions,
) -> Result<(Vec<Vec<Fill>>, DecodeStats)> {
    decode_groups(
        canvas,
        engine,
        model,
        opts,
        &vec![true; canvas.groups.len()],
    )
}

/// [`decode`] for the tie groups with `only[g]` true; the others stay masked in
/// every row (as if not yet decoded) and get an empty fill of confidence 0, for the
/// caller to replace (candidate ranking, [`super::rank`]).
pub fn decode_groups(
    canvas: &Canvas,
    engine: &dyn Engine,
    model: &Model,
    opts: &DecodeOptions,
    only: &[bool],
) -> Result<(Vec<Vec<Fill>>, DecodeStats)> {
    // The command line refuses such values before any work; this guards
    // library callers.
    if !(opts.threshold > 0.0 && opts.threshold <= 1.0) {
        bail!(
            "the commit threshold τ (--tau) must be above 0 and at most 1, got {}",
            opts.threshold
        );
    }
    let mut rows: Vec<Vec<i64>> = canvas.rows.iter().map(|r| r.ids.clone()).collect();
    let mut groups = init_groups(canvas, &mut rows);
    let mut stats = DecodeStats {
        rows: canvas.rows.len(),
        slots: canvas.slots.len(),
        seq_len: canvas.seq_len,
        ..Default::default()
    };
    let mut step = 0;
    loop {
        let active: Vec<usize> = (0..groups.len())
            .filter(|&g| only[g] && !groups[g].done())
            .collect();
        if active.is_empty() {
            break;
        }
        step += 1;
        let last_step = opts.max_steps > 0 && step >= opts.max_steps;
        let summary = forward(
            canvas, engine, model, opts, &rows, &groups, &active, &mut stats,
        )?;
        for &gi in &active {
            let g = &mut groups[gi];
            let at = |j: usize| summary[&(gi, j)];
            if last_step {
                // Out of steps: commit every open position from these predictions, left to
                // right (each one then sees all earlier positions committed).
                for j in g.open().collect::<Vec<_>>() {
                    if g.tokens[j].is_some() {
                        continue;
                    }
                    let (t, lp) = candidate(g, j, &at(j));
                    commit_one(g, j, t, lp.exp(), step);
                    stats.tokens_committed += 1;
                }
            } else {
                for (j, t, p) in choose(g, opts, at) {
                    if g.tokens[j].is_some() {
                        continue; // filled by an <|eoh|> committed earlier this step
                    }
                    commit_one(g, j, t, p, step);
                    stats.tokens_committed += 1;
                }
            }
            write_back(canvas, g, &mut rows);
        }
    }
    stats.steps = step;

    let mut fills: Vec<Vec<Fill>> = canvas
        .slot_of
        .iter()
        .map(|v| Vec::with_capacity(v.len()))
        .collect();
    for (fi, slots) in canvas.slot_of.iter().enumerate() {
        for &s in slots {
            let gi = canvas.slots[s].group;
            if only[gi] {
                fills[fi].push(make_fill(&groups[gi], canvas.slots[s].len, model)?);
            } else {
                fills[fi].push(Fill {
                    text: String::new(),
                    confidence: 0.0,
                    tokens: 0,
                    mean_confidence: 0.0,
                    steps: vec![0; canvas.slots[s].len],
                    ranked: false,
                });
            }
        }
    }
    Ok((fills, stats))
}

/// One state per tie group; positions past a group's common length are
/// end-of-hole from the start (written into `rows`).
fn init_groups(canvas: &Canvas, rows: &mut [Vec<i64>]) -> Vec<GroupState> {
    let groups: Vec<GroupState> = canvas
        .groups
        .iter()
        .map(|slots| {
            let len = slots
                .iter()
                .map(|&s| canvas.slots[s].len)
                .min()
                .unwrap_or(0);
            GroupState {
                slots: slots.clone(),
                len,
                tokens: vec![None; len],
                probs: vec![1.0; len],
                steps: vec![0; len],
            }
        })
        .collect();
    for g in &groups {
        for &s in &g.slots {
            let slot = &canvas.slots[s];
            for occ in std::iter::once(&slot.owner).chain(&slot.mirrors) {
                for j in g.len..slot.len {
                    rows[occ.row][occ.start + j] = i64::from(EOH);
                }
            }
        }
    }
    groups
}

/// One step's forward passes: the open positions of the `active` groups are
/// queried in every row that owns one of their slots, rows batched in chunks
/// of at most the engine's (or the options') batch size. Returns, per
/// `(group, position)`, the summary of the summed log-probabilities over the
/// group's occurrences (tied slots vote together).
#[allow(clippy::too_many_arguments)]
fn forward(
    canvas: &Canvas,
    engine: &dyn Engine,
    model: &Model,
    opts: &DecodeOptions,
    rows: &[Vec<i64>],
    groups: &[GroupState],
    active: &[usize],
    stats: &mut DecodeStats,
) -> Result<HashMap<(usize, usize), Summary>> {
    let vocab = model.vocab_size();
    let valid = vocab
        .min(model.tokenizer.get_vocab_size(true))
        .max(NUM_SPECIAL as usize + 1);
    let seq = canvas.seq_len;
    // Queries: per row, the open positions of the slots it owns.
    let mut row_queries: Vec<Vec<i64>> = vec![Vec::new(); rows.len()];
    // (group, j) -> [(row, query index)] for every voting occurrence
    let mut where_: HashMap<(usize, usize), Vec<(usize, usize)>> = HashMap::new();
    for &gi in active {
        let g = &groups[gi];
        for j in g.open() {
            for &s in &g.slots {
                let occ = canvas.slots[s].owner;
                let q = &mut row_queries[occ.row];
                where_.entry((gi, j)).or_default().push((occ.row, q.len()));
                q.push((occ.start + j) as i64);
            }
        }
    }
    // Rows with queries. An engine that allows it (none of the shipped ones: see
    // `Engine::fixed_seq_len`) gets them longest content first, each call cut to
    // its longest row.
    let content = |r: usize| canvas.rows[r].mask.iter().filter(|&&m| m != 0).count();
    let mut batch_rows: Vec<(usize, usize)> = (0..rows.len())
        .filter(|&r| !row_queries[r].is_empty())
        .map(|r| (r, content(r)))
        .collect();
    let fixed = engine.fixed_seq_len();
    if !fixed {
        batch_rows.sort_by_key(|&(r, len)| (std::cmp::Reverse(len), r));
    }
    let chunk = match (opts.max_batch, engine.max_batch()) {
        (0, 0) => DEFAULT_MAX_BATCH,
        (0, m) | (m, 0) => m,
        (a, b) => a.min(b),
    };
    // Per row: which chunk holds its logits, and at which query offset.
    let mut row_logits: HashMap<usize, (usize, usize)> = HashMap::new();
    let mut chunks: Vec<Vec<f32>> = Vec::new();
    for part in batch_rows.chunks(chunk.max(1)) {
        let k = part
            .iter()
            .map(|&(r, _)| row_queries[r].len())
            .max()
            .unwrap_or(1);
        let b = part.len();
        let run_seq = if fixed {
            seq
        } else {
            part.iter().map(|&(_, len)| len).max().unwrap_or(1).max(1)
        };
        let mut ids = Vec::with_capacity(b * run_seq);
        let mut mask = Vec::with_capacity(b * run_seq);
        let mut q = Vec::with_capacity(b * k);
        for (bi, &(r, len)) in part.iter().enumerate() {
            ids.extend_from_slice(&rows[r][..run_seq]);
            mask.extend_from_slice(&canvas.rows[r].mask[..run_seq]);
            let rq = &row_queries[r];
            q.extend_from_slice(rq);
            q.extend(std::iter::repeat_n(rq[0], k - rq.len()));
            row_logits.insert(r, (chunks.len(), bi * k));
            stats.tokens_content += len;
        }
        let t0 = std::time::Instant::now();
        let out = engine.run(&ids, &mask, b, run_seq, &q, k)?;
        stats.engine_seconds += t0.elapsed().as_secs_f64();
        stats.forward_passes += 1;
        stats.row_passes += b;
        stats.tokens_run += b * run_seq;
        if out.len() != b * k * vocab {
            bail!(
                "the engine returned {} logits, expected {}",
                out.len(),
                b * k * vocab
            );
        }
        chunks.push(out);
    }
    let logits_at = |row: usize, qi: usize| -> &[f32] {
        let (c, base) = row_logits[&row];
        let s = (base + qi) * vocab;
        &chunks[c][s..s + vocab]
    };
    // Summaries per (group, j), in a deterministic order.
    let mut keys: Vec<(usize, usize)> = where_.keys().copied().collect();
    keys.sort_unstable();
    let summaries: Vec<Summary> = keys
        .par_iter()
        .map(|key| {
            let occs = &where_[key];
            if occs.len() == 1 {
                let (r, qi) = occs[0];
                summarize(logits_at(r, qi), valid)
            } else {
                let mut sum = vec![0f32; vocab];
                for &(r, qi) in occs {
                    for (a, b) in sum.iter_mut().zip(log_softmax(logits_at(r, qi))) {
                        *a += b;
                    }
                }
                summarize(&sum, valid)
            }
        })
        .collect();
    Ok(keys.into_iter().zip(summaries).collect())
}

/// The positions of group `g` to commit this step under the decoding mode,
/// in position order: sequential takes the leftmost open one; prefix the
/// leftmost and then each next one reaching τ; parallel every one reaching
/// τ, or else the single most confident.
fn choose(
    g: &GroupState,
    opts: &DecodeOptions,
    at: impl Fn(usize) -> Summary,
) -> Vec<(usize, u32, f32)> {
    let open: Vec<usize> = g.open().collect();
    let cands: Vec<(usize, u32, f32)> = open
        .iter()
        .map(|&j| {
            let (t, lp) = candidate(g, j, &at(j));
            (j, t, lp.exp())
        })
        .collect();
    let mut commit = match opts.mode {
        DecodeMode::Sequential => vec![cands[0]],
        DecodeMode::Prefix => confident_run(&open, cands[0], opts.threshold, at),
        DecodeMode::Parallel => {
            let mut c: Vec<_> = cands
                .iter()
                .copied()
                .filter(|c| c.2 >= opts.threshold)
                .collect();
            if c.is_empty() {
                let mut best = cands[0];
                for &x in &cands[1..] {
                    if x.2 > best.2 {
                        best = x;
                    }
                }
                c.push(best);
            }
            c
        }
    };
    commit.sort_by_key(|c| c.0);
    commit
}

/// Writes a group's committed tokens into every occurrence of its slots.
fn write_back(canvas: &Canvas, g: &GroupState, rows: &mut [Vec<i64>]) {
    for &s in &g.slots {
        let slot = &canvas.slots[s];
        for occ in std::iter::once(&slot.owner).chain(&slot.mirrors) {
            for j in 0..g.len {
                if let Some(t) = g.tokens[j] {
                    rows[occ.row][occ.start + j] = i64::from(t);
                }
            }
        }
    }
}

fn commit_one(g: &mut GroupState, j: usize, t: u32, p: f32, step: usize) {
    g.tokens[j] = Some(t);
    g.probs[j] = p;
    g.steps[j] = step;
    if t == EOH {
        for i in j + 1..g.len {
            g.tokens[i] = Some(EOH);
            g.probs[i] = 1.0;
            g.steps[i] = step;
        }
    }
}

fn make_fill(g: &GroupState, slot_len: usize, model: &Model) -> Result<Fill> {
    let mut toks = Vec::new();
    let mut logp = 0f64;
    let mut counted = 0usize;
    for j in 0..g.len {
        let t = g.tokens[j].unwrap_or(EOH);
        logp += f64::from(g.probs[j].max(f32::MIN_POSITIVE)).ln();
        counted += 1;
        if t == EOH {
            break;
        }
        toks.push(t);
    }
    let text = model
        .tokenizer
        .decode(&toks, false)
        .map_err(|e| anyhow::anyhow!("cannot decode a fill: {e}"))?;
    let mut steps = g.steps.clone();
    // Positions past a tie group's common length were end-of-hole from the start.
    steps.resize(slot_len, 0);
    Ok(Fill {
        text,
        confidence: logp.exp() as f32,
        tokens: toks.len(),
        mean_confidence: if counted == 0 {
            1.0
        } else {
            (logp / counted as f64).exp() as f32
        },
        steps,
        ranked: false,
    })
}
