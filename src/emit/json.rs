//! The JSON-lines printer (`--json`, `check --format json`): one object per
//! finding with its file, rule, range, labels, replacement, status, any
//! holes (name, text, confidence, status) and warnings. Ranges and labels
//! mean what ast-grep's JSON means: 0-based lines and columns (columns in
//! characters) and byte offsets.

use super::report::{render_replacement, Record, Report};
use crate::results::FileResult;
use serde_json::{json, Value};
use std::io::Write;

/// A range as ast-grep's JSON gives it: 0-based lines, 0-based columns in
/// characters, and byte offsets.
fn range(file: &FileResult, r: std::ops::Range<usize>) -> Value {
    let (sl, sc) = file.line_col(r.start);
    let (el, ec) = file.line_col(r.end);
    json!({
        "start": {"line": sl - 1, "column": sc},
        "end": {"line": el - 1, "column": ec},
        "byteOffset": {"start": r.start, "end": r.end},
    })
}

/// Prints one JSON object per record, one per line.
pub fn print(report: &Report, out: &mut dyn Write) -> std::io::Result<()> {
    out.write_all(json_lines(&report.records).as_bytes())
}

/// The records as JSON lines.
pub fn json_lines(records: &[Record]) -> String {
    let mut out = String::new();
    for r in records {
        out.push_str(&to_json(r).to_string());
        out.push('\n');
    }
    out
}

pub fn to_json(r: &Record) -> Value {
    let f = &r.finding;
    let mut obj = json!({
        "file": r.file.rel,
        "rule": r.rule.id,
        "severity": r.severity().name(),
        "message": r.message(),
        "range": range(r.file, f.range.clone()),
        "status": r.status(),
        "labels": f.labels.iter().map(|l| {
            let mut v = json!({
                "text": r.file.original[l.range.clone()],
                "range": range(r.file, l.range.clone()),
                "style": l.style.name(),
            });
            if let Some(m) = &l.message {
                v["message"] = Value::String(m.clone());
            }
            v
        }).collect::<Vec<_>>(),
    });
    if let Some(e) = r.edit {
        obj["replacement"] = Value::String(render_replacement(e));
        if !e.dropped_comments.is_empty() {
            let dropped: Vec<Value> = e
                .dropped_comments
                .iter()
                .map(|c| {
                    let (line, column) = r.file.line_col(c.start);
                    json!({
                        "warning": "the fix deletes this comment",
                        "line": line - 1,
                        "column": column,
                        "text": r.file.original[c.clone()],
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
                    json!({
                        "name": h.name,
                        "text": h.guess,
                        "confidence": h.confidence,
                        "status": h.status(e).to_string(),
                    })
                })
                .collect();
            obj["holes"] = Value::Array(holes);
        }
    }
    obj
}
