//! The SARIF 2.1.0 printer (`check --format sarif`), built from report
//! records so it carries the same facts as the JSON report. A finding whose
//! edit was left out for a low-confidence hole has no `fixes`; its
//! suggestions are added to its message (`hole NAME suggested (0.46): ->
//! FILL …`) and listed under `properties.suggestions`, never as a fix.

use super::report::{render_replacement, Record, Report};
use crate::plan::{EditStatus, HoleProblem};
use crate::rule::{LabelStyle, Rule, Severity};
use serde_json::{json, Value};
use std::io::Write;

fn level(s: Severity) -> &'static str {
    match s {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info | Severity::Hint => "note",
        Severity::Off => "none",
    }
}

/// A SARIF region: 1-based lines and columns (columns in Unicode code
/// points, declared by the run's `columnKind`).
fn region(start: (usize, usize), end: (usize, usize)) -> Value {
    json!({
        "startLine": start.0,
        "startColumn": start.1 + 1,
        "endLine": end.0,
        "endColumn": end.1 + 1,
    })
}

/// A repository-relative path as a SARIF URI reference: `/`-separated, with
/// every byte outside RFC 3986's unreserved set (and `/`) percent-encoded,
/// so spaces, `%`, `#`, `?` and non-ASCII names stay valid URIs.
pub fn uri(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for b in path.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Where a finding is shown: the matched node itself (a fix's
/// `expandStart`/`expandEnd` widen only the replaced range).
pub(crate) fn node_span(r: &Record) -> ((usize, usize), (usize, usize)) {
    let n = &r.finding.node_range;
    (r.file.line_col(n.start), r.file.line_col(n.end))
}

pub fn sarif(records: &[Record], rules: &[Rule]) -> Value {
    let rule_index: std::collections::BTreeMap<&str, usize> = rules
        .iter()
        .enumerate()
        .map(|(i, r)| (r.id.as_str(), i))
        .collect();
    let driver_rules: Vec<Value> = rules
        .iter()
        .map(|r| {
            let mut v = json!({
                "id": r.id,
                "shortDescription": {"text": r.message.clone().unwrap_or_else(|| r.id.clone())},
                "defaultConfiguration": {"level": level(r.severity.unwrap_or(Severity::Error))},
                "properties": {"language": r.lang.name()},
            });
            if let Some(n) = &r.note {
                v["help"] = json!({"text": n});
            }
            if let Some(u) = &r.url {
                v["helpUri"] = json!(u);
            }
            v
        })
        .collect();
    let results: Vec<Value> = records
        .iter()
        .map(|r| {
            let node = node_span(r);
            let suggestions = r.suggestions();
            let mut message = r.message();
            for s in &suggestions {
                message.push_str(&format!("\nSuggestion: {s}"));
            }
            let rejections = r.hole_rejections();
            for t in &rejections {
                let what = match t.problem {
                    HoleProblem::TypeCheck { .. } => "Type check",
                    _ => "Rejected",
                };
                message.push_str(&format!("\n{what}: {t}"));
            }
            let mut v = json!({
                "ruleId": r.rule.id,
                "ruleIndex": rule_index[r.rule.id.as_str()],
                "level": level(r.severity()),
                "message": {"text": message},
                "locations": [{
                    "physicalLocation": {
                        "artifactLocation": {"uri": uri(&r.file.rel)},
                        "region": region(node.0, node.1),
                    }
                }],
            });
            // The rule's `labels:` become related locations, with their messages.
            let related: Vec<Value> = r
                .finding
                .labels
                .iter()
                .filter(|l| l.message.is_some() || l.style == LabelStyle::Secondary)
                .enumerate()
                .map(|(id, l)| {
                    let span = (r.file.line_col(l.range.start), r.file.line_col(l.range.end));
                    json!({
                        "id": id,
                        "message": {"text": l.message.clone().unwrap_or_default()},
                        "physicalLocation": {
                            "artifactLocation": {"uri": uri(&r.file.rel)},
                            "region": region(span.0, span.1),
                        },
                        "properties": {"style": l.style.name()},
                    })
                })
                .collect();
            if !related.is_empty() {
                v["relatedLocations"] = Value::Array(related);
            }
            if !suggestions.is_empty() {
                let list: Vec<Value> = suggestions
                    .iter()
                    .map(|s| {
                        json!({
                            "hole": s.hole,
                            "text": s.text,
                            "confidence": s.confidence,
                            "threshold": s.threshold,
                        })
                    })
                    .collect();
                v["properties"] = json!({"suggestions": list});
            }
            let listed = |keep: fn(&HoleProblem) -> bool| -> Vec<Value> {
                rejections
                    .iter()
                    .filter(|t| keep(t.problem))
                    .map(|t| match t.problem {
                        HoleProblem::TypeCheck { checker, message } => json!({
                            "hole": t.hole, "text": t.text, "checker": checker, "message": message,
                        }),
                        p => json!({"hole": t.hole, "text": t.text, "message": p.to_string()}),
                    })
                    .collect()
            };
            let type_checks = listed(|p| matches!(p, HoleProblem::TypeCheck { .. }));
            if !type_checks.is_empty() {
                v["properties"]["typeCheckRejections"] = Value::Array(type_checks);
            }
            let names = listed(|p| matches!(p, HoleProblem::Unbound { .. }));
            if !names.is_empty() {
                v["properties"]["nameRejections"] = Value::Array(names);
            }
            // Only an edit that `apply` would make is offered as a fix: an
            // overlapped, unresolved or rejected one would insert broken text.
            let live = r
                .edit
                .filter(|e| e.status == EditStatus::Applied && r.file.rejected.is_none());
            if let Some(e) = live {
                let text =
                    crate::plan::line_endings(&render_replacement(e), r.file.crlf).into_owned();
                v["fixes"] = json!([{
                    "description": {"text": r.message()},
                    "artifactChanges": [{
                        "artifactLocation": {"uri": uri(&r.file.rel)},
                        "replacements": [{
                            "deletedRegion": region(r.start, r.end),
                            "insertedContent": {"text": text},
                        }],
                    }],
                }]);
            }
            v
        })
        .collect();
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "refactor",
                "version": env!("CARGO_PKG_VERSION"),
                "rules": driver_rules,
            }},
            "columnKind": "unicodeCodePoints",
            "results": results,
        }],
    })
}

/// Prints the SARIF document of a report.
pub fn print(report: &Report, out: &mut dyn Write) -> std::io::Result<()> {
    let doc = sarif(&report.records, report.rules);
    out.write_all(serde_json::to_string_pretty(&doc)?.as_bytes())?;
    out.write_all(b"\n")
}
