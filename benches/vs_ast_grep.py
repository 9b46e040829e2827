#!/usr/bin/env python3
"""Speed and memory of `refactor apply` (dry run) against ast-grep 0.51.1 as
the anchor, on the same rules and the same real code, in one run.

Uses the corpora and the ast-grep that scripts/differential.py downloads and
installs (run it once first) and the release binary. For every case each
tool runs --runs times, alternating, and the script prints both medians, the
ratio refactor/ast-grep (below 1.0: refactor is faster), both peak RSS and
whether `--write` / `scan -U` give identical files. These machines are
noisy: quote the medians and ratios, not single times. A benchmark, not a
test: CI does not run it.

    cargo build --release
    python3 scripts/differential.py      # fetches corpora + ast-grep
    python3 benches/vs_ast_grep.py --runs 5
    python3 benches/vs_ast_grep.py --runs 5 --only scaling   # one group

Groups: `single` (each rule alone: Python on sympy, Rust on the vendored
crates, TypeScript on the npm packages; `--lang` picks some), `combined` (all rules of
a language in one run: sympy, vendored crates, npm TypeScript), `scaling`
(the combined sympy run on 1x, 2x and 4x copies of the corpus, and with 1,
8 and 32 rules).
"""
import argparse
import filecmp
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORK = Path(os.environ.get("DIFF_WORK", "/tmp/refactor-differential"))
BENCH = WORK / "bench"


def rule_files(path):
    p = ROOT / path
    files = sorted(p.rglob("*.yml")) if p.is_dir() else [p]
    return [f for f in files if not f.name.endswith((".test.yml", "-test.yml"))]


def combined_rule(files, name, copies=1):
    """One YAML stream holding every rule (ast-grep takes one file per
    --rule); with copies > 1 each rule repeats under a new id."""
    docs = []
    for i in range(copies):
        for f in files:
            text = f.read_text()
            if copies > 1:
                text = "\n".join(
                    (l + f"-{i}" if l.startswith("id:") else l) for l in text.splitlines())
            docs.append(text)
    out = BENCH / f"{name}.yml"
    out.write_text("\n---\n".join(docs) + "\n")
    return out


def peak_and_time(cmd, cwd):
    """Wall time and peak RSS (MiB) of one run, via GNU time's format."""
    t = time.perf_counter()
    p = subprocess.run(["/usr/bin/time", "-f", "%M"] + cmd, cwd=cwd,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    wall = time.perf_counter() - t
    try:
        rss = int(p.stderr.strip().splitlines()[-1]) / 1024
    except (ValueError, IndexError):
        rss = float("nan")
    return wall, rss


def same_files(corpus, sg, rf_bin, rule):
    """Whether `ast-grep scan -U` and `refactor apply --write` give the same tree."""
    a, b = BENCH / "cmp-sg", BENCH / "cmp-rf"
    for d in (a, b):
        shutil.rmtree(d, ignore_errors=True)
        shutil.copytree(corpus, d)
    subprocess.run([sg, "scan", "--rule", str(rule), "-U", "."], cwd=a,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    r = subprocess.run([rf_bin, "apply", "--write", "--quiet", "--rule", str(rule), "."], cwd=b,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    # Files refactor refuses to write because they would no longer parse are
    # an intended difference (see scripts/differential.py).
    diffs = []
    stack = [filecmp.dircmp(a, b)]
    while stack:
        c = stack.pop()
        diffs += c.diff_files + c.left_only + c.right_only
        stack += c.subdirs.values()
    return len(diffs) == 0, len(diffs)


def corpus_copies(name, n):
    src = WORK / "corpus" / name
    if n == 1:
        return src
    dest = BENCH / f"{name}-x{n}"
    if not dest.exists():
        dest.mkdir(parents=True)
        for i in range(n):
            shutil.copytree(src, dest / f"copy{i}")
    return dest


def run_case(group, label, rule, corpus_dir, args, sg):
    sg_cmd = [str(sg), "scan", "--threads", str(args.threads), "--rule", str(rule), "."]
    rf_cmd = [args.refactor, "apply", "--quiet", "--threads", str(args.threads),
              "--rule", str(rule), "."]
    sg_t, rf_t, sg_m, rf_m = [], [], [], []
    for _ in range(args.runs):
        w, m = peak_and_time(sg_cmd, corpus_dir)
        sg_t.append(w)
        sg_m.append(m)
        w, m = peak_and_time(rf_cmd, corpus_dir)
        rf_t.append(w)
        rf_m.append(m)
    row = {
        "group": group,
        "case": label,
        "runs": args.runs,
        "ast_grep_median_s": round(statistics.median(sg_t), 3),
        "refactor_median_s": round(statistics.median(rf_t), 3),
        "ratio": round(statistics.median(rf_t) / statistics.median(sg_t), 3),
        "ast_grep_peak_mib": round(max(sg_m), 1),
        "refactor_peak_mib": round(max(rf_m), 1),
    }
    if args.check_files and group != "scaling":
        same, n = same_files(corpus_dir, str(sg), args.refactor, rule)
        row["identical_files"] = same
        if not same:
            row["differing_files"] = n
    print(json.dumps(row), flush=True)
    return row


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--refactor", default=str(ROOT / "target" / "release" / "refactor"))
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--only", default=None, help="single, combined or scaling")
    ap.add_argument("--lang", action="append", default=[],
                    help="single: only this language's rules (python, rust, typescript)")
    ap.add_argument("--no-check-files", dest="check_files", action="store_false",
                    help="skip the identical-files comparison")
    args = ap.parse_args()
    sg = WORK / "venv" / "bin" / "ast-grep"
    if not sg.exists() or not (WORK / "corpus" / "sympy").exists():
        sys.exit("run `python3 scripts/differential.py` once first (corpora + ast-grep)")
    if not Path("/usr/bin/time").exists():
        sys.exit("peak memory is read with GNU time: apt-get install time")
    BENCH.mkdir(parents=True, exist_ok=True)
    rows = []
    groups = [args.only] if args.only else ["single", "combined", "scaling"]
    py = rule_files("rules/python")
    if "single" in groups:
        for lang, corpus in (("python", "sympy"), ("rust", "crates"), ("typescript", "npm")):
            if args.lang and lang not in args.lang:
                continue
            for f in rule_files(f"rules/{lang}"):
                rows.append(run_case("single", f"{f.stem} ({corpus})", f, WORK / "corpus" / corpus,
                                     args, sg))
    if "combined" in groups:
        for lang, corpus in (("python", "sympy"), ("rust", "crates"), ("typescript", "npm")):
            files = rule_files(f"rules/{lang}")
            rule = combined_rule(files, f"all-{lang}")
            rows.append(run_case("combined", f"rules/{lang} ({len(files)} rules, {corpus})", rule,
                                 WORK / "corpus" / corpus, args, sg))
    if "scaling" in groups:
        rule = combined_rule(py, "all-python")
        for n in (1, 2, 4):
            rows.append(run_case("scaling", f"files x{n}", rule, corpus_copies("sympy", n), args, sg))
        # 1, 8 and 32 rules: the first rule, the first eight, and the 16
        # rules twice over (each copy under its own id).
        for label, r in ((1, py[0]), (8, combined_rule(py[:8], "python-8")),
                         (2 * len(py), combined_rule(py, "python-x2", 2))):
            rows.append(run_case("scaling", f"{label} rules", r, WORK / "corpus" / "sympy",
                                 args, sg))
    print("\n| group | case | ast-grep median | refactor median | ratio | peak RSS ast-grep / refactor | identical files |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        same = {True: "yes", False: f"no ({r.get('differing_files')})"}.get(r.get("identical_files"), "-")
        print(f"| {r['group']} | {r['case']} | {r['ast_grep_median_s']:.2f} s | "
              f"{r['refactor_median_s']:.2f} s | {r['ratio']:.2f} | "
              f"{r['ast_grep_peak_mib']:.0f} / {r['refactor_peak_mib']:.0f} MiB | {same} |")


if __name__ == "__main__":
    main()
