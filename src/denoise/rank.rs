//! Candidate ranking: a hole whose answer set is known (`super::Candidates`) is
//! filled with the candidate the model scores highest in the hole's slot, instead
//! of free decoding.
//!
//! A candidate's target is its tokens (the text tokenized on its own, as a fill is)
//! followed by `<|eoh|>` when it is shorter than the slot. It is scored teacher-forced,
//! left to right, in the owner row of every slot of its tie group: the log-probability
//! of its token at position *j*, with positions `0..j` holding its first *j* tokens and
//! the rest of the row as decoding would see it before any commit (other slots
//! masked). One row per distinct prefix and slot answers every candidate sharing that
//! prefix, and slots whose rows are the same (the first level of every slot of one
//! row) share one engine row, each asking for its own position; all prefixes of one
//! length, for every hole, go through the engine together (one level per slot
//! position, each level batched like a decoding step). Tied slots
//! add their log-probabilities, as they vote together in decoding.
//!
//! Pruning, per tie group and level: a candidate is dropped once its partial
//! log-probability is [`MARGIN`] nats below the best complete candidate's, or below the
//! best partial one of its level, and only the [`BEAM`] best prefixes of a level are
//! extended. A dropped candidate is not forgotten: the probability of its scored
//! prefix bounds its own from above, and that bound counts in the denominator of the
//! confidence (below), so pruning can lower a fill's confidence but never raise it.
//!
//! Holes whose candidates are exclusive (the keywords of one call) take different
//! ones, the most confident hole first.
//!
//! The fill is the best complete candidate; its confidence is its share of the
//! probability of all candidates (softmax of the complete ones' total
//! log-probabilities, the dropped ones counted with their prefix's), so the
//! acceptance threshold is a probability over the answer set (a closed set of
//! one name is certain and is not scored). When the set is open, the hole's free
//! decoding is one more candidate, scored the same way, and the confidence is at most
//! the winner's own probability (other names may be right too).
//!
//! The code's own counts: a candidate the walked code already writes at such sites
//! (the annotation of the same parameter name, a keyword the same callee is passed)
//! ranks by its log-probability plus a prior λ·ln(1 + count) ([`TYPE_PRIOR`],
//! [`KEYWORD_PRIOR`]). For type holes the share above is then taken over these
//! scores, so a candidate the code writes often is surer, unless the counts overrule
//! the model (a rival is likelier to the model alone): then the share is the model's
//! own, below one half. For keyword holes the counts only choose; the confidence is
//! always the model's share. The cap of an open set stays the model's own
//! probability.
//!
//! Entry points: [`plan`], [`rank`].

use std::collections::HashMap;

use anyhow::{bail, Result};

use super::canvas::Canvas;
use super::decode::DEFAULT_MAX_BATCH;
use super::engine::Engine;
use super::model::{Model, EOH};
use super::{Candidates, DecodeOptions, DecodeStats, Fill};

/// Nats below the best (complete, or partial at the same level) candidate at which a
/// candidate is dropped. With [`BEAM`], measured on `refactor eval --task
/// py-kwarg-name --limit 300` (starlette 0.46.2 and rich 14.0.0, CPU graph, 2
/// cores): 7 nats and 8 prefixes took 56 and 83 ms per site (1,016 and 1,740
/// scoring rows) at exact match 0.817 and 0.647; 4 and 4 take 40 and 47 ms
/// (724 and 966 rows) at 0.835 and 0.643; 3 and 3 lose 0.02 on rich.
pub const MARGIN: f64 = 4.0;

/// Prefixes extended per tie group and level.
pub const BEAM: usize = 4;

/// Weight λ of the prior of type candidates: a candidate the code writes `n`
/// times for the same parameter name or function return ranks by its
/// log-probability plus λ·ln(1 + n) (the free decoding, written nowhere, adds
/// nothing). On the calibration packages (1,200 return and parameter sites of
/// sphinx, markdown-it-py, dnspython and poetry-core, `scripts/calibrate.py`), exact
/// match by λ: 0 → 0.514, 2 → 0.562, 4 → 0.582, 6 → 0.606, 10 → 0.623, 20 →
/// 0.620; at λ = 10 the fills written at 0.93 are right 245 times in 252 (0.972),
/// against 237 in 247 (0.960) at 0.94 without the prior. Code that writes one
/// annotation for a name most of the time is usually right to.
pub const TYPE_PRIOR: f64 = 10.0;

/// Weight λ of the prior of keyword candidates (how often the code's other calls
/// of the same callee pass each name). On 455 ranked keyword sites of the same
/// packages, exact match by λ: 0 → 0.639, 2 → 0.723, 4 → 0.741, 8 → 0.731 (16 →
/// 0.702 before the confidence was left to the model); at the ranked-name
/// threshold 0.995, λ = 4 writes 194 names, 187 right (0.964), against 198 and 188
/// (0.949) without it. Larger weights let a callee's most passed name win where
/// the model reads the value rightly. When the counts could also raise the
/// confidence, λ = 4 wrote 242 names, 233 right (0.963) here, but on rich 63, 51
/// right (0.810, against 39 and 38 without the prior): where one call loses
/// several keywords the model is sure of the callee's most passed name for more
/// than one of them.
pub const KEYWORD_PRIOR: f64 = 4.0;

/// The prior weights, type and keyword; `REFACTOR_RANK_PRIOR` and
/// `REFACTOR_RANK_PRIOR_KW` replace them for calibration runs
/// (`scripts/calibrate.py`).
fn prior_weights() -> (f64, f64) {
    let read = |var: &str, default: f64| {
        std::env::var(var)
            .ok()
            .and_then(|v| v.parse::<f64>().ok())
            .filter(|v| v.is_finite() && *v >= 0.0)
            .unwrap_or(default)
    };
    (
        read("REFACTOR_RANK_PRIOR", TYPE_PRIOR),
        read("REFACTOR_RANK_PRIOR_KW", KEYWORD_PRIOR),
    )
}

/// The prior of a candidate written `count` times, at weight `weight`.
fn prior(weight: f64, count: usize) -> f64 {
    weight * (count as f64).ln_1p()
}

/// The candidates of one tie group.
#[derive(Debug, Clone)]
pub struct GroupPlan {
    /// How the group's confidence is read.
    kind: SetKind,
    /// Candidate texts, their tokens (each fits the slot) and their prior.
    targets: Vec<(String, Vec<u32>, f64)>,
    /// Common slot length of the group.
    len: usize,
    /// `(file, key)` of [`Candidates::exclusive`] for a group of one slot.
    exclusive: Option<(usize, usize)>,
}

impl GroupPlan {
    /// Whether the answer must be a candidate (else free decoding competes).
    pub fn closed(&self) -> bool {
        self.kind.closed
    }
}

fn tokenize(model: &Model, text: &str) -> Result<Vec<u32>> {
    Ok(model
        .tokenizer
        .encode(text, false)
        .map_err(|e| anyhow::anyhow!("tokenizer failed: {e}"))?
        .get_ids()
        .to_vec())
}

/// Per tie group of `canvas`, the candidates to rank, or `None` when a slot of the
/// group has none (`cands[file][hole]`, missing entries are none) or none fits the
/// slot. A tie group ranks the union of its holes' candidates; it is closed when every
/// hole's set is.
pub fn plan(
    canvas: &Canvas,
    model: &Model,
    cands: &[Vec<Option<Candidates>>],
) -> Result<Vec<Option<GroupPlan>>> {
    let weights = prior_weights();
    let mut out = Vec::with_capacity(canvas.groups.len());
    for slots in &canvas.groups {
        let sets: Option<Vec<&Candidates>> = slots
            .iter()
            .map(|&s| {
                let slot = &canvas.slots[s];
                cands
                    .get(slot.file)
                    .and_then(|f| f.get(slot.hole))
                    .and_then(Option::as_ref)
            })
            .collect();
        let Some(sets) = sets.filter(|s| !s.is_empty()) else {
            out.push(None);
            continue;
        };
        let len = slots
            .iter()
            .map(|&s| canvas.slots[s].len)
            .min()
            .unwrap_or(0);
        // Keyword groups (exclusive sets) and type groups weigh the code's counts apart.
        let keyword = sets.iter().any(|c| c.exclusive.is_some());
        let weight = if keyword { weights.1 } else { weights.0 };
        let mut targets: Vec<(String, Vec<u32>, f64)> = Vec::new();
        for text in sets.iter().flat_map(|c| &c.texts) {
            if targets.iter().any(|(t, _, _)| t == text) {
                continue;
            }
            // Counted in several holes' sets: the largest count.
            let count = sets
                .iter()
                .filter_map(|c| {
                    let i = c.texts.iter().position(|t| t == text)?;
                    c.counts.get(i).copied()
                })
                .max()
                .unwrap_or(0);
            let toks = tokenize(model, text)?;
            if !toks.is_empty() && toks.len() <= len {
                targets.push((text.clone(), toks, prior(weight, count)));
            }
        }
        let exclusive = match (slots.as_slice(), sets.as_slice()) {
            ([s], [c]) => c.exclusive.map(|k| (canvas.slots[*s].file, k)),
            _ => None,
        };
        out.push((!targets.is_empty()).then(|| GroupPlan {
            kind: SetKind {
                closed: sets.iter().all(|c| c.closed),
                prior_confident: !keyword,
            },
            targets,
            len,
            exclusive,
        }));
    }
    Ok(out)
}

/// How a group's confidence is read.
#[derive(Debug, Clone, Copy)]
struct SetKind {
    /// Whether the answer must be a candidate (else free decoding competes).
    closed: bool,
    /// Whether the code's counts may make a fill surer (type holes), or only choose
    /// among candidates, the confidence staying the model's own share (keyword
    /// holes: where one call loses several keywords, the model is sure of a
    /// callee's most passed name for more than one of them, and the counts would
    /// only make it surer).
    prior_confident: bool,
}

/// One candidate being scored.
struct Cand {
    text: String,
    /// Tokens followed by `<|eoh|>` when shorter than the slot.
    seq: Vec<u32>,
    /// Sum of log-probabilities of `seq[..scored]`.
    lp: f64,
    /// What the code's counts add to its rank ([`prior`]); 0 for free decoding.
    prior: f64,
    /// Per scored position, its log-probability (summed over tied slots).
    lps: Vec<f64>,
    alive: bool,
}

impl Cand {
    fn done(&self) -> bool {
        self.lps.len() == self.seq.len()
    }

    /// What candidates are ranked and pruned by: log-probability plus prior.
    fn score(&self) -> f64 {
        self.lp + self.prior
    }
}

/// Ranks the candidates of every group with a plan; returns its fill per group
/// (`None` for groups without a plan). `fills` holds the free decoding of the
/// groups whose plan is open (file, hole order), which competes as a candidate.
pub fn rank(
    canvas: &Canvas,
    engine: &dyn Engine,
    model: &Model,
    opts: &DecodeOptions,
    plans: Vec<Option<GroupPlan>>,
    fills: &[Vec<Fill>],
    stats: &mut DecodeStats,
) -> Result<Vec<Option<Fill>>> {
    // Candidates per group, the free decoding of open groups added.
    let mut groups: Vec<Option<(usize, SetKind, Vec<Cand>)>> = Vec::with_capacity(plans.len());
    let mut exclusive: Vec<Option<(usize, usize)>> = Vec::with_capacity(plans.len());
    for (g, p) in plans.into_iter().enumerate() {
        exclusive.push(p.as_ref().and_then(|p| p.exclusive));
        let Some(mut p) = p else {
            groups.push(None);
            continue;
        };
        if !p.closed() {
            let first = &canvas.slots[canvas.groups[g][0]];
            let free = &fills[first.file][first.hole].text;
            if !free.is_empty() && !p.targets.iter().any(|(t, _, _)| t == free) {
                let toks = tokenize(model, free)?;
                if !toks.is_empty() && toks.len() <= p.len {
                    p.targets.push((free.clone(), toks, 0.0));
                }
            }
        }
        // One name left in a closed set: it is the answer, nothing to score.
        let certain = p.closed() && p.targets.len() == 1;
        let cands = p
            .targets
            .into_iter()
            .map(|(text, mut seq, prior)| {
                if seq.len() < p.len {
                    seq.push(EOH);
                }
                let lps = if certain {
                    vec![0.0; seq.len()]
                } else {
                    Vec::new()
                };
                Cand {
                    text,
                    seq,
                    lp: 0.0,
                    prior,
                    lps,
                    alive: true,
                }
            })
            .collect();
        groups.push(Some((p.len, p.kind, cands)));
    }

    let base = base_rows(canvas);
    let mut level = 0;
    loop {
        // Distinct prefixes of this level per group: (group, prefix) -> next tokens.
        let mut prefixes: Vec<(usize, Vec<u32>)> = Vec::new();
        let mut index: HashMap<(usize, Vec<u32>), usize> = HashMap::new();
        for (g, entry) in groups.iter().enumerate() {
            let Some((_, _, cands)) = entry else { continue };
            for c in cands.iter().filter(|c| c.alive && !c.done()) {
                let key = (g, c.seq[..level].to_vec());
                if !index.contains_key(&key) {
                    index.insert(key.clone(), prefixes.len());
                    prefixes.push(key);
                }
            }
        }
        if prefixes.is_empty() {
            break;
        }
        // One request per prefix and slot of its group.
        let mut reqs: Vec<Request> = Vec::new();
        let mut req_of: Vec<Vec<usize>> = Vec::with_capacity(prefixes.len());
        for (g, prefix) in &prefixes {
            let mut mine = Vec::new();
            for &s in &canvas.groups[*g] {
                let owner = canvas.slots[s].owner;
                let mut ids = base[owner.row].clone();
                for &t in &canvas.groups[*g] {
                    let slot = &canvas.slots[t];
                    for occ in std::iter::once(&slot.owner).chain(&slot.mirrors) {
                        if occ.row == owner.row {
                            for (j, &tok) in prefix.iter().enumerate() {
                                ids[occ.start + j] = i64::from(tok);
                            }
                        }
                    }
                }
                mine.push(reqs.len());
                reqs.push(Request {
                    row: owner.row,
                    ids,
                    query: (owner.start + level) as i64,
                });
            }
            req_of.push(mine);
        }
        let logprobs = run_requests(canvas, engine, model, opts, &reqs, stats)?;
        // Score each live candidate's token at this level.
        for (g, entry) in groups.iter_mut().enumerate() {
            let Some((_, _, cands)) = entry else { continue };
            for c in cands.iter_mut().filter(|c| c.alive && !c.done()) {
                let p = index[&(g, c.seq[..level].to_vec())];
                let tok = c.seq[level] as usize;
                let lp: f64 = req_of[p].iter().map(|&r| f64::from(logprobs[r][tok])).sum();
                c.lp += lp;
                c.lps.push(lp);
            }
            prune(cands, level + 1);
        }
        level += 1;
    }

    Ok(choose(&groups, &exclusive))
}

/// The fill of every ranked group. Groups sharing an exclusive key take different
/// candidates: repeatedly, the group whose best remaining candidate is the most
/// confident takes it, and its text is no longer offered to the others (a group left
/// with nothing takes its best anyway).
fn choose(
    groups: &[Option<(usize, SetKind, Vec<Cand>)>],
    exclusive: &[Option<(usize, usize)>],
) -> Vec<Option<Fill>> {
    let mut out: Vec<Option<Fill>> = vec![None; groups.len()];
    let mut clusters: HashMap<(usize, usize), Vec<usize>> = HashMap::new();
    for (g, entry) in groups.iter().enumerate() {
        let Some((len, set, cands)) = entry else {
            continue;
        };
        match exclusive[g] {
            Some(key) => clusters.entry(key).or_default().push(g),
            None => out[g] = best_fill(cands, *len, *set, &[]),
        }
    }
    let mut keys: Vec<(usize, usize)> = clusters.keys().copied().collect();
    keys.sort_unstable();
    for key in keys {
        let mut open = clusters.remove(&key).unwrap_or_default();
        // Names taken so far, with the confidence of the hole that took each.
        let mut taken: Vec<String> = Vec::new();
        let mut taken_conf: Vec<f32> = Vec::new();
        while !open.is_empty() {
            let mut pick: Option<(usize, Fill)> = None;
            for (i, &g) in open.iter().enumerate() {
                let Some((len, set, cands)) = &groups[g] else {
                    continue;
                };
                let fill = best_fill(cands, *len, *set, &taken)
                    .or_else(|| best_fill(cands, *len, *set, &[]));
                if let Some(mut f) = fill {
                    // A choice narrowed by earlier ones is right only if they are:
                    // its share is scaled by their confidence.
                    for (t, c) in taken.iter().zip(&taken_conf) {
                        if cands.iter().any(|x| x.done() && &x.text == t) {
                            f.confidence *= c;
                        }
                    }
                    if pick
                        .as_ref()
                        .is_none_or(|(_, p)| f.confidence > p.confidence)
                    {
                        pick = Some((i, f));
                    }
                }
            }
            let Some((i, fill)) = pick else { break };
            let g = open.remove(i);
            taken.push(fill.text.clone());
            taken_conf.push(fill.confidence);
            out[g] = Some(fill);
        }
    }
    out
}

/// Drops candidates too far below the best, and all but the [`BEAM`] best prefixes of
/// length `level` (see the module documentation).
fn prune(cands: &mut [Cand], level: usize) {
    let best_done = cands
        .iter()
        .filter(|c| c.alive && c.done())
        .map(Cand::score)
        .fold(f64::NEG_INFINITY, f64::max);
    let best_open = cands
        .iter()
        .filter(|c| c.alive && !c.done())
        .map(Cand::score)
        .fold(f64::NEG_INFINITY, f64::max);
    let floor = best_done.max(best_open) - MARGIN;
    // Prefixes of this level, each with the best score of the candidates sharing
    // it, best first; the BEAM best are kept.
    let mut open: Vec<(f64, &[u32])> = Vec::new();
    for c in cands.iter().filter(|c| c.alive && !c.done()) {
        let pre = &c.seq[..level];
        match open.iter_mut().find(|(_, p)| *p == pre) {
            Some(e) => e.0 = e.0.max(c.score()),
            None => open.push((c.score(), pre)),
        }
    }
    open.sort_by(|a, b| b.0.total_cmp(&a.0));
    let keep: Vec<Vec<u32>> = open.iter().take(BEAM).map(|(_, p)| p.to_vec()).collect();
    for c in cands.iter_mut().filter(|c| c.alive && !c.done()) {
        if c.score() < floor || !keep.iter().any(|p| p.as_slice() == &c.seq[..level]) {
            c.alive = false;
        }
    }
}

/// The best complete candidate by score (log-probability plus prior), with its
/// share of the candidates' weight (the exponent of the score) as confidence
/// (dropped ones counted with their prefix's; for an open set, at most its own
/// probability, which the prior does not raise). When the prior overrules the
/// model (a rival is likelier to the model alone), the confidence is the fill's
/// share of the model's probability instead.
fn best_fill(cands: &[Cand], len: usize, set: SetKind, taken: &[String]) -> Option<Fill> {
    let done: Vec<&Cand> = cands
        .iter()
        .filter(|c| c.done() && !taken.contains(&c.text))
        .collect();
    let best = done
        .iter()
        .copied()
        .reduce(|a, b| if b.score() > a.score() { b } else { a })?;
    // The candidates the share is over: complete ones, and dropped ones with their
    // scored prefix's weight, an upper bound of their own, so the share is a lower
    // bound of the exhaustive one.
    let rivals = || {
        cands
            .iter()
            .filter(|c| (c.done() || !c.alive) && !taken.contains(&c.text))
    };
    let share = |weight: &dyn Fn(&Cand) -> f64| {
        1.0 / rivals()
            .map(|c| (weight(c) - weight(best)).exp())
            .sum::<f64>()
    };
    // The code's counts make a fill surer only where the model agrees: when a rival
    // (or a dropped one's prefix) is likelier to the model alone, the counts overrule
    // it, and the confidence is the model's own share of the fill, below one half.
    let overruled = rivals().any(|c| c.lp > best.lp);
    let share = if overruled || !set.prior_confident {
        share(&|c| c.lp)
    } else {
        share(&Cand::score)
    };
    // A share of an open set overstates: names outside it (which the free decoding
    // stands for only once) take probability too. The candidate's own probability
    // bounds it.
    let confidence = if set.closed {
        share
    } else {
        share.min(best.lp.exp())
    };
    let tokens = best.seq.iter().take_while(|&&t| t != EOH).count();
    let mut steps: Vec<usize> = (1..=best.seq.len()).collect();
    steps.resize(len, best.seq.len());
    Some(Fill {
        text: best.text.clone(),
        confidence: confidence as f32,
        tokens,
        mean_confidence: (best.lp / best.seq.len() as f64).exp() as f32,
        steps,
        ranked: true,
    })
}

/// The canvas rows as decoding starts them: positions past a tie group's common slot
/// length hold `<|eoh|>` (as `decode` writes them).
fn base_rows(canvas: &Canvas) -> Vec<Vec<i64>> {
    let mut rows: Vec<Vec<i64>> = canvas.rows.iter().map(|r| r.ids.clone()).collect();
    for slots in &canvas.groups {
        let len = slots
            .iter()
            .map(|&s| canvas.slots[s].len)
            .min()
            .unwrap_or(0);
        for &s in slots {
            let slot = &canvas.slots[s];
            for occ in std::iter::once(&slot.owner).chain(&slot.mirrors) {
                for j in len..slot.len {
                    rows[occ.row][occ.start + j] = i64::from(EOH);
                }
            }
        }
    }
    rows
}

/// One scoring row: a canvas row with a candidate prefix written into its slot, and
/// the position whose distribution is wanted.
struct Request {
    row: usize,
    ids: Vec<i64>,
    query: i64,
}

/// Runs every request and returns each request's log-probabilities over the
/// vocabulary. Requests with the same row content share one engine row, each
/// asking for its own position: at the first level every slot of a row scores
/// from the same untouched row (the keyword holes of one call, the parameters of
/// one signature). Unique rows go longest first, in chunks of the decoder's batch
/// size, each call cut to its longest row unless the engine needs full rows.
fn run_requests(
    canvas: &Canvas,
    engine: &dyn Engine,
    model: &Model,
    opts: &DecodeOptions,
    reqs: &[Request],
    stats: &mut DecodeStats,
) -> Result<Vec<Vec<f32>>> {
    let vocab = model.vocab_size();
    let seq = canvas.seq_len;
    let content = |r: usize| canvas.rows[r].mask.iter().filter(|&&m| m != 0).count();
    let fixed = engine.fixed_seq_len();
    // Unique (row, ids) -> the requests it answers, in first-seen order.
    let mut unique: Vec<Vec<usize>> = Vec::new();
    let mut seen: HashMap<(usize, &[i64]), usize> = HashMap::new();
    for (i, r) in reqs.iter().enumerate() {
        let u = *seen.entry((r.row, &r.ids[..])).or_insert_with(|| {
            unique.push(Vec::new());
            unique.len() - 1
        });
        unique[u].push(i);
    }
    let mut order: Vec<(usize, usize)> = (0..unique.len())
        .map(|u| (u, content(reqs[unique[u][0]].row)))
        .collect();
    if !fixed {
        order.sort_by_key(|&(u, len)| (std::cmp::Reverse(len), u));
    }
    let chunk = match (opts.max_batch, engine.max_batch()) {
        (0, 0) => DEFAULT_MAX_BATCH,
        (0, m) | (m, 0) => m,
        (a, b) => a.min(b),
    };
    let mut out: Vec<Vec<f32>> = vec![Vec::new(); reqs.len()];
    for part in order.chunks(chunk.max(1)) {
        let b = part.len();
        let run_seq = if fixed {
            seq
        } else {
            part.iter().map(|&(_, len)| len).max().unwrap_or(1).max(1)
        };
        let k = part
            .iter()
            .map(|&(u, _)| unique[u].len())
            .max()
            .unwrap_or(1);
        let mut ids = Vec::with_capacity(b * run_seq);
        let mut mask = Vec::with_capacity(b * run_seq);
        let mut q = Vec::with_capacity(b * k);
        for &(u, len) in part {
            let first = &reqs[unique[u][0]];
            ids.extend_from_slice(&first.ids[..run_seq]);
            mask.extend_from_slice(&canvas.rows[first.row].mask[..run_seq]);
            q.extend(unique[u].iter().map(|&i| reqs[i].query));
            q.extend(std::iter::repeat_n(first.query, k - unique[u].len()));
            stats.tokens_content += len;
        }
        let t0 = std::time::Instant::now();
        let logits = engine.run(&ids, &mask, b, run_seq, &q, k)?;
        stats.engine_seconds += t0.elapsed().as_secs_f64();
        stats.forward_passes += 1;
        stats.row_passes += b;
        stats.candidate_rows += b;
        stats.tokens_run += b * run_seq;
        if logits.len() != b * k * vocab {
            bail!(
                "the engine returned {} logits, expected {}",
                logits.len(),
                b * k * vocab
            );
        }
        for (bi, &(u, _)) in part.iter().enumerate() {
            for (qi, &i) in unique[u].iter().enumerate() {
                let s = (bi * k + qi) * vocab;
                out[i] = log_softmax(&logits[s..s + vocab]);
            }
        }
    }
    Ok(out)
}

fn log_softmax(logits: &[f32]) -> Vec<f32> {
    let m = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    if !m.is_finite() {
        return logits.to_vec();
    }
    let lse = m + logits.iter().map(|v| (v - m).exp()).sum::<f32>().ln();
    logits.iter().map(|v| v - lse).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const CLOSED: SetKind = SetKind {
        closed: true,
        prior_confident: true,
    };
    const OPEN: SetKind = SetKind {
        closed: false,
        prior_confident: true,
    };

    fn cand(text: &str, lp: f64) -> Cand {
        Cand {
            text: text.to_string(),
            seq: vec![40, EOH],
            lp,
            prior: 0.0,
            lps: vec![lp, 0.0],
            alive: true,
        }
    }

    #[test]
    fn confidence_is_the_share_of_the_set() {
        let cands = [cand("a", -1.0), cand("b", -1.0 - 2f64.ln())];
        let f = best_fill(&cands, 8, CLOSED, &[]).unwrap();
        assert_eq!(f.text, "a");
        assert!((f.confidence - 2.0 / 3.0).abs() < 1e-6);
        assert_eq!(f.steps, vec![1, 2, 2, 2, 2, 2, 2, 2]);
        // open: bounded by the winner's own probability e^-1
        let f = best_fill(&cands, 8, OPEN, &[]).unwrap();
        assert!((f.confidence - (-1f32).exp()).abs() < 1e-6);
    }

    #[test]
    fn a_dropped_candidate_counts_with_its_prefix_probability() {
        // `c` was pruned after its first token scored -1.0 - ln 2 (half of `a`'s
        // whole probability): the share of `a` is then at most 1 / (1 + 1/2 + 1/2).
        let mut dropped = cand("c", -1.0 - 2f64.ln());
        dropped.lps = vec![dropped.lp];
        dropped.alive = false;
        let cands = [cand("a", -1.0), cand("b", -1.0 - 2f64.ln()), dropped];
        let f = best_fill(&cands, 8, CLOSED, &[]).unwrap();
        assert_eq!(f.text, "a");
        assert!((f.confidence - 0.5).abs() < 1e-6, "{}", f.confidence);
        // pruning lowers the confidence, it never raises it
        let whole = best_fill(&cands[..2], 8, CLOSED, &[]).unwrap();
        assert!(f.confidence < whole.confidence);
        // a name another hole took is not counted
        let f = best_fill(&cands, 8, CLOSED, &["c".to_string()]).unwrap();
        assert!((f.confidence - 2.0 / 3.0).abs() < 1e-6);
    }

    #[test]
    fn the_codes_counts_rank_candidates() {
        // `b` is less likely to the model but written three times by the code.
        let mut b = cand("b", -2.0);
        b.prior = prior(10.0, 3);
        assert!((b.prior - 10.0 * 4f64.ln()).abs() < 1e-9);
        let cands = [cand("a", -1.0), b];
        let f = best_fill(&cands, 8, CLOSED, &[]).unwrap();
        assert_eq!(f.text, "b");
        // `b` overrules the model's choice `a`: its confidence is its share of the
        // model's probability, 1 / (1 + e), never above one half
        let model_share = 1.0 / (1.0 + 1f64.exp());
        assert!((f64::from(f.confidence) - model_share).abs() < 1e-6);
        // where the model agrees, the counts make the fill surer
        let mut a = cand("a", -1.0);
        a.prior = prior(10.0, 3);
        let agreed = [a, cand("b", -2.0)];
        let f = best_fill(&agreed, 8, CLOSED, &[]).unwrap();
        assert_eq!(f.text, "a");
        let share = 1.0 / (1.0 + (-2.0 - (-1.0 + 10.0 * 4f64.ln())).exp());
        assert!((f64::from(f.confidence) - share).abs() < 1e-6);
        assert!(f64::from(f.confidence) > 1.0 / (1.0 + (-1f64).exp()));
        // keyword sets: the counts choose, the confidence stays the model's share
        let keywords = SetKind {
            closed: true,
            prior_confident: false,
        };
        let f = best_fill(&agreed, 8, keywords, &[]).unwrap();
        assert_eq!(f.text, "a");
        assert!((f64::from(f.confidence) - 1.0 / (1.0 + (-1f64).exp())).abs() < 1e-6);
        // an open set is still capped by the winner's own probability
        let f = best_fill(&agreed, 8, OPEN, &[]).unwrap();
        assert!((f.confidence - (-1f32).exp()).abs() < 1e-6);
        // no count, no prior
        assert_eq!(prior(10.0, 0), 0.0);
    }

    #[test]
    fn keywords_of_one_call_take_different_names() {
        let groups = vec![
            Some((8, CLOSED, vec![cand("path", -0.1), cand("protocol", -3.0)])),
            Some((8, CLOSED, vec![cand("path", -0.5), cand("protocol", -1.0)])),
            Some((8, CLOSED, vec![cand("path", -0.5), cand("protocol", -1.0)])),
        ];
        let fills = choose(&groups, &[Some((0, 7)), Some((0, 7)), None]);
        let texts: Vec<&str> = fills
            .iter()
            .map(|f| f.as_ref().unwrap().text.as_str())
            .collect();
        // the surer hole keeps `path`; the other takes what is left, only as sure as
        // the first; the third is another call
        assert_eq!(texts, vec!["path", "protocol", "path"]);
        let first = fills[0].as_ref().unwrap().confidence;
        assert!((first - 1.0 / (1.0 + (-2.9f32).exp())).abs() < 1e-5);
        assert!((fills[1].as_ref().unwrap().confidence - first).abs() < 1e-6);
    }
}
