//! The run's report: one [`Record`] per finding, in file order, with what
//! every printer needs. The printers (`json`, `sarif`, `github`, `text`,
//! `diff`) all read the same [`Report`], so every format carries the same
//! facts.

use crate::pipeline::RunResult;
use crate::plan::{Edit, EditStatus, HoleProblem, PlannedHole};
use crate::results::{FileResult, Finding};
use crate::rule::{Rule, Severity};

/// One finding with everything a report needs.
pub struct Record<'a> {
    pub file: &'a FileResult,
    pub finding: &'a Finding,
    pub rule: &'a Rule,
    pub edit: Option<&'a Edit>,
    pub start: (usize, usize),
    pub end: (usize, usize),
}

impl Record<'_> {
    /// The severity used for exit codes: a rule without one counts as error.
    pub fn severity(&self) -> Severity {
        self.rule.severity.unwrap_or(Severity::Error)
    }

    pub fn message(&self) -> String {
        self.rule
            .message
            .clone()
            .unwrap_or_else(|| format!("rule `{}` matched", self.rule.id))
    }

    pub fn status(&self) -> String {
        match self.edit {
            None => "violation".into(),
            Some(e) if e.status == EditStatus::Applied && self.file.rejected.is_none() => {
                "applied".into()
            }
            Some(e) => e.status.to_string(),
        }
    }

    /// The suggestions of this finding's edit: its holes whose guess is a
    /// [`Suggestion`], when the edit was left out as unresolved.
    pub fn suggestions(&self) -> Vec<Suggestion<'_>> {
        match self.edit {
            Some(e) if e.status == EditStatus::Unresolved => e
                .holes
                .iter()
                .filter_map(|h| suggestion(h, self.rule))
                .collect(),
            _ => Vec::new(),
        }
    }
}

/// A fill that was sure enough but dropped after the reparse: by the type-check
/// gate (`--verify`, with the checker's error) or for naming something its file does
/// not know. The hole, the fill and why.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HoleRejection<'a> {
    pub hole: &'a str,
    pub text: &'a str,
    /// [`HoleProblem::TypeCheck`] or [`HoleProblem::Unbound`].
    pub problem: &'a HoleProblem,
}

impl std::fmt::Display for HoleRejection<'_> {
    /// `hole RET fill -> AB rejected: type check: mypy: line 11: … [code] (not applied)`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let text: String = self.text.escape_debug().collect();
        write!(
            f,
            "hole {} fill -> {} rejected: {} (not applied)",
            self.hole, text, self.problem
        )
    }
}

impl Record<'_> {
    /// The fills of this finding's edit that were sure enough but turned down after
    /// the reparse: by the type checker, or for naming what their file does not know.
    pub fn hole_rejections(&self) -> Vec<HoleRejection<'_>> {
        let Some(e) = self.edit else {
            return Vec::new();
        };
        e.holes
            .iter()
            .filter_map(|h| match &h.problem {
                Some(p @ (HoleProblem::TypeCheck { .. } | HoleProblem::Unbound { .. })) => {
                    Some(HoleRejection {
                        hole: &h.name,
                        text: h.guess.as_deref().unwrap_or(""),
                        problem: p,
                    })
                }
                _ => None,
            })
            .collect()
    }
}

/// One line per fill turned down after the reparse: `path:line:col:
/// rejected[rule]: hole RET fill -> AB rejected: type check: mypy: …`.
pub fn hole_rejection_lines(records: &[Record]) -> Vec<String> {
    located_lines(records, "rejected", |r| {
        r.hole_rejections().iter().map(|t| t.to_string()).collect()
    })
}

/// A hole's best guess that only its confidence kept out: below the hole's
/// `min_confidence` (or the run's `--threshold`), but non-empty and matching
/// the hole's `regex`. It is shown to a person (every text format, GitHub
/// notices, SARIF messages, JSON) and never written, except when accepted
/// with `y`/`e` in interactive review. The `kind` and reparse checks run only
/// when a fill is written, so a suggestion has not passed them.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Suggestion<'a> {
    pub hole: &'a str,
    pub text: &'a str,
    pub confidence: f32,
    pub threshold: f32,
}

/// The one definition of a suggestion (the reports and the interactive
/// review share it).
pub fn suggestion<'a>(h: &'a PlannedHole, rule: &Rule) -> Option<Suggestion<'a>> {
    if h.fill.is_some() {
        return None;
    }
    let Some(HoleProblem::LowConfidence {
        confidence,
        threshold,
    }) = h.problem
    else {
        return None;
    };
    let text = h.guess.as_deref().filter(|g| !g.trim().is_empty())?;
    let regex = rule.holes.get(&h.name).and_then(|d| d.regex.as_ref());
    if regex.is_some_and(|re| !re.is_match(text)) {
        return None;
    }
    Some(Suggestion {
        hole: &h.name,
        text,
        confidence,
        threshold,
    })
}

impl std::fmt::Display for Suggestion<'_> {
    /// `hole RET suggested (0.46): -> AB (below the threshold 0.80; not
    /// applied)`; control characters in the fill are escaped so it stays
    /// one line.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let text: String = self
            .text
            .chars()
            .flat_map(|c| match c.is_control() {
                true => c.escape_default().collect::<Vec<_>>(),
                false => vec![c],
            })
            .collect();
        let d = crate::plan::threshold_decimals(self.threshold);
        write!(
            f,
            "hole {} suggested ({:.d$}): -> {} (below the threshold {:.d$}; not applied)",
            self.hole, self.confidence, text, self.threshold
        )
    }
}

/// One line per suggestion: `path:line:col: suggestion[rule]: hole RET
/// suggested (0.46): -> AB (…)`, shaped like `check`'s finding lines.
pub fn suggestion_lines(records: &[Record]) -> Vec<String> {
    located_lines(records, "suggestion", |r| {
        r.suggestions().iter().map(|s| s.to_string()).collect()
    })
}

/// `path:line:col: TAG[rule]: TEXT` for each text `texts` gives a record,
/// shaped like `check`'s finding lines.
fn located_lines(
    records: &[Record],
    tag: &str,
    texts: impl Fn(&Record) -> Vec<String>,
) -> Vec<String> {
    let mut out = Vec::new();
    for r in records {
        for text in texts(r) {
            out.push(format!(
                "{}:{}:{}: {tag}[{}]: {text}",
                r.file.rel,
                r.start.0,
                r.start.1 + 1,
                r.rule.id
            ));
        }
    }
    out
}

/// The replacement text with each hole shown as its fill, or `$?NAME` when
/// unfilled.
pub fn render_replacement(e: &Edit) -> String {
    let mut out = String::new();
    let mut last = 0;
    for h in &e.holes {
        out.push_str(&e.replacement[last..h.offset]);
        match &h.fill {
            Some(f) => out.push_str(f),
            None => {
                out.push_str("$?");
                out.push_str(&h.name);
            }
        }
        last = h.offset;
    }
    out.push_str(&e.replacement[last..]);
    out
}

/// A finished run as the printers see it.
pub struct Report<'a> {
    pub run: &'a RunResult,
    pub rules: &'a [Rule],
    pub records: Vec<Record<'a>>,
}

impl<'a> Report<'a> {
    pub fn new(run: &'a RunResult, rules: &'a [Rule]) -> Report<'a> {
        Report {
            run,
            rules,
            records: records(run, rules),
        }
    }
}

/// All records of a run, in file then position order.
pub fn records<'a>(run: &'a RunResult, rules: &'a [Rule]) -> Vec<Record<'a>> {
    let mut out = Vec::new();
    for file in &run.files {
        let mut fs: Vec<&Finding> = file.findings.iter().collect();
        fs.sort_by_key(|f| crate::plan::position_key(&f.range, f.rule));
        for finding in fs {
            out.push(Record {
                file,
                finding,
                rule: &rules[finding.rule],
                edit: finding.edit.map(|i| &file.edits[i]),
                start: file.line_col(finding.range.start),
                end: file.line_col(finding.range.end),
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_suggestion_is_one_line_with_its_confidence_to_two_decimals() {
        let s = Suggestion {
            hole: "MSG",
            text: "\"a\\b\"\nc",
            confidence: 0.5949,
            threshold: 0.8,
        };
        assert_eq!(
            s.to_string(),
            "hole MSG suggested (0.59): -> \"a\\b\"\\nc (below the threshold 0.80; not applied)"
        );
    }
}
