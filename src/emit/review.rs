//! Interactive review (`apply --interactive`): every proposed edit is shown
//! as a hunk with its rule and message, and the user decides, one key per
//! edit, which are written.
//!
//! The review only decides; it never writes. [`review`] returns the run's
//! files rebuilt from the accepted edits (each accepted edit applied at its
//! own place, the others left out, so accepting some edits of a file and
//! skipping others gives the right text), and the caller writes them exactly
//! as `--write` / `--commit` do. Every time an edit is accepted the whole
//! file is rebuilt with all its accepted edits and reparsed
//! ([`pipeline::rebuild`]); an edit that would leave the file unparsable (or
//! a hole's fill not of its `kind`) is refused on the spot and the user is
//! asked again, so no file that no longer parses is ever handed to the
//! writer.
//!
//! Holes: a fill the model was sure of shows its confidence. A hole whose
//! best guess fell below the acceptance threshold (reported, never written,
//! by a non-interactive run) is offered as a suggestion; it reaches the tree
//! only when the user accepts that edit explicitly (`y` or `e`). `a` and `A`
//! accept the remaining confident edits and leave unseen suggestions out.
//!
//! The keys come from a [`Terminal`]: [`Tty`] reads single keys from the
//! terminal in raw mode (the `console` crate; raw mode only while a key is
//! read, so `$EDITOR` gets a normal terminal) and runs the editor.

use crate::pipeline;
use crate::plan::{Edit, EditStatus, HoleProblem};
use crate::results::FileResult;
use crate::rule::Rule;
use anyhow::Context;
use std::io::Write;

/// One decision key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Key {
    /// `y`: accept this edit.
    Yes,
    /// `n`: skip it.
    No,
    /// `a`: accept it and the rest of this file.
    File,
    /// `A`: accept it and every remaining edit.
    All,
    /// `q`: stop; write what was accepted.
    Quit,
    /// `e`: edit the replacement.
    Edit,
    /// `?` or any other key: show the keys.
    Help,
    /// Ctrl-C: stop without writing anything.
    Abort,
}

/// Where keys come from and how the replacement is edited.
pub trait Terminal {
    /// The next key (blocks).
    fn key(&mut self) -> anyhow::Result<Key>;
    /// Lets the user edit `text` (a replacement for a file with extension
    /// `ext`); returns the edited text.
    fn edit(&mut self, text: &str, ext: &str) -> anyhow::Result<String>;
}

/// How a review ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    /// Every edit was decided.
    Done,
    /// `q`: the rest were skipped; the accepted edits are to be written.
    Quit,
    /// Ctrl-C: nothing is to be written.
    Aborted,
}

/// What the review decided.
#[derive(Debug)]
pub struct Outcome {
    pub end: End,
    /// Edits offered (confident edits and suggestions).
    pub offered: usize,
    /// Edits accepted (suggestions and edited ones included).
    pub accepted: usize,
    /// Suggestions accepted.
    pub suggestions: usize,
    /// Suggestions left out by `a` / `A` without being shown.
    pub unseen_suggestions: usize,
}

/// An edit as it can be offered: a live edit, or an unresolved one whose
/// every hole has a fill or an unsure but well-formed guess (a suggestion,
/// with the guesses as fills).
struct Offer {
    edit: Edit,
    suggestion: bool,
}

fn offer(e: &Edit, rule: &Rule) -> Option<Offer> {
    match e.status {
        EditStatus::Applied => Some(Offer {
            edit: e.clone(),
            suggestion: false,
        }),
        EditStatus::Unresolved => {
            let mut edit = e.clone();
            for h in &mut edit.holes {
                if h.fill.is_some() {
                    continue;
                }
                let guess = super::report::suggestion(h, rule)?.text.to_string();
                h.fill = Some(guess);
            }
            edit.status = EditStatus::Applied;
            Some(Offer {
                edit,
                suggestion: true,
            })
        }
        _ => None,
    }
}

/// Colours (or none).
struct Paint {
    on: bool,
}

impl Paint {
    fn style(&self, s: &str, style: console::Style) -> String {
        style.force_styling(self.on).apply_to(s).to_string()
    }
    fn red(&self, s: &str) -> String {
        self.style(s, console::Style::new().red())
    }
    fn green(&self, s: &str) -> String {
        self.style(s, console::Style::new().green())
    }
    fn cyan(&self, s: &str) -> String {
        self.style(s, console::Style::new().cyan())
    }
    fn bold(&self, s: &str) -> String {
        self.style(s, console::Style::new().bold())
    }
    fn yellow(&self, s: &str) -> String {
        self.style(s, console::Style::new().yellow())
    }
}

const HELP: &str = "y - accept this edit
n - skip this edit
a - accept this edit and the rest of this file (suggestions not yet shown are left out)
A - accept this edit and all the remaining ones (suggestions not yet shown are left out)
q - quit: write the edits accepted so far, skip the rest
e - edit the replacement in $EDITOR, then accept it
? - print this help
Ctrl-C - stop without writing anything";

/// Per-file bulk mode set by `a` / `A`.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Bulk {
    None,
    File,
    All,
}

/// Reviews every offerable edit of `files` in order (files as the run found
/// them, edits by position). Replaces each file's `edits` and `new_text` by
/// the accepted ones: an accepted edit is live (a suggestion with its
/// guesses as fills, an edited one with the user's text), a confident edit
/// the user skipped is [`EditStatus::Declined`], the rest keep their
/// status; `new_text` is the file rebuilt from the accepted edits (checked
/// to parse), or `None`. After [`End::Aborted`] the files are left as
/// they were and nothing is to be written.
pub fn review(
    files: &mut [FileResult],
    rules: &[Rule],
    term: &mut dyn Terminal,
    out: &mut dyn Write,
    color: bool,
) -> anyhow::Result<Outcome> {
    let paint = Paint { on: color };
    let offers: Vec<Vec<(usize, Offer)>> = files
        .iter()
        .map(|f| {
            f.edits
                .iter()
                .enumerate()
                .filter(|_| f.rejected.is_none())
                .filter_map(|(i, e)| offer(e, &rules[e.rule]).map(|o| (i, o)))
                .collect()
        })
        .collect();
    let total: usize = offers.iter().map(Vec::len).sum();
    let mut outcome = Outcome {
        end: End::Done,
        offered: total,
        accepted: 0,
        suggestions: 0,
        unseen_suggestions: 0,
    };
    let mut shown = 0;
    let mut bulk = Bulk::None;
    let mut reviewed: Vec<Option<(Vec<Edit>, Option<String>)>> = Vec::new();
    for (f, file_offers) in files.iter().zip(offers) {
        if bulk == Bulk::File {
            bulk = Bulk::None;
        }
        if file_offers.is_empty() || outcome.end != End::Done {
            reviewed.push(None);
            continue;
        }
        let errors_before = f.errors_before();
        // The file's edits as decided so far: accepted ones live, the rest not.
        let mut edits: Vec<Edit> = f
            .edits
            .iter()
            .map(|e| {
                let mut e = e.clone();
                if e.is_live() {
                    e.status = EditStatus::Declined;
                }
                e
            })
            .collect();
        let mut text: Option<String> = None;
        let ext = f
            .path
            .extension()
            .and_then(|e| e.to_str())
            .unwrap_or("txt")
            .to_string();
        for (i, o) in file_offers {
            if outcome.end != End::Done {
                break;
            }
            shown += 1;
            if bulk != Bulk::None {
                if o.suggestion {
                    outcome.unseen_suggestions += 1;
                    continue;
                }
                match try_accept(f, &mut edits, i, o.edit.clone(), rules, errors_before) {
                    Ok(t) => {
                        text = Some(t);
                        outcome.accepted += 1;
                    }
                    Err(why) => {
                        let (line, _) = f.line_col(o.edit.range.start);
                        writeln!(
                            out,
                            "{}",
                            paint.yellow(&format!("{}:{line}: not accepted: {why} with it", f.rel))
                        )?;
                    }
                }
                continue;
            }
            show(out, &paint, f, &o, rules)?;
            loop {
                write!(
                    out,
                    "{}",
                    paint.bold(&format!(
                        "({shown}/{total}) Accept this edit [y,n,a,A,q,e,?]? "
                    ))
                )?;
                out.flush()?;
                let key = term.key()?;
                writeln!(out, "{}", key_name(key))?;
                let candidate = match key {
                    Key::Yes | Key::File | Key::All => o.edit.clone(),
                    Key::No => break,
                    Key::Quit => {
                        outcome.end = End::Quit;
                        break;
                    }
                    Key::Abort => {
                        outcome.end = End::Aborted;
                        break;
                    }
                    Key::Help => {
                        writeln!(out, "{HELP}")?;
                        continue;
                    }
                    Key::Edit => {
                        let current = crate::emit::report::render_replacement(&o.edit);
                        let edited = match term.edit(&current, &ext) {
                            Ok(t) => t,
                            Err(e) => {
                                writeln!(out, "{}", paint.yellow(&format!("{e:#}")))?;
                                continue;
                            }
                        };
                        let edited = trim_added_newline(&current, edited);
                        let mut e = o.edit.clone();
                        e.replacement = edited;
                        e.holes.clear();
                        e
                    }
                };
                match try_accept(f, &mut edits, i, candidate, rules, errors_before) {
                    Ok(t) => {
                        text = Some(t);
                        outcome.accepted += 1;
                        if o.suggestion && key != Key::Edit {
                            outcome.suggestions += 1;
                        }
                        match key {
                            Key::File => bulk = Bulk::File,
                            Key::All => bulk = Bulk::All,
                            _ => {}
                        }
                        break;
                    }
                    Err(why) => {
                        writeln!(
                            out,
                            "{}",
                            paint.yellow(&format!(
                                "Not accepted: {why} with this edit. Choose again (e to edit it, n to skip it)."
                            ))
                        )?;
                    }
                }
            }
        }
        reviewed.push(Some((edits, text)));
    }
    if outcome.end == End::Aborted {
        return Ok(outcome);
    }
    for (f, r) in files.iter_mut().zip(reviewed) {
        match r {
            Some((edits, text)) => {
                f.edits = edits;
                f.new_text = text.filter(|t| *t != f.original);
            }
            None => {
                for e in f.edits.iter_mut().filter(|e| e.is_live()) {
                    e.status = EditStatus::Declined;
                }
                f.new_text = None;
            }
        }
    }
    Ok(outcome)
}

/// Accepts `edit` as the file's edit `i` if the file, rebuilt with it and
/// every edit accepted before, still parses; returns that text. On failure
/// the decisions so far are unchanged.
fn try_accept(
    f: &FileResult,
    edits: &mut [Edit],
    i: usize,
    mut edit: Edit,
    rules: &[Rule],
    errors_before: usize,
) -> Result<String, crate::plan::RejectReason> {
    edit.status = EditStatus::Applied;
    for h in &mut edit.holes {
        h.problem = None;
    }
    let previous = std::mem::replace(&mut edits[i], edit);
    match pipeline::rebuild(f, edits, rules, errors_before) {
        Ok(t) => Ok(t),
        Err(why) => {
            edits[i] = previous;
            Err(why)
        }
    }
}

/// Editors end a file with a newline; drop it when the text had none.
fn trim_added_newline(before: &str, mut after: String) -> String {
    if !before.ends_with('\n') {
        if after.ends_with("\r\n") {
            after.truncate(after.len() - 2);
        } else if after.ends_with('\n') {
            after.truncate(after.len() - 1);
        }
    }
    after
}

fn key_name(k: Key) -> &'static str {
    match k {
        Key::Yes => "y",
        Key::No => "n",
        Key::File => "a",
        Key::All => "A",
        Key::Quit => "q",
        Key::Edit => "e",
        Key::Help => "?",
        Key::Abort => "^C",
    }
}

/// Prints one edit: where, rule and message, the hunk, and its holes.
fn show(
    out: &mut dyn Write,
    paint: &Paint,
    f: &FileResult,
    o: &Offer,
    rules: &[Rule],
) -> std::io::Result<()> {
    let e = &o.edit;
    let rule = &rules[e.rule];
    let (line, _) = f.line_col(e.range.start);
    writeln!(out)?;
    writeln!(
        out,
        "{} {}",
        paint.bold(&format!("{}:{line}", f.rel)),
        paint.cyan(&format!("[{}]", rule.id))
    )?;
    if let Some(m) = &rule.message {
        writeln!(out, "{}", m.trim_end())?;
    }
    // The lines the edit touches, before and after.
    let text = &f.original;
    let start = text[..e.range.start].rfind('\n').map_or(0, |i| i + 1);
    let end = text[e.range.end..]
        .find('\n')
        .map_or(text.len(), |i| e.range.end + i);
    let replacement = crate::emit::report::render_replacement(e);
    let old = &text[start..end];
    let new = format!(
        "{}{}{}",
        &text[start..e.range.start],
        replacement,
        &text[e.range.end..end]
    );
    let old_lines: Vec<&str> = old.split('\n').collect();
    let new_lines: Vec<&str> = new.split('\n').collect();
    writeln!(
        out,
        "{}",
        paint.cyan(&format!(
            "@@ -{line},{} +{line},{} @@",
            old_lines.len(),
            new_lines.len()
        ))
    )?;
    for l in old_lines {
        writeln!(
            out,
            "{}",
            paint.red(&format!("-{}", l.trim_end_matches('\r')))
        )?;
    }
    for l in new_lines {
        writeln!(
            out,
            "{}",
            paint.green(&format!("+{}", l.trim_end_matches('\r')))
        )?;
    }
    for h in &e.holes {
        let fill = h.fill.as_deref().unwrap_or("");
        let conf = h
            .confidence
            .map_or(String::new(), |c| format!(", confidence {c:.2}"));
        match h.problem {
            Some(HoleProblem::LowConfidence {
                threshold,
                confidence,
            }) if o.suggestion => {
                let d = crate::plan::threshold_decimals(threshold);
                writeln!(
                    out,
                    "{}",
                    paint.yellow(&format!(
                        "hole $?{} = `{fill}` (suggestion, confidence {confidence:.d$}, below \
                         the threshold {threshold:.d$}: written only if you accept it)",
                        h.name
                    ))
                )?
            }
            _ => writeln!(out, "hole $?{} = `{fill}` (model fill{conf})", h.name)?,
        }
    }
    Ok(())
}

/// The real terminal: single keys in raw mode, `$EDITOR` for `e`.
pub struct Tty {
    term: console::Term,
}

impl Tty {
    pub fn new() -> Tty {
        Tty {
            term: console::Term::stdout(),
        }
    }
}

impl Default for Tty {
    fn default() -> Self {
        Tty::new()
    }
}

impl Terminal for Tty {
    fn key(&mut self) -> anyhow::Result<Key> {
        use console::Key as K;
        loop {
            let k = self
                .term
                .read_key_raw()
                .context("cannot read a key from the terminal")?;
            return Ok(match k {
                K::Char('y') => Key::Yes,
                K::Char('n') => Key::No,
                K::Char('a') => Key::File,
                K::Char('A') => Key::All,
                K::Char('q') => Key::Quit,
                K::Char('e') => Key::Edit,
                K::CtrlC => Key::Abort,
                // A stray Enter (line-mode habit) is not an answer.
                K::Enter => continue,
                _ => Key::Help,
            });
        }
    }

    fn edit(&mut self, text: &str, ext: &str) -> anyhow::Result<String> {
        let mut tmp = tempfile::Builder::new()
            .prefix("refactor-edit-")
            .suffix(&format!(".{ext}"))
            .tempfile()
            .context("cannot create a file to edit")?;
        tmp.write_all(text.as_bytes())?;
        tmp.flush()?;
        let editor = std::env::var("EDITOR")
            .ok()
            .filter(|e| !e.trim().is_empty())
            .unwrap_or_else(|| "vi".to_string());
        // Through the shell, as git runs it, so `EDITOR="code --wait"` works.
        #[cfg(unix)]
        let status = std::process::Command::new("sh")
            .arg("-c")
            .arg(format!("{editor} \"$@\""))
            .arg(&editor)
            .arg(tmp.path())
            .status();
        #[cfg(not(unix))]
        let status = std::process::Command::new(&editor).arg(tmp.path()).status();
        let status = status.with_context(|| format!("cannot run the editor `{editor}`"))?;
        if !status.success() {
            anyhow::bail!("the editor `{editor}` failed ({status}); the edit was not used");
        }
        std::fs::read_to_string(tmp.path()).context("cannot read the edited replacement back")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rule::fix::Rendered;

    /// Keys from a list; the editor is not used.
    struct Script(Vec<Key>);

    impl Terminal for Script {
        fn key(&mut self) -> anyhow::Result<Key> {
            anyhow::ensure!(!self.0.is_empty(), "no more keys");
            Ok(self.0.remove(0))
        }
        fn edit(&mut self, _: &str, _: &str) -> anyhow::Result<String> {
            anyhow::bail!("no editor here")
        }
    }

    fn file(text: &str, edits: &[(std::ops::Range<usize>, &str)]) -> FileResult {
        FileResult {
            path: "t.py".into(),
            rel: "t.py".into(),
            lang: crate::lang::Lang::from_name("python").expect("python"),
            original: text.into(),
            original_errors: None,
            line_starts: Default::default(),
            new_text: None,
            edits: edits
                .iter()
                .map(|(r, rep)| {
                    Edit::new(
                        0,
                        r.clone(),
                        Rendered {
                            text: rep.to_string(),
                            holes: vec![],
                        },
                        &[],
                    )
                })
                .collect(),
            findings: vec![],
            rejected: None,
            crlf: false,
        }
    }

    fn rules() -> Vec<Rule> {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("r.yml");
        std::fs::write(
            &path,
            "id: int\nlanguage: python\nmessage: An integer.\nrule:\n  kind: integer\nfix: '0'\n",
        )
        .expect("rule");
        crate::rule::load::load_rules(&[path]).expect("load")
    }

    #[test]
    fn an_edit_that_breaks_the_file_is_refused_and_asked_again() {
        let rules = rules();
        let mut files = vec![file(
            "a = 1\nb = 2\nc = 3\n",
            &[(4..5, "("), (10..11, "20"), (16..17, "30")],
        )];
        let mut term = Script(vec![Key::Yes, Key::No, Key::No, Key::Yes]);
        let mut out = Vec::new();
        let o = review(&mut files, &rules, &mut term, &mut out, false).expect("review");
        let out = String::from_utf8(out).expect("utf-8");
        assert!(
            out.contains("Not accepted: the rewritten file no longer parses"),
            "{out}"
        );
        assert_eq!((o.end, o.offered, o.accepted), (End::Done, 3, 1));
        assert_eq!(files[0].new_text.as_deref(), Some("a = 1\nb = 2\nc = 30\n"));
        let statuses: Vec<_> = files[0].edits.iter().map(|e| e.status.clone()).collect();
        assert_eq!(
            statuses,
            [
                EditStatus::Declined,
                EditStatus::Declined,
                EditStatus::Applied
            ]
        );
    }

    #[test]
    fn an_aborted_review_changes_nothing() {
        let rules = rules();
        let mut files = vec![file("a = 1\nb = 2\n", &[(4..5, "10"), (10..11, "20")])];
        let mut term = Script(vec![Key::Yes, Key::Abort]);
        let o = review(&mut files, &rules, &mut term, &mut Vec::new(), false).expect("review");
        assert_eq!(o.end, End::Aborted);
        assert!(files[0].new_text.is_none());
        assert!(files[0].edits.iter().all(Edit::is_live));
    }

    #[test]
    fn editors_final_newline_is_dropped_only_when_added() {
        assert_eq!(trim_added_newline("a", "b\n".into()), "b");
        assert_eq!(trim_added_newline("a", "b\r\n".into()), "b");
        assert_eq!(trim_added_newline("a\n", "b\n".into()), "b\n");
        assert_eq!(trim_added_newline("a", "b".into()), "b");
    }
}
