#!/usr/bin/env python3
"""Differential test: refactor vs ast-grep 0.51.1 on real code nobody here wrote.

For every rule in rules/ (and any extra --rule), copies each corpus twice,
runs `ast-grep scan --update-all` on one copy and `refactor apply --write`
on the other, and compares the trees byte for byte.

Corpora come from package registries only: sympy 1.13.3 (PyPI), a few
crates (crates.io, via `cargo vendor`) and npm packages (`npm pack`).
It installs ast-grep itself into a private venv. Not part of CI (network,
minutes of work); run by hand:

    python3 scripts/differential.py            # uses target/release/refactor
    python3 scripts/differential.py --keep     # keep the work folder

Exit code 0 when every rule gives identical files.
"""
import argparse
import filecmp
import json
import os
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORK = Path(os.environ.get("DIFF_WORK", "/tmp/refactor-differential"))
AST_GREP_VERSION = "0.51.1"
CRATES = {"regex-syntax": "0.8.5", "semver": "1.0.26", "itertools": "0.14.0", "toml_edit": "0.22.27"}
NPM = ["express@4.21.2", "typescript@5.6.3"]


def sh(cmd, **kw):
    return subprocess.run(cmd, check=True, **kw)


def ast_grep():
    venv = WORK / "venv"
    exe = venv / "bin" / "ast-grep"
    if not exe.exists():
        sh([sys.executable, "-m", "venv", str(venv)])
        sh([str(venv / "bin" / "pip"), "install", "-q", f"ast-grep-cli=={AST_GREP_VERSION}"])
    return str(exe)


def corpus_python():
    dest = WORK / "corpus" / "sympy"
    if dest.exists():
        return dest
    dl = WORK / "dl"
    dl.mkdir(parents=True, exist_ok=True)
    sh([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "-d", str(dl), "sympy==1.13.3"])
    whl = next(dl.glob("sympy-1.13.3-*.whl"))
    with zipfile.ZipFile(whl) as z:
        for n in z.namelist():
            if n.endswith(".py") and n.startswith("sympy/"):
                z.extract(n, dest)
    return dest


def corpus_rust():
    dest = WORK / "corpus" / "crates"
    if dest.exists():
        return dest
    proj = WORK / "vendor-proj"
    (proj / "src").mkdir(parents=True, exist_ok=True)
    (proj / "src" / "lib.rs").write_text("")
    deps = "\n".join(f'{k} = "={v}"' for k, v in CRATES.items())
    (proj / "Cargo.toml").write_text(
        f'[package]\nname = "v"\nversion = "0.0.0"\nedition = "2021"\n[dependencies]\n{deps}\n'
    )
    sh(["cargo", "vendor", "-q", str(WORK / "vendor")], cwd=proj, stdout=subprocess.DEVNULL)
    dest.mkdir(parents=True)
    for name in CRATES:
        src = WORK / "vendor" / name
        shutil.copytree(src, dest / name, ignore=shutil.ignore_patterns(".*"))
    return dest


def corpus_js():
    dest = WORK / "corpus" / "npm"
    if dest.exists():
        return dest
    dl = WORK / "npm-dl"
    dl.mkdir(parents=True, exist_ok=True)
    for pkg in NPM:
        sh(["npm", "pack", "-q", pkg], cwd=dl, stdout=subprocess.DEVNULL)
    dest.mkdir(parents=True)
    for tgz in sorted(dl.glob("*.tgz")):
        with tarfile.open(tgz) as t:
            members = [m for m in t.getmembers() if m.name.endswith((".js", ".ts")) and m.isfile()]
            # typescript ships huge bundled .js files; keep its .d.ts and lib files only
            t.extractall(dest / tgz.stem, members=members, filter="data")
    return dest


def files_of(tree):
    return sorted(p.relative_to(tree) for p in tree.rglob("*") if p.is_file())


def compare(a, b):
    diffs = []
    for rel in sorted(set(files_of(a)) | set(files_of(b))):
        pa, pb = a / rel, b / rel
        if not pa.exists() or not pb.exists() or not filecmp.cmp(pa, pb, shallow=False):
            diffs.append(str(rel))
    return diffs


def changed(orig, tree):
    return sum(1 for rel in files_of(tree) if not filecmp.cmp(orig / rel, tree / rel, shallow=False))


def run_both(corpus, sg_cmd, rf_cmd):
    """Runs ast-grep (`--update-all`) and refactor (`--write`) on two copies
    of `corpus` and compares the trees. Intended differences: refactor never
    writes a file whose rewrite no longer parses, and skips files over
    --max-filesize (8 MiB); both are named on its stderr."""
    a = WORK / "run" / "sg"
    b = WORK / "run" / "refactor"
    for d in (a, b):
        shutil.rmtree(d, ignore_errors=True)
        shutil.copytree(corpus, d)
    sh(sg_cmd + ["--update-all", "."], cwd=a, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    r = subprocess.run(rf_cmd + ["--write", "."], cwd=b, capture_output=True, text=True)
    if r.returncode != 0:
        print(r.stderr, file=sys.stderr)
    intended = set()
    for line in r.stderr.splitlines():
        if line.startswith("warning: ") and "introduces parse errors" in line:
            intended.add(line[len("warning: "):].split(": ")[0])
        if line.startswith("note: skipped "):
            intended.add(line[len("note: skipped "):].split(": ")[0].removeprefix("./"))
    all_diffs = compare(a, b)
    diffs = [d for d in all_diffs if d not in intended]
    row = {
        "corpus": corpus.name,
        "files": len(files_of(corpus)),
        "changed_by_ast_grep": changed(corpus, a),
        "changed_by_refactor": changed(corpus, b),
        "differing_files": len(diffs),
        "intended_differences": sorted(set(all_diffs) & intended),
    }
    if diffs:
        row["first_differences"] = diffs[:5]
    return row


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--refactor", default=str(ROOT / "target" / "release" / "refactor"))
    ap.add_argument("--rule", action="append", default=[])
    ap.add_argument("--keep", action="store_true")
    args = ap.parse_args()
    args.refactor = str(Path(args.refactor).resolve())
    WORK.mkdir(parents=True, exist_ok=True)
    sg = ast_grep()
    corpora = {
        "python": corpus_python(),
        "rust": corpus_rust(),
        "javascript": corpus_js(),
        "typescript": corpus_js(),
    }
    rules = (sorted((ROOT / "rules").rglob("*.yml"))
             + sorted((ROOT / "scripts" / "differential-rules").glob("*.yml"))
             + [Path(r).resolve() for r in args.rule])
    rules = [r for r in rules if not r.name.endswith((".test.yml", "-test.yml"))]
    results = []
    ok = True
    for rule in rules:
        text = rule.read_text()
        if "$?" in text:
            continue  # hole rules have no ast-grep equivalent
        lang = next((l.split(":", 1)[1].strip() for l in text.splitlines() if l.startswith("language:")), None)
        corpus = corpora.get(lang.lower() if lang else "")
        if corpus is None:
            results.append({"rule": os.path.relpath(rule, ROOT), "skipped": f"no corpus for {lang}"})
            continue
        row = run_both(corpus, [sg, "scan", "--rule", str(rule)],
                       [args.refactor, "apply", "--rule", str(rule)])
        row = {"rule": os.path.relpath(rule, ROOT), **row}
        diffs = row.get("first_differences")
        if diffs:
            ok = False
        results.append(row)
        print(json.dumps(row), flush=True)
    # ast-grep projects (sgconfig.yml with global utils): both tools run the
    # whole project on the corpus of its rules' language.
    for proj in sorted((ROOT / "scripts" / "differential-projects").glob("*/sgconfig.yml")):
        row = run_both(corpora["python"], [sg, "scan", "-c", str(proj)],
                       [args.refactor, "apply", "-c", str(proj)])
        row = {"project": os.path.relpath(proj.parent, ROOT), **row}
        diffs = row.get("first_differences")
        if diffs:
            ok = False
        results.append(row)
        print(json.dumps(row), flush=True)
    same = sum(1 for r in results if r.get("differing_files") == 0)
    total = sum(1 for r in results if "differing_files" in r)
    print(f"{same} of {total} rules and projects give identical files to ast-grep {AST_GREP_VERSION}")
    if not args.keep:
        shutil.rmtree(WORK / "run", ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
