//! Matching semantics, checked through the library: each case states what
//! ast-grep 0.51.1 does on the same input (cases marked "sg" were run
//! against it while writing them).

use refactor::rule::load::load_one;
use std::path::Path;

/// Texts of the nodes a single rule matches, in pre-order.
fn found(rule_yaml: &str, code: &str) -> Vec<String> {
    let rule = load_one(Path::new("t.yml"), 1, rule_yaml).expect("rule compiles");
    let tree = rule.lang.parse(code);
    rule.find(tree.root_node(), code)
        .iter()
        .map(|m| code[m.node.byte_range()].to_string())
        .collect()
}

fn rewrite(rule_yaml: &str, code: &str) -> String {
    let rule = load_one(Path::new("t.yml"), 1, rule_yaml).expect("rule compiles");
    let tree = rule.lang.parse(code);
    let mut out = String::new();
    let mut pos = 0;
    for m in rule.find(tree.root_node(), code) {
        if m.range.start < pos {
            continue;
        }
        out.push_str(&code[pos..m.range.start]);
        out.push_str(&m.replacement.expect("fix").text);
        pos = m.range.end;
    }
    out.push_str(&code[pos..]);
    out
}

fn pat(lang: &str, p: &str) -> String {
    format!(
        "id: t\nlanguage: {lang}\nrule:\n  pattern: '{}'\n",
        p.replace('\'', "''")
    )
}

#[test]
fn metavariables_bind_named_nodes_and_repeat_must_agree() {
    let r = pat("javascript", "$A($A)");
    assert_eq!(found(&r, "test(test); foo(bar);"), vec!["test(test)"]);
    let r = pat("javascript", "$_F($_F)");
    assert_eq!(
        found(&r, "foo(bar);"),
        vec!["foo(bar)"],
        "$_ does not capture"
    );
    // `$A` needs a named node, `$$A` takes anonymous ones too (ast-grep's test).
    assert!(found(&pat("javascript", "return $A"), "function f(){ return; }").is_empty());
    assert_eq!(
        found(&pat("javascript", "return $$A"), "function f(){ return; }").len(),
        1
    );
}

#[test]
fn ellipsis_is_lazy_without_backtracking() {
    // sg: `foo($$$A, $B)` matches foo(z) only — the lazy `$$$` stops at the
    // first node `$B` can take, and there is no backtracking.
    let r = pat("javascript", "foo($$$A, $B)");
    assert_eq!(
        found(&r, "foo(x, y); foo(a, b, c); foo(z);"),
        vec!["foo(z)"]
    );
    let r = pat("javascript", "foo($$$A, c)");
    assert_eq!(found(&r, "foo(a, b, c);"), vec!["foo(a, b, c)"]);
    let fix = "id: t\nlanguage: javascript\nrule:\n  pattern: foo($$$A, c)\nfix: bar($$$A)\n";
    assert_eq!(rewrite(fix, "foo(a, b, c);"), "bar(a, b);");
    assert_eq!(
        found(&pat("javascript", "foo($$$)"), "foo(); foo(1, 2);").len(),
        2
    );
}

#[test]
fn trivia_and_trailing_nodes_follow_smart_strictness() {
    assert_eq!(
        found(&pat("javascript", "foo($A, $B)"), "foo(a, b,);").len(),
        1
    );
    assert!(found(&pat("javascript", "foo($A, $B,)"), "foo(a, b);").is_empty());
    assert_eq!(found(&pat("python", "f(  a,b )"), "f(a, b)\n").len(), 1);
}

#[test]
fn patterns_unwrap_through_error_wrappers() {
    // Rust parses a bare binary expression as ERROR > binary_expression.
    let r = pat("rust", "$X.len() == 0");
    assert_eq!(
        found(&r, "fn f() { if v.len() == 0 {} }"),
        vec!["v.len() == 0"]
    );
}

#[test]
fn relational_rules_respect_stop_by_and_field() {
    let code = "function outer() { function inner() { var a = 1 } var a = 1 }";
    let base = "id: t\nlanguage: javascript\nrule:\n  pattern: var a = 1\n  inside:\n";
    let neighbor = format!("{base}    kind: statement_block\n");
    assert_eq!(found(&neighbor, code).len(), 2);
    let end = format!("{base}    pattern: function outer() {{ $$$ }}\n    stopBy: end\n");
    assert_eq!(found(&end, code).len(), 2);
    let until = format!(
        "{base}    pattern: function outer() {{ $$$ }}\n    stopBy:\n      kind: function_declaration\n"
    );
    // Stops at the first function declaration, inclusive: only the outer var.
    assert_eq!(found(&until, code).len(), 1);

    let has_field = "id: t\nlanguage: python\nrule:\n  kind: call\n  has:\n    field: function\n    regex: ^print$\n";
    assert_eq!(
        found(has_field, "print(len(x))\nlen(print)\n"),
        vec!["print(len(x))"]
    );
    let inside_field = "id: t\nlanguage: python\nrule:\n  kind: identifier\n  inside:\n    kind: call\n    field: function\n";
    assert_eq!(found(inside_field, "f(g)\n"), vec!["f"]);
}

#[test]
fn follows_and_precedes_look_at_siblings() {
    let r = "id: t\nlanguage: javascript\nrule:\n  pattern: var a = 1\n  follows:\n    pattern: var b = 2\n    stopBy: end\n";
    assert_eq!(found(r, "var b = 2; alert(b); var a = 1;").len(), 1);
    assert!(found(r, "var a = 1; var b = 2;").is_empty());
    let r = "id: t\nlanguage: javascript\nrule:\n  pattern: var b = 2\n  precedes:\n    pattern: var a = 1\n";
    assert!(
        found(r, "var b = 2; alert(b); var a = 1;").is_empty(),
        "neighbor only"
    );
    assert_eq!(found(r, "var b = 2; var a = 1;").len(), 1);
}

#[test]
fn composite_rules_and_constraints() {
    let r = "id: t\nlanguage: python\nrule:\n  any:\n    - pattern: $X == None\n    - pattern: $X != None\n  not:\n    has:\n      kind: call\n      stopBy: end\nconstraints:\n  X:\n    regex: ^[a-z]+$\n";
    assert_eq!(
        found(r, "a == None\nf(a) == None\nb != None\nAB == None\n"),
        vec!["a == None", "b != None"]
    );
    let utils = "id: t\nlanguage: python\nutils:\n  is-none:\n    kind: none\nrule:\n  kind: comparison_operator\n  has:\n    matches: is-none\n";
    assert_eq!(found(utils, "a == None\na == 1\n"), vec!["a == None"]);
    let nth = "id: t\nlanguage: python\nrule:\n  kind: integer\n  nthChild: 2\n  inside:\n    kind: argument_list\n";
    assert_eq!(found(nth, "f(1, 2, 3)\n"), vec!["2"]);
    let nth_formula = "id: t\nlanguage: python\nrule:\n  kind: integer\n  nthChild:\n    position: 2n+1\n    reverse: true\n  inside:\n    kind: argument_list\n";
    assert_eq!(found(nth_formula, "f(1, 2, 3)\n"), vec!["1", "3"]);
}

#[test]
fn contextual_patterns_select_a_node_kind() {
    let r = "id: t\nlanguage: javascript\nrule:\n  pattern:\n    context: 'class A { $F = $I }'\n    selector: field_definition\n";
    assert_eq!(
        found(r, "class B { b = 123 }\nlet b = 123\n"),
        vec!["b = 123"]
    );
}

#[test]
fn transforms_feed_the_fix() {
    let r = "id: t\nlanguage: python\nrule:\n  pattern: $O.$ATTR\nconstraints:\n  ATTR:\n    regex: ^is_[A-Z]\ntransform:\n  SNAKE:\n    convert:\n      source: $ATTR\n      toCase: snakeCase\n  UP:\n    replace:\n      source: $SNAKE\n      replace: 'is_'\n      by: 'IS_'\nfix: $O.$UP\n";
    assert_eq!(rewrite(r, "x.is_Integer\n"), "x.IS_integer\n");
    let sub = "id: t\nlanguage: python\nrule:\n  pattern: print($S)\ntransform:\n  IN:\n    substring:\n      source: $S\n      startChar: 1\n      endChar: -1\nfix: log($IN)\n";
    assert_eq!(rewrite(sub, "print('hello')\n"), "log(hello)\n");
    // ast-grep 0.51's string form of the same transforms.
    let short = "id: t\nlanguage: python\nrule:\n  pattern: print($S)\ntransform:\n  IN: substring($S, startChar=1, endChar=-1)\n  UP: convert($IN, toCase=upperCase)\n  R: \"replace($UP, replace='L+', by='l')\"\nfix: log($R)\n";
    assert_eq!(rewrite(short, "print('hello')\n"), "log(HElO)\n");
}

#[test]
fn expand_end_widens_the_replaced_range() {
    let r = "id: t\nlanguage: python\nrule:\n  kind: expression_statement\n  has:\n    pattern: $V = $E\n  precedes:\n    pattern: return $V\nfix:\n  template: return $E\n  expandEnd:\n    pattern: return $V\n";
    let code = "def f():\n    x = g()\n    return x\n";
    assert_eq!(rewrite(r, code), "def f():\n    return g()\n");
}

fn swap(lang: &str, p: &str, fix: &str) -> String {
    format!("{}fix: '{}'\n", pat(lang, p), fix.replace('\'', "''"))
}

/// Comments and `\` line continuations are extras: smart matching looks
/// through them, so a metavariable binds the operand after them, never the
/// trivia itself (it used to bind Python's `\`, and `--write` dropped the
/// operand). Every expected text is ast-grep 0.51.1's output (sg).
#[test]
fn trivia_between_tokens_is_skipped_on_every_language() {
    let cases: &[(&str, &str, &str, &str, &str)] = &[
        (
            "python",
            "$A + $B",
            "$B + $A",
            "x = a + \\\n    b\n",
            "x = b + a\n",
        ),
        (
            "python",
            "$A == $B",
            "$B == $A",
            "if (x ==\n  # why\n  None): pass\n",
            "if (None == x): pass\n",
        ),
        (
            "python",
            "f($A, $B)",
            "g($B, $A)",
            "z = f(a, # c\n  b)\n",
            "z = g(b, a)\n",
        ),
        (
            "rust",
            "foo($A, $B)",
            "foo($B, $A)",
            "fn m() { foo(a, /* c */ b); }\n",
            "fn m() { foo(b, a); }\n",
        ),
        (
            "javascript",
            "$A + $B",
            "$B + $A",
            "x = a + /* c */ b;\n",
            "x = b + a;\n",
        ),
        (
            "typescript",
            "$A + $B",
            "$B + $A",
            "x = a + // c\n  b;\n",
            "x = b + a;\n",
        ),
        (
            "go",
            "$A + $B",
            "$B + $A",
            "package m\nvar x = a + /* c */ b\n",
            "package m\nvar x = b + a\n",
        ),
        (
            "java",
            "$A + $B",
            "$B + $A",
            "class M { int x = a + /* c */ b; }\n",
            "class M { int x = b + a; }\n",
        ),
        (
            "c",
            "$A + $B",
            "$B + $A",
            "int x = a + \\\n  b;\n",
            "int x = b + a;\n",
        ),
        (
            "cpp",
            "$A + $B",
            "$B + $A",
            "int x = a + /* c */ \\\n  b;\n",
            "int x = b + a;\n",
        ),
    ];
    for (lang, p, fix, code, want) in cases {
        assert_eq!(
            rewrite(&swap(lang, p, fix), code),
            *want,
            "{lang}: `{p}` -> `{fix}` on {code:?}"
        );
    }
}

/// A method chain split by a comment still matches (sg), and the comment the
/// fix deletes is reported on the match, not silently lost.
#[test]
fn comments_inside_a_match_are_matched_through_and_reported_when_dropped() {
    let rule = load_one(
        Path::new("t.yml"),
        1,
        &swap("python", "$X.bar()", "$X.baz()"),
    )
    .expect("rule compiles");
    let code = "y = (foo()\n  # note\n  .bar())\n";
    let tree = rule.lang.parse(code);
    let ms = rule.find(tree.root_node(), code);
    assert_eq!(ms.len(), 1);
    assert_eq!(ms[0].replacement.as_ref().expect("fix").text, "foo().baz()");
    let dropped: Vec<&str> = ms[0]
        .dropped_comments
        .iter()
        .map(|r| &code[r.clone()])
        .collect();
    assert_eq!(dropped, vec!["# note"]);
    // A comment carried by a metavariable is not reported.
    let code = "y = (foo(  # kept\n  1).bar())\n";
    let tree = rule.lang.parse(code);
    let ms = rule.find(tree.root_node(), code);
    assert_eq!(ms.len(), 1);
    assert!(ms[0].dropped_comments.is_empty());
    // A root metavariable still binds a comment itself (sg).
    let r = "id: t\nlanguage: python\nrule:\n  all: [{kind: comment}, {pattern: $C}]\n";
    assert_eq!(found(r, "x = 1  # hi\n"), vec!["# hi"]);
}

/// `inside` answers are memoised per file for rules that bind nothing; the
/// memo must give what walking every ancestor gives (sg), with a stop rule
/// and with `stopBy: end`, and must not leak between relations.
#[test]
fn memoised_inside_agrees_with_a_full_ancestor_walk() {
    let code = "class A:\n    def f(self):\n        x = 1\n        def g():\n            y = 2\n    z = 3\n\
                def h():\n    class B:\n        w = 4\n    v = 5\nu = 6\n";
    let stop_rule = "id: t\nlanguage: python\nrule:\n  kind: integer\n  inside:\n    kind: function_definition\n    stopBy:\n      kind: class_definition\n";
    assert_eq!(found(stop_rule, code), vec!["1", "2", "5"]);
    let to_end = "id: t\nlanguage: python\nrule:\n  kind: integer\n  inside:\n    kind: class_definition\n    stopBy: end\n";
    assert_eq!(found(to_end, code), vec!["1", "2", "3", "4"]);
    // Two relations in one rule share the file's memo without mixing up.
    let both = "id: t\nlanguage: python\nrule:\n  kind: integer\n  all:\n    - inside: {kind: class_definition, stopBy: end}\n    - not: {inside: {kind: function_definition, stopBy: end}}\n";
    assert_eq!(found(both, code), vec!["3"]);
    // 20,000 nested parentheses: one ancestor walk, linear (was quadratic).
    let deep = format!("x = {}1{}\n", "(".repeat(20_000), ")".repeat(20_000));
    let r =
        "id: t\nlanguage: python\nrule:\n  kind: integer\n  inside: {kind: module, stopBy: end}\n";
    assert_eq!(found(r, &deep), vec!["1"]);
}

/// sg: what a constraint binds stays with the match (ast-grep matches
/// constraints on the match's environment), so the fix can use it; and the
/// nodes relational rules find, constraints included, are the match's
/// secondary labels, in the order found.
#[test]
fn constraints_bind_for_the_fix_and_relations_label() {
    let rule = "id: t\nlanguage: python\nrule:\n  pattern: $A + 1\nconstraints:\n  A:\n    kind: call\n    has:\n      field: function\n      pattern: $F\nfix: $F() + 2\n";
    assert_eq!(rewrite(rule, "y = foo(3) + 1\n"), "y = foo() + 2\n");
    let rule = load_one(
        Path::new("t.yml"),
        1,
        "id: t\nlanguage: python\nrule:\n  kind: call\n  inside:\n    kind: function_definition\n    stopBy: end\n    has:\n      kind: identifier\n",
    )
    .expect("rule compiles");
    let code = "def f():\n    g()\n";
    let tree = rule.lang.parse(code);
    let m = rule
        .find(tree.root_node(), code)
        .into_iter()
        .next()
        .expect("match");
    let labels: Vec<&str> = m
        .env
        .labels()
        .iter()
        .map(|n| &code[n.byte_range()])
        .collect();
    assert_eq!(labels, ["f", "def f():\n    g()"]);
}
