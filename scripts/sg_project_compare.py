#!/usr/bin/env python3
"""Runs the ast-grep project fixture (fixtures/sg-project) with ast-grep 0.51.1
and with refactor, and compares.

On one copy of the fixture: `ast-grep test`, then `ast-grep scan -U`. On
another: `refactor test`, then `refactor apply --write`. Both tests must
pass and the two trees must be identical byte for byte (and equal to
fixtures/sg-project-expected/). Then, on two more copies with the snapshot
folder removed, `ast-grep test -U` and `refactor test -U` must write the
same snapshot files.

It installs ast-grep itself into a private venv (or takes --ast-grep).
Not part of CI (network, a minute of work); run by hand:

    python3 scripts/sg_project_compare.py                      # target/release or target/debug
    python3 scripts/sg_project_compare.py --refactor PATH --ast-grep PATH --keep

Exit code 0 when both pass and every compared tree is identical.
"""
import argparse
import filecmp
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIXTURE = ROOT / "fixtures" / "sg-project"
EXPECTED = ROOT / "fixtures" / "sg-project-expected"
WORK = Path(os.environ.get("SG_PROJECT_WORK", "/tmp/refactor-sg-project"))
AST_GREP_VERSION = "0.51.1"
SNAPSHOTS = Path("rule-tests") / "__snapshots__"


def ast_grep():
    venv = WORK / "venv"
    exe = venv / "bin" / "ast-grep"
    if not exe.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(venv / "bin" / "pip"), "install", "-q",
                        f"ast-grep-cli=={AST_GREP_VERSION}"], check=True)
    return str(exe)


def default_refactor():
    for profile in ("release", "debug"):
        exe = ROOT / "target" / profile / "refactor"
        if exe.exists():
            return str(exe)
    return str(ROOT / "target" / "release" / "refactor")


def files_of(tree):
    return sorted(p.relative_to(tree) for p in tree.rglob("*") if p.is_file())


def differing(a, b):
    out = []
    for rel in sorted(set(files_of(a)) | set(files_of(b))):
        pa, pb = a / rel, b / rel
        if not pa.exists() or not pb.exists() or not filecmp.cmp(pa, pb, shallow=False):
            out.append(str(rel))
    return out


def fresh_copy(name, drop_snapshots=False):
    dest = WORK / "run" / name
    shutil.rmtree(dest, ignore_errors=True)
    shutil.copytree(FIXTURE, dest)
    if drop_snapshots:
        shutil.rmtree(dest / SNAPSHOTS)
    return dest


def run(cmd, cwd):
    r = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    tail = (r.stdout + r.stderr).strip().splitlines()[-3:]
    return {"command": " ".join(Path(cmd[0]).name if i == 0 else c for i, c in enumerate(cmd)),
            "exit": r.returncode, "tail": tail}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--refactor", default=default_refactor())
    ap.add_argument("--ast-grep", dest="sg", help="an ast-grep 0.51.1 binary (default: install one)")
    ap.add_argument("--keep", action="store_true", help="keep the work folder")
    args = ap.parse_args()
    refactor = str(Path(args.refactor).resolve())
    WORK.mkdir(parents=True, exist_ok=True)
    sg = args.sg or ast_grep()
    version = subprocess.run([sg, "--version"], capture_output=True, text=True).stdout.strip()
    ok = True
    report = {"ast_grep": version}

    a, b = fresh_copy("ast-grep"), fresh_copy("refactor")
    steps = [run([sg, "test"], a), run([sg, "scan", "-U"], a),
             run([refactor, "test"], b), run([refactor, "apply", "--write", "-q"], b)]
    report["steps"] = steps
    ok &= all(s["exit"] == 0 for s in steps)
    report["rewritten_trees_differ"] = differing(a, b)
    report["ast_grep_vs_expected_src"] = differing(a / "src", EXPECTED / "src")
    ok &= not report["rewritten_trees_differ"] and not report["ast_grep_vs_expected_src"]

    c, d = fresh_copy("ast-grep-U", True), fresh_copy("refactor-U", True)
    report["snapshot_steps"] = [run([sg, "test", "-U"], c), run([refactor, "test", "-U"], d)]
    report["snapshots_differ"] = differing(c / SNAPSHOTS, d / SNAPSHOTS)
    report["ast_grep_snapshots_vs_committed"] = differing(c / SNAPSHOTS, FIXTURE / SNAPSHOTS)
    ok &= all(s["exit"] == 0 for s in report["snapshot_steps"])
    ok &= not report["snapshots_differ"] and not report["ast_grep_snapshots_vs_committed"]

    print(json.dumps(report, indent=2))
    print("identical: both pass and every tree matches" if ok else "DIFFERENT: see above")
    if not args.keep:
        shutil.rmtree(WORK / "run", ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
