#!/usr/bin/env python3
"""Per-kind acceptance thresholds from held-out calibration code.

    python3 scripts/calibrate.py --bin target/release/refactor --out /tmp/cal.jsonl \\
        --pkg sphinx=/data/cal/sphinx --pkg markdown_it=/data/cal/markdown_it ...
    python3 scripts/calibrate.py --sites /tmp/cal.jsonl          # the tables again, no runs

Runs `refactor eval --task T --limit N --threshold 0 PATH` for every package and task
(threshold 0: every fill that passes its constraints is applied, so one run shows every
cut), keeps each site line (REFACTOR_EVAL_SITES) with its package and task, and prints,
per threshold class, the smallest confidence cut whose written fills reach the target
precision, and what that cut writes per task and package.

Threshold classes are the keys of the shipped table (`fill::default_threshold`): the
hole's kind (`type`, `identifier`, other), and for identifiers whether the guess was
ranked among candidates the code offers.

The calibration packages must be held out twice: not in model/corpus.lock (the model
never saw them) and not among the packages whose numbers are reported (docs/eval.md),
so the thresholds are not tuned on the code they are judged on.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

TASKS = {
    # task: the hole kind its rule declares
    "py-return-type": "type",
    "py-param-type": "type",
    "py-kwarg-name": "identifier",
    "py-local-name": "identifier",
    "rs-let-type": "other",
}
CUTS = [round(0.5 + 0.01 * i, 2) for i in range(50)] + [0.995, 0.999]


def klass(site):
    kind = TASKS[site["task"]]
    if kind == "identifier":
        return "identifier, ranked" if site.get("ranked") else "identifier, decoded"
    return kind


def collect(a):
    rows = []
    for spec in a.pkg:
        name, path = spec.split("=", 1)
        for task in a.tasks.split(","):
            if (task == "rs-let-type") != any(Path(path).rglob("*.rs")):
                continue
            with tempfile.NamedTemporaryFile(suffix=".jsonl", delete=False) as f:
                sites_file = f.name
            cmd = [a.bin, "eval", "--task", task, "--limit", str(a.limit), "--threshold", "0", path]
            p = subprocess.run(cmd, capture_output=True, text=True,
                               env={**os.environ, "REFACTOR_EVAL_SITES": sites_file})
            if p.returncode != 0:
                sys.exit(f"{' '.join(cmd)} failed ({p.returncode}):\n{p.stderr}")
            summary = json.loads(p.stdout.strip().splitlines()[-1])
            n = 0
            for line in Path(sites_file).read_text().splitlines():
                if line.strip():
                    s = json.loads(line)
                    s["package"], s["task"] = name, task
                    s["ms_per_site"] = summary["ms_per_site"]
                    rows.append(s)
                    n += 1
            os.unlink(sites_file)
            print(f"{name} {task}: {n} sites, exact {summary['exact_match']}, "
                  f"{summary['ms_per_site']} ms/site", file=sys.stderr, flush=True)
    return rows


UNBOUND = "rejected: fill names"


def written(sites, cut, gate=True):
    """Fills written at `cut`: applied at threshold 0 and at least that confident.
    `gate=False`: as if the unbound-name check did not exist (its rejections count as
    applied), which is what the tool wrote before it."""
    w = [s for s in sites if s["confidence"] >= cut and (
        s["status"] == "applied" or not gate and s["status"].startswith(UNBOUND))]
    return len(w), sum(1 for s in w if s["exact"])


def lowest_stable_cut(sites, target, min_written=10):
    """The lowest cut at which written fills reach `target` precision and stay there at
    every higher cut that still writes `min_written` fills: precision is not monotonic
    in the cut, and the first cut that touches the target may be a lucky dip."""
    prec = [written(sites, c) for c in CUTS]
    ok = [w < min_written or r / w >= target for w, r in prec]
    for i, c in enumerate(CUTS):
        w, r = prec[i]
        if w and r / w >= target and all(ok[i:]):
            return c
    return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default="target/release/refactor")
    ap.add_argument("--pkg", action="append", default=[], help="NAME=PATH, repeatable")
    ap.add_argument("--tasks", default=",".join(TASKS))
    ap.add_argument("--limit", type=int, default=300)
    ap.add_argument("--out", help="write the site lines here")
    ap.add_argument("--sites", help="read site lines from here instead of running eval")
    ap.add_argument("--target", type=float, default=0.95)
    ap.add_argument("--cut", action="append", default=[],
                    help="CLASS=T: use this cut instead of calibrating one (to report held-out "
                         "numbers at the shipped thresholds)")
    a = ap.parse_args()
    if a.sites:
        rows = [json.loads(x) for x in Path(a.sites).read_text().splitlines() if x.strip()]
    else:
        rows = collect(a)
        if a.out:
            Path(a.out).write_text("".join(json.dumps(r) + "\n" for r in rows))

    by_class = defaultdict(list)
    for r in rows:
        by_class[klass(r)].append(r)
    print(f"| class | sites | cut for precision >= {a.target} | written (right) at the cut "
          f"| precision at the cut | written (right) at 0.8 | precision at 0.8 |")
    print("|---|---|---|---|---|---|---|")
    chosen = {}
    fixed = {k: float(v) for k, v in (c.rsplit("=", 1) for c in a.cut)}
    for k, sites in sorted(by_class.items()):
        cut = fixed[k] if k in fixed else lowest_stable_cut(sites, a.target)
        chosen[k] = cut
        w8, r8 = written(sites, 0.8)
        if cut is None:
            print(f"| {k} | {len(sites)} | none | – | – | {w8} ({r8}) | {r8 / max(w8, 1):.3f} |")
            continue
        w, r = written(sites, cut)
        print(f"| {k} | {len(sites)} | {cut} | {w} ({r}) | {r / w:.3f} | {w8} ({r8}) | {r8 / max(w8, 1):.3f} |")

    print()
    print("| package | task | sites | exact | ms/site | before: written (right) at 0.8, no name check "
          "| precision | 0.8 with the name check | precision | written (right) at the class cut "
          "| precision |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    groups = defaultdict(list)
    for r in rows:
        groups[(r["package"], r["task"])].append(r)

    def cell(w, r):
        return (f"{w} ({r})", f"{r / w:.3f}" if w else "–")

    for (pkg, task), sites in sorted(groups.items()):
        before = cell(*written(sites, 0.8, gate=False))
        gated = cell(*written(sites, 0.8))
        w = r = 0
        for s in sites:
            cut = chosen.get(klass(s))
            if cut is not None and s["status"] == "applied" and s["confidence"] >= cut:
                w += 1
                r += s["exact"]
        exact = sum(s["exact"] for s in sites) / len(sites)
        ms = sites[0].get("ms_per_site", "?")
        print(f"| {pkg} | {task} | {len(sites)} | {exact:.3f} | {ms} | {' | '.join(before)} "
              f"| {' | '.join(gated)} | {' | '.join(cell(w, r))} |")


if __name__ == "__main__":
    main()
