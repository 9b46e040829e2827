#!/usr/bin/env python3
"""The held-out `refactor eval` table of docs/eval.md, and its calibration table.

    python3 scripts/eval_heldout.py --bin target/debug/refactor --src /tmp/evalsrc [--model DIR] [--out F.json]

--src holds the reserved packages (never in model/corpus.lock), fetched as docs/eval.md says:
    pip download --no-deps rich==13.9.4 starlette httpx -d whl && for w in whl/*.whl; do unzip -q -o $w -d src; done
    mkdir rs && cp -r ~/.cargo/registry/src/*/serde_json-1.0.154 rs/
Each row runs `refactor eval --task T --decode {parallel,sequential} --limit 100 PATH` and
keeps its JSON; every site line (REFACTOR_EVAL_SITES) feeds the calibration table: fills at
confidence >= c, and how many of them equal the original code.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROWS = [
    ("starlette", "py-return-type", "src/starlette"),
    ("rich", "py-return-type", "src/rich"),
    ("starlette", "py-param-type", "src/starlette"),
    ("rich", "py-param-type", "src/rich"),
    ("starlette", "py-kwarg-name", "src/starlette"),
    ("rich", "py-kwarg-name", "src/rich"),
    ("httpx", "py-kwarg-name", "src/httpx"),
    ("starlette", "py-local-name", "src/starlette"),
    ("rich", "py-local-name", "src/rich"),
    ("serde_json 1.0.154", "rs-let-type", "rs/serde_json-1.0.154"),
]
MODES = ("parallel", "sequential")
CUTS = (0.3, 0.5, 0.7, 0.8, 0.85, 0.9, 0.95)


def run(binary, model, task, mode, path):
    with tempfile.NamedTemporaryFile(suffix=".jsonl", delete=False) as f:
        sites_file = f.name
    cmd = [binary, "eval", "--task", task, "--decode", mode, "--limit", "100", path]
    if model:
        cmd[2:2] = ["--model", model]
    p = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "REFACTOR_EVAL_SITES": sites_file})
    if p.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed ({p.returncode}):\n{p.stderr}")
    summary = json.loads(p.stdout.strip().splitlines()[-1])
    sites = [json.loads(line) for line in Path(sites_file).read_text().splitlines() if line.strip()]
    os.unlink(sites_file)
    return summary, sites


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default="target/debug/refactor")
    ap.add_argument("--src", required=True)
    ap.add_argument("--model", default="")
    ap.add_argument("--out", default="")
    a = ap.parse_args()
    res, all_sites = [], []
    for name, task, rel in ROWS:
        row = {"code": name, "task": task}
        for mode in MODES:
            s, sites = run(a.bin, a.model, task, mode, str(Path(a.src) / rel))
            row[mode] = s
            all_sites += sites
            print(f"{name} {task} {mode}: exact {s['exact_match']:.2f} applied {s['applied']:.2f} "
                  f"precision {s['applied_precision']} passes {s['forward_passes']}", file=sys.stderr, flush=True)
        res.append(row)

    def pair(key, fmt):
        return " / ".join("–" if r is None else fmt.format(r) for r in (row[m].get(key) for m in MODES))

    print("| code | task | sites | exact parallel | exact sequential | applied par / seq | applied precision par / seq "
          "| most-frequent baseline (answer) | copy baseline | forward passes par / seq | tokens/pass par / seq "
          "| seconds par / seq |")
    print("|" + "---|" * 12)
    for row in res:
        p, s = row["parallel"], row["sequential"]
        print(f"| {row['code']} | {row['task']} | {p['sites']} | {p['exact_match']:.2f} | {s['exact_match']:.2f} "
              f"| {pair('applied', '{:.2f}')} | {pair('applied_precision', '{:.2f}')} "
              f"| {p['baseline_most_frequent']:.2f} (`{p['most_frequent_answer']}`) | {p['baseline_copy']:.2f} "
              f"| {pair('forward_passes', '{}')} | {pair('tokens_per_pass', '{:.1f}')} | {pair('seconds', '{:.1f}')} |")
    print()
    print(f"Calibration over {len(all_sites)} site evaluations:")
    print()
    print("| confidence ≥ | " + " | ".join(str(c) for c in CUTS) + " |")
    print("|---|" + "---|" * len(CUTS))
    counts = [[x for x in all_sites if (x.get("confidence") or 0) >= c] for c in CUTS]
    print("| fills (right) | " + " | ".join(f"{len(h):,} ({sum(bool(x['exact']) for x in h):,})" for h in counts) + " |")
    print("| precision | " + " | ".join(f"{sum(bool(x['exact']) for x in h) / len(h):.2f}" if h else "–"
                                        for h in counts) + " |")
    if a.out:
        Path(a.out).write_text(json.dumps({"rows": res, "sites": all_sites}, indent=1))


if __name__ == "__main__":
    main()
