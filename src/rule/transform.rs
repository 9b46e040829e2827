//! `transform:` — derived metavariables (`replace`, `substring`, `convert`),
//! computed per match in declaration order; a transform may use an earlier one.

use crate::matcher::Env;
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

fn lookup(name: &str, env: &Env, done: &BTreeMap<String, String>, src: &str) -> Option<String> {
    if let Some(v) = done.get(name) {
        return Some(v.clone());
    }
    env.text(name, src).map(str::to_string)
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
            | Transform::Convert { source, .. } => source,
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
        }
    }
}

/// Runs the transforms of a rule for one match. A transform whose source is
/// unbound yields nothing (its variable renders empty, as in ast-grep).
pub fn run(transforms: &[(String, Transform)], env: &Env, src: &str) -> BTreeMap<String, String> {
    let mut done = BTreeMap::new();
    // Declaration order, repeated so a transform may use a later-declared one.
    for _ in 0..transforms.len().max(1) {
        let mut progressed = false;
        for (name, t) in transforms {
            if done.contains_key(name) {
                continue;
            }
            if let Some(input) = lookup(t.source(), env, &done, src) {
                done.insert(name.clone(), t.apply(&input));
                progressed = true;
            }
        }
        if !progressed {
            break;
        }
    }
    done
}

fn split_words(input: &str, seps: &[Separator]) -> Vec<String> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut prev: Option<char> = None;
    for c in input.chars() {
        let is_sep = match c {
            '-' => seps.contains(&Separator::Dash),
            '.' => seps.contains(&Separator::Dot),
            '/' => seps.contains(&Separator::Slash),
            ' ' => seps.contains(&Separator::Space),
            '_' => seps.contains(&Separator::Underscore),
            _ => false,
        };
        if is_sep {
            if !cur.is_empty() {
                words.push(std::mem::take(&mut cur));
            }
            prev = None;
            continue;
        }
        if seps.contains(&Separator::CaseChange)
            && c.is_uppercase()
            && prev.is_some_and(|p| p.is_lowercase() || p.is_ascii_digit())
            && !cur.is_empty()
        {
            words.push(std::mem::take(&mut cur));
        }
        cur.push(c);
        prev = Some(c);
    }
    if !cur.is_empty() {
        words.push(cur);
    }
    words
}

fn capitalize(w: &str) -> String {
    let mut cs = w.chars();
    match cs.next() {
        Some(f) => f.to_uppercase().collect::<String>() + &cs.as_str().to_lowercase(),
        None => String::new(),
    }
}

pub fn convert(input: &str, case: Case, seps: &[Separator]) -> String {
    match case {
        Case::Lower => return input.to_lowercase(),
        Case::Upper => return input.to_uppercase(),
        Case::Capitalize => {
            let mut cs = input.chars();
            return match cs.next() {
                Some(f) => f.to_uppercase().collect::<String>() + cs.as_str(),
                None => String::new(),
            };
        }
        _ => {}
    }
    let words = split_words(input, seps);
    match case {
        Case::Snake => words
            .iter()
            .map(|w| w.to_lowercase())
            .collect::<Vec<_>>()
            .join("_"),
        Case::Kebab => words
            .iter()
            .map(|w| w.to_lowercase())
            .collect::<Vec<_>>()
            .join("-"),
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
        _ => unreachable!("handled above"),
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
}
