//! The edit report (design §7): one JSON object per finding, in file order.
//! `check` formats (SARIF, GitHub annotations) are built from the same
//! [`Record`]s, so every format carries the same facts.

use crate::pipeline::RunResult;
use crate::plan::{Edit, EditStatus};
use crate::results::{FileResult, Finding};
use crate::rule::{Rule, Severity};
use serde_json::{json, Value};

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
            Some(e) => e.status.label(),
        }
    }

    pub fn to_json(&self) -> Value {
        let f = &self.finding;
        let mut obj = json!({
            "file": self.file.rel,
            "rule": self.rule.id,
            "severity": self.severity().name(),
            "message": self.message(),
            "range": {
                "start": {"line": self.start.0, "column": self.start.1},
                "end": {"line": self.end.0, "column": self.end.1},
                "byteOffset": {"start": f.range.start, "end": f.range.end},
            },
            "status": self.status(),
        });
        if let Some(e) = self.edit {
            obj["replacement"] = Value::String(render_replacement(e));
            if !e.dropped_comments.is_empty() {
                let dropped: Vec<Value> = e
                    .dropped_comments
                    .iter()
                    .map(|c| {
                        let (line, column) = self.file.line_col(c.start);
                        json!({
                            "warning": "the fix deletes this comment",
                            "line": line,
                            "column": column,
                            "text": self.file.original[c.clone()],
                        })
                    })
                    .collect();
                obj["warnings"] = Value::Array(dropped);
            }
            if !e.holes.is_empty() {
                let holes: Vec<Value> = e
                    .holes
                    .iter()
                    .map(|h| {
                        let status = match (&h.problem, &e.status) {
                            (Some(p), _) if p.starts_with("confidence") || p == "empty fill" => {
                                "unresolved".to_string()
                            }
                            (Some(p), _) => format!("rejected: {p}"),
                            (None, EditStatus::Applied) if h.fill.is_some() => "applied".into(),
                            (None, EditStatus::Rejected(why)) => format!("rejected: {why}"),
                            (None, EditStatus::Overlap { .. }) => "skipped".into(),
                            _ => "unresolved".into(),
                        };
                        json!({
                            "name": h.name,
                            "text": h.guess,
                            "confidence": h.confidence,
                            "status": status,
                        })
                    })
                    .collect();
                obj["holes"] = Value::Array(holes);
            }
        }
        obj
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

/// All records of a run, in file then position order.
pub fn records<'a>(run: &'a RunResult, rules: &'a [Rule]) -> Vec<Record<'a>> {
    let mut out = Vec::new();
    for file in &run.files {
        let mut fs: Vec<&Finding> = file.findings.iter().collect();
        fs.sort_by_key(|f| (f.range.start, std::cmp::Reverse(f.range.end), f.rule));
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

/// JSON lines.
pub fn json_lines(records: &[Record]) -> String {
    let mut out = String::new();
    for r in records {
        out.push_str(&r.to_json().to_string());
        out.push('\n');
    }
    out
}
