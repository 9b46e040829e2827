//! Stage 4: fill holes. Every hole of every file goes onto one canvas and is
//! decoded together by the denoiser (design §5), except that a hole whose
//! answer set the walked code spells out (a keyword argument of a callee
//! defined there: [`crate::candidates`]) gets the best of those answers under
//! the model (unless its declaration says `candidates: off`); then each fill is accepted
//! only if it is confident enough and fits its `regex`. (`kind` and the
//! reparse check need the final text and happen in `pipeline::finalize`.)
//! An edit whose hole is not accepted is left out and reported as
//! unresolved, with the best guess.

use crate::candidates::{self, DefIndex};
use crate::denoise::{
    Candidates, ContextIndex, DecodeOptions, DecodeStats, Denoiser, Device, FileHoles, HoleSite,
    ModelSource, ServerOptions,
};
use crate::lang::Lang;
use crate::plan::{self, EditStatus, HoleProblem};
use crate::results::FileResult;
use crate::rule::Rule;
use std::path::PathBuf;

#[derive(Debug, Clone)]
pub struct FillOptions {
    pub model: ModelSource,
    pub device: Device,
    /// `--model-server`: run the forward passes on this KServe v2 server
    /// (`device` is then the server's business).
    pub server: Option<ServerOptions>,
    pub decode: DecodeOptions,
    /// `--threshold`: the confidence every fill needs, whatever its hole's kind
    /// (a hole's `min_confidence` still wins). `None`: [`default_threshold`].
    pub threshold: Option<f32>,
    /// `--quiet`: no stderr line about which engine runs the model.
    pub quiet: bool,
}

/// Confidence a fill needs when neither its hole's `min_confidence` nor `--threshold`
/// says, and its hole has no `kind` that [`default_threshold`] knows better. Measured
/// on the only such task held out, Rust `let` types (170 sites of encoding_rs, tracing,
/// tracing-core and ort): at 0.8 the model wrote 8 fills, 2 of them right; no cut
/// reaches 0.95 precision and above 0.9 it wrote nothing. So such a fill must be at
/// least as sure as the precision wanted of what is written.
pub const DEFAULT_THRESHOLD: f32 = 0.95;

/// Confidence a fill needs by default, by what its hole holds (`kind`) and whether the
/// guess was chosen among candidates the code offers (`ranked`). Calibrated on held-out
/// packages that are neither in the training corpus nor among those whose numbers are
/// reported (sphinx 9.0.4, markdown-it-py 4.3.0, dnspython 2.9.2, poetry-core 2.5.0;
/// `scripts/calibrate.py`, table in docs/eval.md, "Calibrated thresholds"): each is the
/// lowest cut whose written fills are right at least 95 times in 100 there, and stay so
/// at every higher cut.
pub fn default_threshold(kind: Option<&str>, ranked: bool) -> f32 {
    match (kind, ranked) {
        (Some("identifier"), true) => RANKED_NAME_THRESHOLD,
        (Some("identifier"), false) => NAME_THRESHOLD,
        (Some("type"), _) => TYPE_THRESHOLD,
        _ => DEFAULT_THRESHOLD,
    }
}

/// Type holes (`kind: type`), decoded and ranked against the annotations the code
/// writes for the same name, with the prior of how often each is written
/// (`denoise::rank::TYPE_PRIOR`, CPU graph): on 1,200 return and parameter sites,
/// 252 fills written at 0.93, 245 right (0.972), and every higher cut stays at or
/// above 0.97; 0.90 writes 290, 276 right (0.952); at 0.8, 378 and 348 (0.921).
/// The cut is taken for 0.97 rather than 0.95 on the calibration code because
/// held-out packages have come out a few points below it. Before the prior the
/// default was 0.94: 210 written, 200 right (0.952).
pub const TYPE_THRESHOLD: f32 = 0.93;
/// Name holes (`kind: identifier`) decoded freely: on 632 keyword and local-name sites,
/// 11 written at 0.94, all right; at 0.8, 46 and 39 (0.848).
pub const NAME_THRESHOLD: f32 = 0.94;
/// Name holes filled by ranking the candidates the code offers (keyword names), whose
/// confidence is a lower bound of their share of the candidates' weight (pruned
/// candidates count with their prefix's), with the prior of how often the callee is
/// passed each name (`denoise::rank::KEYWORD_PRIOR`, which chooses but leaves the
/// confidence the model's): on 455 sites, 194 written at 0.995, 187 right (0.964);
/// 0.999 writes 150, 148 right (0.987); at 0.8, 318 and 273 (0.858). Without the
/// prior 0.995 wrote 198, 188 right (0.949).
pub const RANKED_NAME_THRESHOLD: f32 = 0.995;

impl Default for FillOptions {
    fn default() -> Self {
        FillOptions {
            model: ModelSource::Default,
            device: Device::Auto,
            server: None,
            decode: DecodeOptions::default(),
            threshold: None,
            quiet: false,
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct FillSummary {
    pub stats: DecodeStats,
    pub holes: usize,
    pub accepted: usize,
}

/// Decodes all live holes of `results` and records fills and verdicts on
/// their edits. `defs` holds the definitions of every walked file (keyword
/// candidates); `None` indexes those of `results` (eval, where every walked
/// file is there).
pub fn fill_holes(
    results: &mut [FileResult],
    rules: &[Rule],
    opts: &FillOptions,
    defs: Option<&DefIndex>,
) -> anyhow::Result<FillSummary> {
    crate::denoise::engine::set_quiet(opts.quiet);
    let denoiser = match &opts.server {
        Some(server) => Denoiser::load_remote(&opts.model, server)?,
        None => Denoiser::load(&opts.model, opts.device)?,
    };
    let ctx = ContextIndex::build(
        results
            .iter()
            .map(|f| (PathBuf::from(&f.rel), f.original.clone())),
    );
    let mut inputs = Vec::new();
    // (file, edit, hole) per canvas hole, in `inputs` order.
    let mut owners: Vec<Vec<(usize, usize)>> = Vec::new();
    for (fi, f) in results.iter().enumerate() {
        if !f.edits.iter().any(|e| e.is_live() && !e.holes.is_empty()) {
            continue;
        }
        let (holes, own) = file_holes(f, rules);
        inputs.push((fi, holes));
        owners.push(own);
    }
    let files: Vec<FileHoles> = inputs.iter().map(|(_, fh)| fh.clone()).collect();
    let wants = |fi: usize| wants_candidates(&results[fi], rules);
    let built;
    let defs = match defs {
        Some(d) => d,
        None => {
            built = if inputs.iter().any(|(fi, _)| wants(*fi)) {
                DefIndex::build(
                    results
                        .iter()
                        .filter(|f| f.lang == Lang::Python)
                        .map(|f| f.original.as_str()),
                )
            } else {
                DefIndex::default()
            };
            &built
        }
    };
    let cands: Vec<Vec<Option<Candidates>>> = inputs
        .iter()
        .zip(&owners)
        .map(|((fi, fh), own)| hole_candidates(&results[*fi], fh, own, rules, defs))
        .collect();
    let (fills, stats) = denoiser.fill_ranked(&files, &ctx, &opts.decode, &cands)?;
    let mut summary = FillSummary {
        stats,
        ..Default::default()
    };
    for (((fi, _), own), file_fills) in inputs.iter().zip(&owners).zip(fills) {
        let f = &mut results[*fi];
        for (&(ei, hi), fill) in own.iter().zip(file_fills) {
            summary.holes += 1;
            let rule = &rules[f.edits[ei].rule];
            let hole_name = f.edits[ei].holes[hi].name.clone();
            let hole = &rule.holes[&hole_name];
            let threshold = hole
                .decl
                .min_confidence
                .or(opts.threshold)
                .unwrap_or_else(|| default_threshold(hole.decl.kind.as_deref(), fill.ranked));
            let problem = if fill.text.trim().is_empty() {
                Some(HoleProblem::Empty)
            } else if fill.confidence < threshold {
                Some(HoleProblem::LowConfidence {
                    confidence: fill.confidence,
                    threshold,
                })
            } else if hole
                .regex
                .as_ref()
                .is_some_and(|re| !re.is_match(&fill.text))
            {
                Some(HoleProblem::Regex)
            } else {
                None
            };
            let ph = &mut f.edits[ei].holes[hi];
            ph.guess = Some(fill.text.clone());
            ph.confidence = Some(fill.confidence);
            ph.ranked = fill.ranked;
            if problem.is_none() {
                ph.fill = Some(fill.text.clone());
                summary.accepted += 1;
            }
            ph.problem = problem;
        }
        for e in f.edits.iter_mut() {
            if e.is_live() && e.holes.iter().any(|h| h.problem.is_some()) {
                e.status = EditStatus::Unresolved;
            }
        }
    }
    Ok(summary)
}

/// Whether some live hole of `f` may rank candidates (Python, `candidates:` not `off`).
fn wants_candidates(f: &FileResult, rules: &[Rule]) -> bool {
    f.lang == Lang::Python
        && f.edits.iter().filter(|e| e.is_live()).any(|e| {
            e.holes
                .iter()
                .any(|h| rules[e.rule].holes[&h.name].decl.candidates_enabled())
        })
}

/// The candidates of each hole of one file (in `fh.holes` order): keyword
/// names from the walked definitions, kept when they pass the hole's `regex`.
fn hole_candidates(
    f: &FileResult,
    fh: &FileHoles,
    own: &[(usize, usize)],
    rules: &[Rule],
    defs: &DefIndex,
) -> Vec<Option<Candidates>> {
    if f.lang != Lang::Python || defs.is_empty() {
        return vec![None; fh.holes.len()];
    }
    let hole_of = |&(ei, hi): &(usize, usize)| {
        let e = &f.edits[ei];
        &rules[e.rule].holes[&e.holes[hi].name]
    };
    let enabled: Vec<bool> = own
        .iter()
        .map(|o| hole_of(o).decl.candidates_enabled())
        .collect();
    let offsets: Vec<usize> = fh.holes.iter().map(|h| h.offset).collect();
    let mut found = candidates::for_file(&fh.text, &offsets, &enabled, defs);
    for (c, o) in found.iter_mut().zip(own) {
        if let (Some(set), Some(re)) = (c.as_mut(), hole_of(o).regex.as_ref()) {
            set.texts.retain(|t| re.is_match(t));
            if set.texts.is_empty() {
                *c = None;
            }
        }
    }
    found
}

/// A file rewritten with its live edits, holes left empty, as the denoiser
/// takes it; with the `(edit, hole)` each canvas hole stands for. The one
/// place hole sites are built (`apply`, `check` and `eval` all use it).
pub fn file_holes(f: &FileResult, rules: &[Rule]) -> (FileHoles, Vec<(usize, usize)>) {
    let (text, placed) = plan::apply(&f.original, &f.edits, f.crlf);
    let mut holes = Vec::new();
    let mut own = Vec::new();
    for p in placed {
        let e = &f.edits[p.edit];
        let h = &e.holes[p.hole];
        holes.push(HoleSite {
            name: format!("{}/{}", rules[e.rule].id, h.name),
            offset: p.range.start,
            max_tokens: rules[e.rule].holes[&h.name].decl.max_tokens,
            tie_key: h.tie_key.clone(),
        });
        own.push((p.edit, p.hole));
    }
    let file = FileHoles {
        path: PathBuf::from(&f.rel),
        text,
        holes,
    };
    (file, own)
}
