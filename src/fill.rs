//! Stage 4: fill holes. Every hole of every file goes onto one canvas and is
//! decoded together by the denoiser (design §5); then each fill is accepted
//! only if it is confident enough and fits its `regex`. (`kind` and the
//! reparse check need the final text and happen in `pipeline::finalize`.)
//! An edit whose hole is not accepted is left out and reported as
//! unresolved, with the best guess.

use crate::denoise::{
    ContextIndex, DecodeOptions, DecodeStats, Denoiser, Device, FileHoles, HoleSite, ModelSource,
};
use crate::plan::{self, EditStatus, HoleProblem};
use crate::results::FileResult;
use crate::rule::Rule;
use std::path::PathBuf;

#[derive(Debug, Clone)]
pub struct FillOptions {
    pub model: ModelSource,
    pub device: Device,
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
/// their edits.
pub fn fill_holes(
    results: &mut [FileResult],
    rules: &[Rule],
    opts: &FillOptions,
) -> anyhow::Result<FillSummary> {
    crate::denoise::engine::set_quiet(opts.quiet);
    let denoiser = Denoiser::load(&opts.model, opts.device)?;
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
    let (fills, stats) = denoiser.fill(&files, &ctx, &opts.decode)?;
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
