//! The baselines of the training side's `model/eval.py`, computed on the same sites:
//! the most frequent answer, and copying the identifier of the site's canvas row that
//! is most similar to the identifiers on the site's own line.

use std::collections::{HashMap, HashSet};
use std::sync::OnceLock;

/// `model/data.py`'s KEYWORDS: language keywords and very common builtin names.
pub fn keywords() -> &'static HashSet<&'static str> {
    static K: OnceLock<HashSet<&'static str>> = OnceLock::new();
    K.get_or_init(|| {
        "False None True and as assert async await break class continue def del elif else \
         except finally for from global if import in is lambda nonlocal not or pass raise return try while with \
         yield self cls let mut fn pub use mod impl struct enum trait type where match ref const static crate super \
         Self dyn move unsafe extern loop as function var new this typeof instanceof export default interface \
         extends implements private public protected readonly abstract declare namespace keyof void null undefined \
         true false string number boolean any unknown never object str int float bool bytes dict list tuple set \
         Option Some Ok Err Vec String Result Box usize u8 u32 u64 i32 i64 f32 f64"
            .split_whitespace()
            .collect()
    })
}

fn idents(text: &str) -> impl Iterator<Item = &str> {
    crate::denoise::context::ident_regex()
        .find_iter(text)
        .map(|m| m.as_str())
}

/// Python's `difflib.SequenceMatcher(None, a, b).ratio()` (no junk heuristic: it only
/// starts at 200 characters): 2 * matched / (len a + len b), where matches are found by
/// recursive longest common blocks.
pub fn similarity(a: &str, b: &str) -> f64 {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    if a.is_empty() && b.is_empty() {
        return 1.0;
    }
    2.0 * matched(&a, &b) as f64 / (a.len() + b.len()) as f64
}

fn matched(a: &[char], b: &[char]) -> usize {
    if a.is_empty() || b.is_empty() {
        return 0;
    }
    // Longest common block; ties to the smallest i, then the smallest j (difflib).
    let (mut bi, mut bj, mut bk) = (0, 0, 0);
    let mut prev = vec![0usize; b.len() + 1];
    for (i, ca) in a.iter().enumerate() {
        let mut cur = vec![0usize; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            if ca == cb {
                let k = prev[j] + 1;
                cur[j + 1] = k;
                if k > bk {
                    bi = i + 1 - k;
                    bj = j + 1 - k;
                    bk = k;
                }
            }
        }
        prev = cur;
    }
    if bk == 0 {
        return 0;
    }
    bk + matched(&a[..bi], &b[..bj]) + matched(&a[bi + bk..], &b[bj + bk..])
}

/// The copy baseline: among the identifiers of `row_text` (a site's canvas row:
/// window and context), the one most similar to an identifier of `line` (the site's
/// line without the answer); candidates in sorted order, the first best wins.
pub fn copy_guess(row_text: &str, line: &str) -> String {
    let kw = keywords();
    let all: Vec<&str> = idents(row_text).collect();
    let cands: std::collections::BTreeSet<&str> = all
        .iter()
        .copied()
        .filter(|c| !kw.contains(c) || matches!(*c, "str" | "int" | "bool" | "float" | "bytes"))
        .collect();
    let q: Vec<&str> = idents(line).filter(|x| !kw.contains(x)).collect();
    if cands.is_empty() {
        return String::new();
    }
    if q.is_empty() {
        return most_common(all.iter().map(|s| s.to_string())).unwrap_or_default();
    }
    let mut best = "";
    let mut best_score = -1.0;
    for c in cands {
        let s = q.iter().map(|x| similarity(c, x)).fold(0.0, f64::max);
        if s > best_score {
            best = c;
            best_score = s;
        }
    }
    best.to_string()
}

/// The most frequent item; ties go to the one seen first.
pub fn most_common(items: impl IntoIterator<Item = String>) -> Option<String> {
    let mut count: HashMap<String, (usize, usize)> = HashMap::new();
    for (i, it) in items.into_iter().enumerate() {
        let e = count.entry(it).or_insert((0, i));
        e.0 += 1;
    }
    count
        .into_iter()
        .max_by(|a, b| a.1 .0.cmp(&b.1 .0).then(b.1 .1.cmp(&a.1 .1)))
        .map(|(k, _)| k)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn similarity_matches_difflib() {
        // difflib.SequenceMatcher(None, a, b).ratio()
        assert!((similarity("abcd", "bcde") - 0.75).abs() < 1e-9);
        assert!((similarity("path", "parse") - 4.0 / 9.0).abs() < 1e-9);
        assert_eq!(similarity("x", "y"), 0.0);
        assert_eq!(similarity("same", "same"), 1.0);
    }

    #[test]
    fn copy_prefers_similar_identifiers() {
        let row = "def load_config(path: str) -> Config:\n    config_path = path";
        assert_eq!(copy_guess(row, "    = load_config(path)"), "load_config");
        assert_eq!(
            most_common(["a".into(), "b".into(), "b".into()]),
            Some("b".into())
        );
        assert_eq!(most_common(["a".into(), "b".into()]), Some("a".into()));
    }
}
