//! The YAML shape of a rule file, as ast-grep defines it, plus our `holes:`
//! extension. Unknown keys are errors (a typo must not silently widen a rule).

use serde::Deserialize;
use std::collections::BTreeMap;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RuleFile {
    pub id: String,
    pub language: String,
    pub rule: SerRule,
    #[serde(default)]
    pub constraints: BTreeMap<String, SerRule>,
    #[serde(default)]
    pub utils: BTreeMap<String, SerRule>,
    /// Kept as a mapping so declaration order is preserved.
    #[serde(default)]
    pub transform: Option<serde_yaml::Mapping>,
    #[serde(default)]
    pub fix: Option<SerFix>,
    #[serde(default)]
    pub message: Option<String>,
    #[serde(default)]
    pub note: Option<String>,
    #[serde(default)]
    pub severity: Option<String>,
    #[serde(default)]
    pub files: Option<Vec<String>>,
    #[serde(default)]
    pub ignores: Option<Vec<String>>,
    #[serde(default)]
    pub url: Option<String>,
    #[serde(default)]
    pub metadata: Option<serde_yaml::Value>,
    /// ast-grep's `labels:` — metavariables to point at in reports, with a
    /// style and a message; kept in declaration order.
    #[serde(default)]
    pub labels: Option<serde_yaml::Mapping>,
    /// ast-grep's `rewriters:`: rules whose fixes the `rewrite` transform
    /// applies to the nodes a metavariable captured.
    #[serde(default)]
    pub rewriters: Vec<SerRewriter>,
    /// Our extension: descriptions of `$?NAME` holes in `fix`.
    #[serde(default)]
    pub holes: BTreeMap<String, HoleDecl>,
}

/// One entry of `rewriters:`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SerRewriter {
    pub id: String,
    pub rule: SerRule,
    #[serde(default)]
    pub constraints: BTreeMap<String, SerRule>,
    /// Refused with a clear message: rewriters use the rule's utils.
    #[serde(default)]
    pub utils: Option<serde_yaml::Value>,
    #[serde(default)]
    pub transform: Option<serde_yaml::Mapping>,
    pub fix: SerFix,
}

/// One entry of `labels:`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LabelDecl {
    pub style: String,
    #[serde(default)]
    pub message: Option<String>,
}

/// A global util rule: one file of an ast-grep project's `utilDirs`, usable
/// by id from the `matches` of every rule of its language. ast-grep also
/// allows `constraints`, `transform` and parameters here; those are refused.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GlobalUtilFile {
    pub id: String,
    pub language: String,
    pub rule: SerRule,
    /// Utils local to this global util.
    #[serde(default)]
    pub utils: BTreeMap<String, SerRule>,
}

/// One hole of a fix template (`$?NAME`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HoleDecl {
    #[serde(default = "default_max_tokens")]
    pub max_tokens: usize,
    #[serde(default)]
    pub kind: Option<String>,
    #[serde(default)]
    pub regex: Option<String>,
    #[serde(default)]
    pub tie: Option<String>,
    #[serde(default)]
    pub min_confidence: Option<f32>,
    /// `candidates: auto|off` (default `auto`): rank the answers the walked code
    /// offers (a keyword argument's callee parameters) instead of decoding freely.
    /// Checked by the loader, which names the file and line of a bad value.
    #[serde(default)]
    pub candidates: Option<String>,
}

impl HoleDecl {
    /// Whether the fill stage may rank candidates from the walked code for this hole
    /// (`candidates:` absent or `auto`).
    pub fn candidates_enabled(&self) -> bool {
        self.candidates.as_deref() != Some("off")
    }
}

fn default_max_tokens() -> usize {
    8
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SerRule {
    pub pattern: Option<SerPattern>,
    pub kind: Option<String>,
    pub regex: Option<String>,
    pub nth_child: Option<SerNthChild>,
    pub range: Option<SerRange>,
    pub inside: Option<Box<SerRule>>,
    pub has: Option<Box<SerRule>>,
    pub precedes: Option<Box<SerRule>>,
    pub follows: Option<Box<SerRule>>,
    pub all: Option<Vec<SerRule>>,
    pub any: Option<Vec<SerRule>>,
    pub not: Option<Box<SerRule>>,
    pub matches: Option<String>,
    /// Only valid inside a relational rule.
    pub stop_by: Option<SerStopBy>,
    /// Only valid inside a relational rule.
    pub field: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum SerPattern {
    Str(String),
    Obj(PatternObj),
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PatternObj {
    pub context: String,
    #[serde(default)]
    pub selector: Option<String>,
    #[serde(default)]
    pub strictness: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum SerStopBy {
    Named(String),
    Rule(Box<SerRule>),
}

#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum SerNthChild {
    Num(i64),
    Str(String),
    Obj(NthChildObj),
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct NthChildObj {
    pub position: NthPos,
    #[serde(default)]
    pub reverse: bool,
    #[serde(default)]
    pub of_rule: Option<Box<SerRule>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum NthPos {
    Num(i64),
    Str(String),
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SerRange {
    pub start: SerPos,
    pub end: SerPos,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SerPos {
    pub line: usize,
    pub column: usize,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum SerFix {
    Template(String),
    Obj(Box<FixObj>),
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct FixObj {
    pub template: String,
    #[serde(default)]
    pub expand_start: Option<SerRule>,
    #[serde(default)]
    pub expand_end: Option<SerRule>,
}

/// A transformation of `transform:` (object form).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SerTransform {
    pub replace: Option<ReplaceObj>,
    pub substring: Option<SubstringObj>,
    pub convert: Option<ConvertObj>,
    pub rewrite: Option<RewriteObj>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RewriteObj {
    pub source: String,
    pub rewriters: Vec<String>,
    #[serde(default)]
    pub join_by: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReplaceObj {
    pub source: String,
    pub replace: String,
    pub by: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SubstringObj {
    pub source: String,
    #[serde(default)]
    pub start_char: Option<i64>,
    #[serde(default)]
    pub end_char: Option<i64>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ConvertObj {
    pub source: String,
    pub to_case: String,
    #[serde(default)]
    pub separated_by: Option<Vec<String>>,
}
