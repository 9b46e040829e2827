//! `transform:` — derived metavariables (`replace`, `substring`, `convert`,
//! `rewrite`), computed per match; a transform may use another one.

use super::rewrite::{self, Rewriter};
use crate::matcher::{Binding, Ctx, Env};
use regex::Regex;
use std::collections::BTreeMap;

#[derive(Debug)]
pub enum Transform {
    Replace {
        source: String,
        regex: Regex,
        by: String,
    },
    Substring {
        source: String,
        start: Option<i64>,
        end: Option<i64>,
    },
    Convert {
        source: String,
        case: Case,
        separators: Vec<Separator>,
    },
    /// Applies rewriters (indexes into the rule's `rewriters:`) to the
    /// nodes the source captured.
    Rewrite {
        source: String,
        rewriters: Vec<usize>,
        join_by: Option<String>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Case {
    Lower,
    Upper,
    Capitalize,
    Camel,
    Snake,
    Kebab,
    Pascal,
}

impl Case {
    pub fn parse(s: &str) -> Option<Case> {
        Some(match s {
            "lowerCase" => Case::Lower,
            "upperCase" => Case::Upper,
            "capitalize" => Case::Capitalize,
            "camelCase" => Case::Camel,
            "snakeCase" => Case::Snake,
            "kebabCase" => Case::Kebab,
            "pascalCase" => Case::Pascal,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Separator {
    CaseChange,
    Dash,
    Dot,
    Slash,
    Space,
    Underscore,
}

impl Separator {
    pub fn parse(s: &str) -> Option<Separator> {
        Some(match s {
            "caseChange" => Separator::CaseChange,
            "dash" => Separator::Dash,
            "dot" => Separator::Dot,
            "slash" => Separator::Slash,
            "space" => Separator::Space,
            "underscore" => Separator::Underscore,
            _ => return None,
        })
    }
    pub const ALL: [Separator; 6] = [
        Separator::CaseChange,
        Separator::Dash,
        Separator::Dot,
        Separator::Slash,
        Separator::Space,
        Separator::Underscore,
    ];
}

/// Strips the `$`/`$$$` sigils of a transform `source`.
pub fn source_var(source: &str) -> &str {
    source.trim_start_matches('$')
}

/// A transform's value, and where the code it was derived from starts in
/// the file: a multi-line value is re-indented from that line's
/// indentation, as a metavariable's is (ast-grep 0.51 does the same).
#[derive(Debug, Clone, PartialEq)]
pub struct Derived {
    pub text: String,
    pub origin: usize,
}

/// The values of a match's transforms, by name.
pub type DerivedVars = BTreeMap<String, Derived>;

fn lookup(name: &str, env: &Env, done: &DerivedVars, src: &str) -> Option<Derived> {
    if let Some(v) = done.get(name) {
        return Some(v.clone());
    }
    let origin = match env.get(name)? {
        Binding::Single(n) => n.start_byte(),
        Binding::Multi(ns) => ns.first().map_or(0, |n| n.start_byte()),
    };
    Some(Derived {
        text: env.text(name, src)?.to_string(),
        origin,
    })
}

impl Transform {
    /// The metavariable the transform reads, without its `$` sigils.
    pub fn source(&self) -> &str {
        source_var(self.raw_source())
    }

    /// `source` as written in the rule file.
    pub fn raw_source(&self) -> &str {
        match self {
            Transform::Replace { source, .. }
            | Transform::Substring { source, .. }
            | Transform::Convert { source, .. }
            | Transform::Rewrite { source, .. } => source,
        }
    }

    fn apply(&self, input: &str) -> String {
        match self {
            Transform::Replace { regex, by, .. } => regex.replace_all(input, by.as_str()).into(),
            Transform::Substring { start, end, .. } => {
                let chars: Vec<char> = input.chars().collect();
                let len = chars.len() as i64;
                let norm = |i: i64| if i < 0 { (len + i).max(0) } else { i.min(len) };
                let s = norm(start.unwrap_or(0));
                let e = norm(end.unwrap_or(len));
                if s >= e {
                    String::new()
                } else {
                    chars[s as usize..e as usize].iter().collect()
                }
            }
            Transform::Convert {
                case, separators, ..
            } => convert(input, *case, separators),
            // Rewrites work on nodes, not text: see `run`.
            Transform::Rewrite { .. } => input.to_string(),
        }
    }
}

/// Runs the transforms of a rule (or rewriter) for one match. A transform
/// whose source is unbound yields nothing (its variable renders empty, as in
/// ast-grep). `enclosing` is the environment rewriters start from: the
/// rule's own match, also inside a rewriter's transforms.
pub fn run<'t>(
    transforms: &[(String, Transform)],
    env: &Env<'t>,
    enclosing: &Env<'t>,
    ctx: Ctx<'_, 't>,
    rewriters: &[Rewriter],
) -> DerivedVars {
    let src = ctx.src;
    let mut done = BTreeMap::new();
    // Declaration order, repeated so a transform may use a later-declared one.
    for _ in 0..transforms.len().max(1) {
        let mut progressed = false;
        for (name, t) in transforms {
            if done.contains_key(name) {
                continue;
            }
            let value = match t {
                Transform::Rewrite {
                    source,
                    rewriters: which,
                    join_by,
                } => rewrite::rewrite(
                    source_var(source),
                    which,
                    join_by.as_deref(),
                    env,
                    enclosing,
                    ctx,
                    rewriters,
                ),
                _ => lookup(t.source(), env, &done, src).map(|input| Derived {
                    text: t.apply(&input.text),
                    origin: input.origin,
                }),
            };
            if let Some(v) = value {
                done.insert(name.clone(), v);
                progressed = true;
            }
        }
        if !progressed {
            break;
        }
    }
    done
}

/// What the word splitter remembers about the letters of the current word
/// (only when splitting on case changes).
#[derive(Clone, Copy, PartialEq)]
enum Run {
    /// Last character lowercase (or the word just started).
    Lower,
    /// One non-lowercase character after a lowercase one.
    OneUpper,
    /// Several non-lowercase characters in a row; the last one.
    MultiUpper(char),
}

/// Splits `input` into words as ast-grep 0.51 does: at the separator
/// characters named by `seps` (which are dropped), and with `caseChange` at
/// a lowercase→uppercase step (`fooBar` → `foo`, `Bar`) and before the last
/// capital of a capital run followed by a lowercase letter (`XMLHttp` →
/// `XML`, `Http`). Digits and other non-lowercase characters count as
/// capitals for the runs. Empty words are dropped.
fn split_words<'a>(input: &'a str, seps: &[Separator]) -> Vec<&'a str> {
    let delimiters: Vec<char> = seps
        .iter()
        .filter_map(|s| match s {
            Separator::Dash => Some('-'),
            Separator::Dot => Some('.'),
            Separator::Slash => Some('/'),
            Separator::Space => Some(' '),
            Separator::Underscore => Some('_'),
            Separator::CaseChange => None,
        })
        .collect();
    let by_case = seps.contains(&Separator::CaseChange);
    let mut words = Vec::new();
    let mut push = |r: std::ops::Range<usize>| {
        if !r.is_empty() {
            words.push(&input[r]);
        }
    };
    let (mut left, mut right) = (0, 0);
    let mut run = Run::Lower;
    for c in input.chars() {
        let len = c.len_utf8();
        if delimiters.contains(&c) {
            push(left..right);
            left = right + len;
            right = left;
            run = Run::Lower;
            continue;
        }
        if by_case {
            if run == Run::Lower && c.is_uppercase() {
                push(left..right);
                left = right;
                right += len;
                run = Run::OneUpper;
                continue;
            }
            if let (Run::MultiUpper(last), true) = (run, c.is_lowercase()) {
                let split = right - last.len_utf8();
                push(left..split);
                left = split;
                right += len;
                run = Run::Lower;
                continue;
            }
            run = if c.is_lowercase() {
                Run::Lower
            } else if run == Run::Lower {
                Run::OneUpper
            } else {
                Run::MultiUpper(c)
            };
        }
        right += len;
    }
    push(left..right);
    words
}

/// First character uppercased, the rest as it is.
fn capitalize(w: &str) -> String {
    let mut cs = w.chars();
    match cs.next() {
        Some(f) => f.to_uppercase().chain(cs).collect(),
        None => String::new(),
    }
}

/// `convert`: ast-grep's string cases. `lowerCase`, `upperCase` and
/// `capitalize` act on the whole text; the others split it into words
/// ([`split_words`]) and join them: snake and kebab lowercase every word,
/// camel lowercases the first and capitalizes the rest, pascal capitalizes
/// every word (capitalizing leaves the other letters as they are).
pub fn convert(input: &str, case: Case, seps: &[Separator]) -> String {
    match case {
        Case::Lower => return input.to_lowercase(),
        Case::Upper => return input.to_uppercase(),
        Case::Capitalize => return capitalize(input),
        _ => {}
    }
    let words = split_words(input, seps);
    let lower = || words.iter().map(|w| w.to_lowercase());
    match case {
        Case::Snake => lower().collect::<Vec<_>>().join("_"),
        Case::Kebab => lower().collect::<Vec<_>>().join("-"),
        Case::Pascal => words.iter().map(|w| capitalize(w)).collect(),
        Case::Camel => words
            .iter()
            .enumerate()
            .map(|(i, w)| {
                if i == 0 {
                    w.to_lowercase()
                } else {
                    capitalize(w)
                }
            })
            .collect(),
        Case::Lower | Case::Upper | Case::Capitalize => unreachable!("handled above"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn converts_between_cases() {
        let all = Separator::ALL;
        assert_eq!(convert("fooBarBaz", Case::Snake, &all), "foo_bar_baz");
        assert_eq!(convert("foo_bar", Case::Camel, &all), "fooBar");
        assert_eq!(convert("foo-bar", Case::Pascal, &all), "FooBar");
        assert_eq!(convert("FooBar", Case::Kebab, &all), "foo-bar");
        assert_eq!(convert("abc", Case::Upper, &all), "ABC");
    }

    /// Outputs of ast-grep 0.51.1 on the same inputs (sg).
    #[test]
    fn capital_runs_digits_and_kept_letters_match_ast_grep() {
        let all = Separator::ALL;
        let case_only = [Separator::CaseChange];
        let underscore = [Separator::Underscore];
        let cases = [
            ("XMLHttpRequest", Case::Snake, &all[..], "xml_http_request"),
            (
                "getHTTPResponseCode",
                Case::Camel,
                &all[..],
                "getHTTPResponseCode",
            ),
            (
                "getHTTPResponseCode",
                Case::Kebab,
                &all[..],
                "get-http-response-code",
            ),
            ("HTTPServer", Case::Pascal, &all[..], "HTTPServer"),
            ("IOError", Case::Snake, &all[..], "io_error"),
            ("ab1Cd", Case::Pascal, &underscore[..], "Ab1Cd"),
            ("v2Beta", Case::Pascal, &underscore[..], "V2Beta"),
            (
                "user_accountName",
                Case::Camel,
                &underscore[..],
                "userAccountName",
            ),
            ("a__b", Case::Snake, &case_only[..], "a___b"),
            ("a__b", Case::Kebab, &case_only[..], "a_-_b"),
            (
                "ÉcoleNormale",
                Case::Pascal,
                &underscore[..],
                "ÉcoleNormale",
            ),
            ("_leading", Case::Camel, &all[..], "leading"),
        ];
        for (input, case, seps, want) in cases {
            assert_eq!(
                convert(input, case, seps),
                want,
                "{input} {case:?} {seps:?}"
            );
        }
    }
}
