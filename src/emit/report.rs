//! The run's report: one [`Record`] per finding, in file order, with what
//! every printer needs. The printers (`json`, `sarif`, `github`, `text`,
//! `diff`) all read the same [`Report`], so every format carries the same
//! facts.

use crate::pipeline::RunResult;
use crate::plan::{Edit, EditStatus};
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
