//! The run's data types, below every stage that fills or reads them: what
//! happened to one file ([`FileResult`]) and each place a rule matched in it
//! ([`Finding`]). The pipeline builds them, the fill stage and the emitters
//! read them.

use crate::lang::Lang;
use crate::plan::Edit;
use std::ops::Range;
use std::path::PathBuf;

/// One place a rule matched (with or without a fix).
#[derive(Debug, Clone)]
pub struct Finding {
    pub rule: usize,
    pub range: Range<usize>,
    /// The node's own range (the edit range may be expanded).
    pub node_range: Range<usize>,
    /// Index into [`FileResult::edits`] when the rule has a fix.
    pub edit: Option<usize>,
    /// Where the report points (the whole match unless the rule has `labels:`).
    pub labels: Vec<crate::rule::LabelSpan>,
}

#[derive(Debug, Clone)]
pub struct FileResult {
    /// Path as walked (opens the file).
    pub path: PathBuf,
    /// Path relative to the repository root, `/`-separated (diff headers).
    pub rel: String,
    pub lang: Lang,
    pub original: String,
    /// `Some` when the file changes.
    pub new_text: Option<String>,
    pub edits: Vec<Edit>,
    pub findings: Vec<Finding>,
    /// Set when the whole file was left unchanged because the rewrite broke it.
    pub rejected: Option<String>,
    pub crlf: bool,
    /// Error and MISSING nodes in the original's tree, counted when the scan
    /// parsed it, so validation does not parse the original a second time.
    pub original_errors: Option<usize>,
}

impl FileResult {
    /// Error and MISSING nodes in the original text's tree: the bar a
    /// rewrite's tree must not exceed.
    pub fn errors_before(&self) -> usize {
        self.original_errors
            .unwrap_or_else(|| crate::lang::count_errors(&self.lang.parse(&self.original)))
    }
}

impl FileResult {
    /// 1-based line and 0-based column (in characters) of a byte offset in the
    /// original text.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        line_col(&self.original, offset)
    }
}

pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let col = before.rfind('\n').map_or(before, |i| &before[i + 1..]);
    (line, col.chars().count())
}

/// A path as reports, diffs and git write it: `/`-separated, or `None` when
/// it is not valid UTF-8. On Unix a `\` is part of a file name (`a\b.py` is
/// one file), so it is kept; only Windows separators become `/`.
pub fn slash_path(p: &std::path::Path) -> Option<String> {
    let s = p.to_str()?;
    Some(if cfg!(windows) {
        s.replace('\\', "/")
    } else {
        s.to_string()
    })
}
