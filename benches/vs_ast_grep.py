#!/usr/bin/env python3
"""Speed and memory of `refactor apply` (dry run) against ast-grep 0.51.1 as
the anchor, on the same rules and the same real code, in one run.

Uses the corpora that scripts/differential.py downloads (run it once first)
and the release binary. Each tool runs --runs times per rule, alternating, and
the script prints median wall time, peak RSS and the ratio refactor/ast-grep
(below 1.0 means refactor is faster). These machines are noisy: quote the
medians and ratios, not single times.

    cargo build --release
    python3 scripts/differential.py      # fetches corpora + ast-grep
    python3 benches/vs_ast_grep.py --runs 7
"""
import argparse
import json
import os
import resource
import statistics
import subprocess
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORK = Path(os.environ.get("DIFF_WORK", "/tmp/refactor-differential"))

CASES = [
    ("rules/python", "sympy"),
    ("rules/rust", "crates"),
    ("rules/typescript/any-to-unknown.yml", "npm"),
]


def timed(cmd, cwd):
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    subprocess.run(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    wall = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    # ru_maxrss of children is the max over all children so far (KiB).
    return wall, after.ru_maxrss


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--refactor", default=str(ROOT / "target" / "release" / "refactor"))
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    sg = WORK / "venv" / "bin" / "ast-grep"
    rows = []
    for rule, corpus in CASES:
        cdir = WORK / "corpus" / corpus
        rule_path = ROOT / rule
        rule_files = sorted(rule_path.rglob("*.yml")) if rule_path.is_dir() else [rule_path]
        rule_files = [r for r in rule_files if not r.name.endswith(".test.yml")]
        sg_cmd = [str(sg), "scan", "--threads", str(args.threads)]
        for r in rule_files:
            sg_cmd += ["--rule", str(r)] if len(rule_files) == 1 else []
        if len(rule_files) > 1:
            # ast-grep takes one --rule file; give it an inline config of all.
            combined = WORK / f"combined-{corpus}.yml"
            combined.write_text("\n---\n".join(r.read_text() for r in rule_files))
            sg_cmd += ["--rule", str(combined)]
        sg_cmd += ["."]
        rf_cmd = [args.refactor, "apply", "--quiet", "--threads", str(args.threads), "--rule", str(rule_path), "."]
        sg_t, rf_t = [], []
        for _ in range(args.runs):
            sg_t.append(timed(sg_cmd, cdir)[0])
            rf_t.append(timed(rf_cmd, cdir)[0])
        # Peak memory, measured in separate processes so the maxima don't mix.
        mem = {}
        for name, cmd in (("ast-grep", sg_cmd), ("refactor", rf_cmd)):
            out = subprocess.run(["python3", "-c", (
                "import resource,subprocess,sys;"
                f"subprocess.run({cmd!r},cwd={str(cdir)!r},stdout=subprocess.DEVNULL,stderr=subprocess.DEVNULL);"
                "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")],
                capture_output=True, text=True)
            mem[name] = int(out.stdout.strip() or 0) / 1024
        row = {
            "rules": rule,
            "corpus": corpus,
            "runs": args.runs,
            "ast_grep_median_s": round(statistics.median(sg_t), 3),
            "refactor_median_s": round(statistics.median(rf_t), 3),
            "time_ratio": round(statistics.median(rf_t) / statistics.median(sg_t), 2),
            "ast_grep_peak_mib": round(mem["ast-grep"], 1),
            "refactor_peak_mib": round(mem["refactor"], 1),
        }
        rows.append(row)
        print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
