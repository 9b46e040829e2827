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
    /// Byte offsets where the original's lines start, built the first time a
    /// report asks for a line (so a file with many findings is not rescanned
    /// from its start for each).
    pub line_starts: std::sync::OnceLock<Vec<usize>>,
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
        let starts = self.line_starts.get_or_init(|| {
            std::iter::once(0)
                .chain(memchr::memchr_iter(b'\n', self.original.as_bytes()).map(|i| i + 1))
                .collect()
        });
        let offset = offset.min(self.original.len());
        // The last line start at or before `offset`.
        let line = starts.partition_point(|&s| s <= offset);
        let col = self.original[starts[line - 1]..offset].chars().count();
        (line, col)
    }
}

pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text.as_bytes()[..offset.min(text.len())];
    let line = memchr::memchr_iter(b'\n', before).count() + 1;
    let start = memchr::memrchr(b'\n', before).map_or(0, |i| i + 1);
    (line, text[start..before.len()].chars().count())
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_line_index_agrees_with_a_scan_from_the_start() {
        let text = "a\nbé c\n\n\u{1F600}x\nlast";
        let f = FileResult {
            path: PathBuf::from("t.py"),
            rel: "t.py".into(),
            lang: Lang::Python,
            original: text.into(),
            new_text: None,
            edits: Vec::new(),
            findings: Vec::new(),
            rejected: None,
            crlf: false,
            original_errors: None,
            line_starts: Default::default(),
        };
        let offsets = (0..=text.len() + 3).filter(|&o| o > text.len() || text.is_char_boundary(o));
        for o in offsets {
            assert_eq!(f.line_col(o), line_col(text, o), "offset {o}");
        }
        assert_eq!(f.line_col(0), (1, 0));
        assert_eq!(f.line_col(text.find('c').unwrap()), (2, 3));
        assert_eq!(f.line_col(text.find('x').unwrap()), (4, 1));
        assert_eq!(f.line_col(text.len()), (5, 4));
    }
}
