//! The GitHub workflow-command printer (`check --format github`): one
//! `::error …::message` line per finding, so Actions annotates the diff,
//! and a `::notice …::hole NAME suggested (0.46): -> FILL …` line per
//! low-confidence suggestion (never applied; a notice fails no job), and
//! one per fill the type checker (`--verify`) turned down.

use super::report::{Record, Report, Suggestion};
use super::sarif::node_span;
use crate::plan::HoleProblem;
use crate::rule::Severity;
use std::io::Write;

/// Prints one workflow command per record.
pub fn print(report: &Report, out: &mut dyn Write) -> std::io::Result<()> {
    for r in &report.records {
        writeln!(out, "{}", github_command(r))?;
        for s in r.suggestions() {
            writeln!(out, "{}", suggestion_command(r, &s))?;
        }
        for t in r.hole_rejections() {
            let what = match t.problem {
                HoleProblem::TypeCheck { .. } => "type check",
                _ => "rejected fill",
            };
            let title = format!("{} {what}", r.rule.id);
            writeln!(out, "{}", annotation("notice", r, &title, &t.to_string()))?;
        }
    }
    Ok(())
}

fn escape_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

/// `::error file=…,line=…,col=…,endLine=…,endColumn=…,title=…::message`
pub fn github_command(r: &Record) -> String {
    let cmd = match r.severity() {
        Severity::Error => "error",
        Severity::Warning => "warning",
        _ => "notice",
    };
    annotation(cmd, r, &r.rule.id, &r.message())
}

/// `::CMD file=…,line=…,col=…,endLine=…,endColumn=…,title=TITLE::MESSAGE` on the
/// record's node, every workflow command of this format.
fn annotation(cmd: &str, r: &Record, title: &str, message: &str) -> String {
    let (start, end) = node_span(r);
    format!(
        "::{cmd} file={},line={},col={},endLine={},endColumn={},title={}::{}",
        escape_property(&r.file.rel),
        start.0,
        start.1 + 1,
        end.0,
        end.1 + 1,
        escape_property(title),
        escape_data(message)
    )
}

/// `::notice file=…,line=…,col=…,endLine=…,endColumn=…,title=RULE suggestion::hole …`
pub fn suggestion_command(r: &Record, s: &Suggestion) -> String {
    let title = format!("{} suggestion", r.rule.id);
    annotation("notice", r, &title, &s.to_string())
}
