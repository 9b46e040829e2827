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
    /// Default acceptance threshold for a fill's confidence ([`DEFAULT_THRESHOLD`]).
    pub threshold: f32,
    /// `--quiet`: no stderr line about which engine runs the model.
    pub quiet: bool,
}

/// Confidence a fill needs by default. On held-out code (docs/eval.md, calibration) the
/// shipped model's fills at confidence >= 0.8 equal the original 535 times in 605 (0.88),
/// at >= 0.9 419 in 453 (0.92): a higher default would drop a fifth of the right fills for
/// four points of precision, and most confident misses are valid alternatives.
pub const DEFAULT_THRESHOLD: f32 = 0.8;

impl Default for FillOptions {
    fn default() -> Self {
        FillOptions {
            model: ModelSource::Default,
            device: Device::Auto,
            server: None,
            decode: DecodeOptions::default(),
            threshold: DEFAULT_THRESHOLD,
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
            let threshold = hole.decl.min_confidence.unwrap_or(opts.threshold);
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
