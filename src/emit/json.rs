//! The JSON-lines printer (`--json`, `check --format json`): one object per
//! finding with its file, rule, range, replacement, status, any holes
//! (name, text, confidence, status) and warnings.

use super::report::{render_replacement, Record, Report};
use serde_json::{json, Value};
use std::io::Write;

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
        "range": {
            "start": {"line": r.start.0, "column": r.start.1},
            "end": {"line": r.end.0, "column": r.end.1},
            "byteOffset": {"start": f.range.start, "end": f.range.end},
        },
        "status": r.status(),
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
                        "line": line,
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
