//! Stage 3: turn matches into edits, resolve overlaps, and apply edits to text.
//!
//! Overlap rule (deterministic, ast-grep's): edits are ordered by start
//! offset, longer first at equal starts, then by rule order; an edit that
//! starts before the end of the last accepted edit is skipped and reported.
//! So the outermost match wins and nothing is ever garbled.

use crate::rule::fix::Rendered;
use std::ops::Range;

/// A hole inside an edit's replacement.
#[derive(Debug, Clone)]
pub struct PlannedHole {
    pub name: String,
    /// Byte offset inside the replacement text.
    pub offset: usize,
    /// Rendered `tie:` text, if the hole is tied.
    pub tie_key: Option<String>,
    /// The filled text, once decoded and accepted.
    pub fill: Option<String>,
    /// The model's best guess and its confidence (accepted or not).
    pub guess: Option<String>,
    pub confidence: Option<f32>,
    /// The guess was chosen among candidates the code offers (keyword names of a
    /// callee defined in the walked code), not decoded freely.
    pub ranked: bool,
    /// Why the guess was not accepted (`None` when accepted or not decoded).
    pub problem: Option<HoleProblem>,
}

/// Why a hole's best guess was not accepted by the fill stage (or, for
/// [`HoleProblem::TypeCheck`], dropped by the type-check gate after it).
#[derive(Debug, Clone, PartialEq)]
pub enum HoleProblem {
    /// The model ended the hole at once.
    Empty,
    /// Less confident than the hole's `min_confidence` or the run's threshold.
    LowConfidence { confidence: f32, threshold: f32 },
    /// The fill does not match the hole's `regex`.
    Regex,
    /// A Python type fill names something its file neither defines, imports nor
    /// uses anywhere else (`name`), so it would not resolve.
    Unbound { name: String },
    /// `--verify`: with the fill written, the type checker (`checker`, such as
    /// `mypy`) reports an error the file did not have; `message` is its
    /// first such error, as `line N: text [code]`.
    TypeCheck {
        checker: &'static str,
        message: String,
    },
}

impl HoleProblem {
    /// The model was not sure (as opposed to sure of something that breaks a
    /// constraint): reported as `unresolved`, not `rejected`.
    pub fn is_unsure(&self) -> bool {
        matches!(self, HoleProblem::Empty | HoleProblem::LowConfidence { .. })
    }
}

impl std::fmt::Display for HoleProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            HoleProblem::Empty => write!(f, "empty fill"),
            HoleProblem::LowConfidence {
                confidence,
                threshold,
            } => {
                let d = threshold_decimals(*threshold);
                write!(
                    f,
                    "confidence {confidence:.d$} below threshold {threshold:.d$}"
                )
            }
            HoleProblem::Regex => write!(f, "fill does not match the hole's regex"),
            HoleProblem::Unbound { name } => write!(
                f,
                "fill names `{name}`, which the file neither defines, imports nor uses"
            ),
            HoleProblem::TypeCheck { checker, message } => {
                write!(f, "type check: {checker}: {message}")
            }
        }
    }
}

/// Decimals that show a threshold exactly: 2 (`0.93`), or 3 for one such as the
/// 0.995 of ranked names, which two would show as `1.00` (and a confidence of 0.996
/// as `1.00` against it). Confidences shown beside it use the same.
pub fn threshold_decimals(threshold: f32) -> usize {
    let hundredths = threshold * 100.0;
    if (hundredths.round() - hundredths).abs() < 1e-3 {
        2
    } else {
        3
    }
}

/// Why the validate stage turned an edit down.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RejectReason {
    /// A hole's fill does not parse as the hole's `kind` in place.
    FillKind,
    /// With its holes filled, the file no longer parses.
    FilledFileBroken,
    /// The rewritten file no longer parses (the whole file is left alone).
    FileBroken,
}

impl std::fmt::Display for RejectReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            RejectReason::FillKind => "fill does not parse as the hole's `kind`",
            RejectReason::FilledFileBroken => "the filled file no longer parses",
            RejectReason::FileBroken => "the rewritten file no longer parses",
        })
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum EditStatus {
    /// Will be (or was) applied.
    Applied,
    /// Overlaps an outer edit that won.
    Overlap { rule: String, line: usize },
    /// A hole could not be filled confidently; the site is left unchanged.
    Unresolved,
    /// The file would no longer parse (or a hole's fill broke it).
    Rejected(RejectReason),
    /// Turned down by the user in interactive review (`apply --interactive`).
    Declined,
}

impl std::fmt::Display for EditStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            EditStatus::Applied => write!(f, "applied"),
            EditStatus::Overlap { rule, line } => {
                write!(f, "skipped: overlaps an edit of `{rule}` at line {line}")
            }
            EditStatus::Unresolved => write!(f, "unresolved"),
            EditStatus::Rejected(why) => write!(f, "rejected: {why}"),
            EditStatus::Declined => write!(f, "skipped in review"),
        }
    }
}

/// What became of one hole, as every report shows it.
#[derive(Debug, Clone, PartialEq)]
pub enum HoleStatus {
    Applied,
    /// The model was not sure enough; the site is unchanged.
    Unresolved,
    /// A fill was found but broke a constraint or the file.
    Rejected(String),
    /// Its edit lost to an overlapping one.
    Skipped,
}

impl std::fmt::Display for HoleStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            HoleStatus::Applied => write!(f, "applied"),
            HoleStatus::Unresolved => write!(f, "unresolved"),
            HoleStatus::Rejected(why) => write!(f, "rejected: {why}"),
            HoleStatus::Skipped => write!(f, "skipped"),
        }
    }
}

impl PlannedHole {
    /// This hole's outcome inside `edit` (the one definition the JSON report
    /// and `refactor eval` share).
    pub fn status(&self, edit: &Edit) -> HoleStatus {
        match (&self.problem, &edit.status) {
            (Some(p), _) if p.is_unsure() => HoleStatus::Unresolved,
            (Some(p), _) => HoleStatus::Rejected(p.to_string()),
            (None, EditStatus::Applied) if self.fill.is_some() => HoleStatus::Applied,
            (None, EditStatus::Rejected(why)) => HoleStatus::Rejected(why.to_string()),
            (None, EditStatus::Overlap { .. }) => HoleStatus::Skipped,
            _ => HoleStatus::Unresolved,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Edit {
    /// Index of the rule in the run's rule list.
    pub rule: usize,
    pub range: Range<usize>,
    pub replacement: String,
    pub holes: Vec<PlannedHole>,
    pub status: EditStatus,
    /// Byte ranges (in the original) of comments this edit deletes.
    pub dropped_comments: Vec<Range<usize>>,
}

impl Edit {
    pub fn new(
        rule: usize,
        range: Range<usize>,
        rendered: Rendered,
        ties: &[(String, String)],
    ) -> Edit {
        let holes = rendered
            .holes
            .into_iter()
            .map(|(name, offset)| PlannedHole {
                tie_key: ties
                    .iter()
                    .find(|(n, _)| *n == name)
                    .map(|(_, t)| t.clone()),
                name,
                offset,
                fill: None,
                guess: None,
                confidence: None,
                ranked: false,
                problem: None,
            })
            .collect();
        Edit {
            rule,
            range,
            replacement: rendered.text,
            holes,
            status: EditStatus::Applied,
            dropped_comments: Vec::new(),
        }
    }

    pub fn is_live(&self) -> bool {
        self.status == EditStatus::Applied
    }
}

/// The one order of edits and findings: by start, longer first at equal
/// starts, then by rule order (ast-grep's; the outermost match wins).
pub fn position_key(range: &Range<usize>, rule: usize) -> (usize, std::cmp::Reverse<usize>, usize) {
    (range.start, std::cmp::Reverse(range.end), rule)
}

/// Text with its newlines made CRLF when the file is CRLF (`crlf`), so a
/// rewritten CRLF file stays CRLF.
pub fn line_endings(s: &str, crlf: bool) -> std::borrow::Cow<'_, str> {
    if crlf {
        s.replace("\r\n", "\n").replace('\n', "\r\n").into()
    } else {
        s.into()
    }
}

/// Orders edits and marks overlapping ones. `rule_ids` names rules for the
/// report; `line_of` maps a byte offset to a 1-based line.
pub fn resolve_overlaps(edits: &mut [Edit], rule_ids: &[String], line_of: impl Fn(usize) -> usize) {
    edits.sort_by_key(|e| position_key(&e.range, e.rule));
    let mut last: Option<(usize, usize, usize)> = None; // (end, rule, start)
    for e in edits.iter_mut() {
        if !e.is_live() {
            continue;
        }
        if let Some((end, rule, start)) = last {
            if e.range.start < end {
                e.status = EditStatus::Overlap {
                    rule: rule_ids[rule].clone(),
                    line: line_of(start),
                };
                continue;
            }
        }
        last = Some((e.range.end, e.rule, e.range.start));
    }
}

/// Where a filled hole ended up in the new text.
#[derive(Debug, Clone)]
pub struct PlacedHole {
    pub edit: usize,
    pub hole: usize,
    pub range: Range<usize>,
}

/// Applies live edits to `text`. Holes are written with their fill (empty
/// when unfilled). With `crlf`, newlines in replacements become CRLF so a
/// CRLF file stays CRLF. Returns the new text and where each hole landed.
pub fn apply(text: &str, edits: &[Edit], crlf: bool) -> (String, Vec<PlacedHole>) {
    let (out, placed, _) = apply_with_spans(text, edits, crlf);
    (out, placed)
}

/// A change: its range in the original text and the range its
/// replacement took in the new text.
pub type Span = (Range<usize>, Range<usize>);

/// [`apply`], and for each live edit, in order, its range in `text` and
/// the range its replacement took in the new text.
pub fn apply_with_spans(
    text: &str,
    edits: &[Edit],
    crlf: bool,
) -> (String, Vec<PlacedHole>, Vec<Span>) {
    let mut out = String::with_capacity(rewritten_len(text, edits, crlf));
    let mut placed = Vec::new();
    let mut spans = Vec::new();
    let mut pos = 0;
    let conv = |s: &str| line_endings(s, crlf).into_owned();
    for (ei, e) in edits.iter().enumerate() {
        if !e.is_live() {
            continue;
        }
        out.push_str(&text[pos..e.range.start]);
        let new_start = out.len();
        let mut last = 0;
        for (hi, h) in e.holes.iter().enumerate() {
            out.push_str(&conv(&e.replacement[last..h.offset]));
            let fill = h.fill.as_deref().unwrap_or("");
            let start = out.len();
            out.push_str(fill);
            placed.push(PlacedHole {
                edit: ei,
                hole: hi,
                range: start..out.len(),
            });
            last = h.offset;
        }
        out.push_str(&conv(&e.replacement[last..]));
        spans.push((e.range.clone(), new_start..out.len()));
        pos = e.range.end;
    }
    out.push_str(&text[pos..]);
    (out, placed, spans)
}

/// The length of `text` with `edits` applied, at most (a CRLF file's
/// replacements are counted with a `\r` before every `\n`). The rewrite is
/// built in a buffer of this size: one that grew by doubling would hold up
/// to twice the file for as long as the run keeps the rewrite.
fn rewritten_len(text: &str, edits: &[Edit], crlf: bool) -> usize {
    let mut len = text.len();
    for e in edits.iter().filter(|e| e.is_live()) {
        let newlines = if crlf {
            memchr::memchr_iter(b'\n', e.replacement.as_bytes()).count()
        } else {
            0
        };
        let fills: usize = e
            .holes
            .iter()
            .filter_map(|h| h.fill.as_ref())
            .map(String::len)
            .sum();
        len = (len + e.replacement.len() + newlines + fills).saturating_sub(e.range.len());
    }
    len
}

/// True when most line endings in `text` are CRLF.
pub fn is_crlf(text: &str) -> bool {
    let crlf = text.matches("\r\n").count();
    let lf = text.matches('\n').count();
    crlf > 0 && crlf * 2 >= lf
}

#[cfg(test)]
mod tests {
    use super::*;

    fn edit(rule: usize, r: Range<usize>, rep: &str) -> Edit {
        Edit::new(
            rule,
            r,
            Rendered {
                text: rep.into(),
                holes: vec![],
            },
            &[],
        )
    }

    #[test]
    fn a_rewrite_is_built_in_a_buffer_of_its_size() {
        let text = "let a: any = 1;\nlet b: any = 2;\n".repeat(64);
        let edits: Vec<Edit> = (0..128)
            .map(|i| {
                let at = i * 16 + 7;
                edit(0, at..at + 3, "unknown")
            })
            .collect();
        let (out, _, _) = apply_with_spans(&text, &edits, false);
        assert_eq!(out, text.replace("any", "unknown"));
        assert_eq!(out.capacity(), out.len());
        // CRLF: a `\r` goes before each new `\n`; the buffer may be
        // larger (a replacement's `\r\n` is counted twice), never smaller.
        let text = "a\r\nb\r\n";
        let (out, _, _) = apply_with_spans(text, &[edit(0, 0..1, "x\ny")], true);
        assert_eq!(out, "x\r\ny\r\nb\r\n");
        assert!(out.capacity() >= out.len() && out.capacity() <= out.len() + 1);
    }

    #[test]
    fn hole_status_follows_the_problem_then_the_edit() {
        let mut e = Edit::new(
            0,
            0..1,
            Rendered {
                text: "x: ".into(),
                holes: vec![("T".into(), 3)],
            },
            &[],
        );
        let unsure = HoleProblem::LowConfidence {
            confidence: 0.41,
            threshold: 0.8,
        };
        e.holes[0].problem = Some(unsure.clone());
        assert_eq!(e.holes[0].status(&e), HoleStatus::Unresolved);
        assert_eq!(unsure.to_string(), "confidence 0.41 below threshold 0.80");
        e.holes[0].problem = Some(HoleProblem::Regex);
        assert_eq!(
            e.holes[0].status(&e).to_string(),
            "rejected: fill does not match the hole's regex"
        );
        e.holes[0].problem = Some(HoleProblem::TypeCheck {
            checker: "mypy",
            message: "line 3: Name \"AB\" is not defined [name-defined]".into(),
        });
        assert_eq!(
            e.holes[0].status(&e).to_string(),
            "rejected: type check: mypy: line 3: Name \"AB\" is not defined [name-defined]"
        );
        e.holes[0].problem = None;
        e.holes[0].fill = Some("int".into());
        assert_eq!(e.holes[0].status(&e), HoleStatus::Applied);
        e.status = EditStatus::Rejected(RejectReason::FillKind);
        assert_eq!(
            e.holes[0].status(&e).to_string(),
            "rejected: fill does not parse as the hole's `kind`"
        );
        e.status = EditStatus::Overlap {
            rule: "r".into(),
            line: 2,
        };
        assert_eq!(e.holes[0].status(&e), HoleStatus::Skipped);
    }

    #[test]
    fn outermost_wins_and_inner_is_reported() {
        let ids = vec!["outer".to_string(), "inner".to_string()];
        let mut edits = vec![
            edit(1, 4..6, "X"),
            edit(0, 0..10, "Y"),
            edit(1, 12..13, "Z"),
        ];
        resolve_overlaps(&mut edits, &ids, |_| 1);
        let statuses: Vec<_> = edits.iter().map(|e| e.status.clone()).collect();
        assert_eq!(statuses[0], EditStatus::Applied);
        assert!(matches!(&statuses[1], EditStatus::Overlap { rule, .. } if rule == "outer"));
        assert_eq!(statuses[2], EditStatus::Applied);
        let (out, _) = apply("0123456789ab-d", &edits, false);
        assert_eq!(out, "YabZd");
    }

    #[test]
    fn crlf_is_preserved() {
        let edits = vec![edit(0, 0..1, "a\nb")];
        let (out, _) = apply("x\r\ny\r\n", &edits, true);
        assert_eq!(out, "a\r\nb\r\ny\r\n");
    }
}
