#!/usr/bin/env python3
"""Differential test: refactor vs ast-grep 0.51.1 on real code nobody here wrote.

For every rule in rules/ (and any extra --rule), copies each corpus twice,
runs `ast-grep scan --update-all` on one copy and `refactor apply --write`
on the other, and compares the trees byte for byte.

Corpora come from package registries only: sympy 1.13.3 (PyPI), a few
crates (crates.io, via `cargo vendor`), npm packages (`npm pack`), PyPI
source distributions and Debian packages (`apt-get download`), one corpus
per language (see CORPORA below). Each language's fixture rule
(fixtures/languages/<name>/rules/rule.yml) runs on its corpus too.
It installs ast-grep itself into a private venv. Not part of CI (network,
minutes of work); run by hand:

    python3 scripts/differential.py            # uses target/release/refactor
    python3 scripts/differential.py --keep     # keep the work folder

refactor runs with REFACTOR_CHECK_ITEMS=1: every file it settles from a
parse of only some top-level items is parsed whole as well, and a match
found there aborts (so the comparison also proves partial parsing sound on
these corpora).

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
# Crates that ship C and C++ sources (vendored libraries).
NATIVE_CRATES = {"libgit2-sys": "0.18.8+1.9.7", "onig_sys": "69.9.3", "libfuzzer-sys": "0.4.13"}


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


def deb(pkg):
    """A Debian package (this machine's release), unpacked; `apt-get download`."""
    dest = WORK / "deb" / "x" / pkg
    if not dest.exists():
        dl = WORK / "deb"
        dl.mkdir(parents=True, exist_ok=True)
        sh(["apt-get", "download", "-q", pkg], cwd=dl, stdout=subprocess.DEVNULL)
        debfile = next(dl.glob(f"{pkg}_*.deb"))
        dest.mkdir(parents=True)
        sh(["dpkg", "-x", str(debfile), str(dest)])
    return dest


def npm(spec):
    """An npm package tarball, unpacked; `npm pack`."""
    name = spec.rsplit("@", 1)[0].replace("@", "").replace("/", "-")
    dest = WORK / "npm-more" / "x" / name
    if not dest.exists():
        dl = WORK / "npm-more"
        dl.mkdir(parents=True, exist_ok=True)
        out = subprocess.run(["npm", "pack", "-q", spec], cwd=dl, check=True,
                             capture_output=True, text=True).stdout.split()[-1]
        dest.mkdir(parents=True)
        with tarfile.open(dl / out) as t:
            t.extractall(dest, filter="data")
    return dest


def sdist(spec):
    """A PyPI source distribution, unpacked; `pip download --no-binary`."""
    name, version = spec.split("==")
    dest = WORK / "pypi-more" / "x" / name
    if not dest.exists():
        dl = WORK / "pypi-more"
        dl.mkdir(parents=True, exist_ok=True)
        sh([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--no-binary", ":all:",
            "-d", str(dl), spec])
        archive = next(dl.glob(f"{name.replace('-', '[-_]')}-{version}.tar.gz"))
        dest.mkdir(parents=True)
        with tarfile.open(archive) as t:
            t.extractall(dest, filter="data")
    return dest


def native_crates():
    """C and C++ sources vendored by -sys crates; `cargo vendor`."""
    dest = WORK / "native-crates"
    if not dest.exists():
        proj = WORK / "native-proj"
        (proj / "src").mkdir(parents=True, exist_ok=True)
        (proj / "src" / "lib.rs").write_text("")
        deps = "\n".join(f'{k} = "={v}"' for k, v in NATIVE_CRATES.items())
        (proj / "Cargo.toml").write_text(
            f'[package]\nname = "v"\nversion = "0.0.0"\nedition = "2021"\n[dependencies]\n{deps}\n'
        )
        sh(["cargo", "vendor", "-q", str(dest)], cwd=proj, stdout=subprocess.DEVNULL)
    return dest


def gather(lang, sources):
    """The corpus of `lang`: files with one of the extensions, copied from each
    (root, subfolder, extensions) source, paths kept."""
    dest = WORK / "corpus" / lang
    if dest.exists():
        return dest
    for root, sub, exts in sources:
        base = root / sub
        for f in sorted(base.rglob("*")):
            if f.is_file() and f.name.endswith(exts) and not any(p.startswith(".") for p in f.relative_to(base).parts):
                out = dest / root.name / sub / f.relative_to(base)
                out.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(f, out)
    if not dest.exists():
        raise SystemExit(f"no {lang} files found in {sources}")
    return dest


def corpus_java():
    dest = WORK / "corpus" / "java"
    if dest.exists():
        return dest
    src = next((deb("openjdk-17-source")).rglob("src.zip"))
    with zipfile.ZipFile(src) as z:
        for n in z.namelist():
            if n.startswith("java.base/java/util/") and n.endswith(".java"):
                z.extract(n, dest)
    return dest


PYGMENTS = "pygments==2.18.0"

# language → how to build its corpus (called only when a rule needs it).
CORPORA = {
    "python": lambda: corpus_python(),
    "rust": lambda: corpus_rust(),
    "javascript": lambda: corpus_js(),
    "typescript": lambda: corpus_js(),
    "tsx": lambda: gather("tsx", [(npm("expo-modules-core@1.12.26"), ".", (".tsx",)),
                                  (npm("react-native-svg@15.2.0"), ".", (".tsx",))]),
    "go": lambda: gather("go", [(deb("golang-1.19-src"), f"usr/share/go-1.19/src/{p}", (".go",))
                                for p in ("strings", "bytes", "fmt", "net/http", "encoding/json", "os", "time")]),
    "java": corpus_java,
    "c": lambda: gather("c", [(native_crates(), "libgit2-sys/libgit2/src", (".c",)),
                              (native_crates(), "onig_sys/oniguruma/src", (".c",))]),
    "cpp": lambda: gather("cpp", [(native_crates(), "libfuzzer-sys/libfuzzer", (".cpp",)),
                                  (deb("googletest"), "usr/src/googletest", (".cc",))]),
    "bash": lambda: gather("bash", [(npm("bats@1.11.0"), ".", (".bash", ".sh")),
                                    (native_crates(), ".", (".sh",))]),
    "csharp": lambda: gather("csharp", [(sdist("pythonnet==3.0.3"), ".", (".cs",))]),
    "css": lambda: gather("css", [(npm("bootstrap@5.3.3"), ".", (".css", ".scss"))]),
    "dart": lambda: gather("dart", [(sdist(PYGMENTS), ".", (".dart",)),
                                    (npm("tree-sitter-dart@1.0.0"), ".", (".dart",))]),
    "elixir": lambda: gather("elixir", [(sdist(PYGMENTS), ".", (".ex", ".exs"))]),
    "haskell": lambda: gather("haskell", [(sdist(PYGMENTS), ".", (".hs",))]),
    "hcl": lambda: gather("hcl", [(deb("golang-github-hashicorp-hcl-v2-dev"), ".", (".hcl", ".tf"))]),
    "html": lambda: gather("html", [(deb("git-doc"), ".", (".html",))]),
    "json": lambda: gather("json", [(npm("@openzeppelin/contracts@5.0.2"), ".", (".json",)),
                                    (npm("bootstrap@5.3.3"), ".", (".json",))]),
    "kotlin": lambda: gather("kotlin", [(npm("expo-modules-core@1.12.26"), ".", (".kt",))]),
    "lua": lambda: gather("lua", [(deb("neovim-runtime"), ".", (".lua",)),
                                  (deb("lua-penlight"), ".", (".lua",))]),
    "markdown": lambda: gather("markdown", [(corpus_rust(), ".", (".md",)),
                                            (npm("bootstrap@5.3.3"), ".", (".md",))]),
    "nix": lambda: gather("nix", [(sdist(PYGMENTS), ".", (".nix",)),
                                  (npm("tree-sitter-nix@0.0.2"), ".", (".nix",))]),
    "php": lambda: gather("php", [(deb("php-symfony-console"), ".", (".php",))]),
    "ruby": lambda: gather("ruby", [(deb("ruby-rack"), ".", (".rb",))]),
    "scala": lambda: gather("scala", [(sdist(PYGMENTS), ".", (".scala",))]),
    "solidity": lambda: gather("solidity", [(npm("@openzeppelin/contracts@5.0.2"), ".", (".sol",))]),
    "swift": lambda: gather("swift", [(npm("expo-modules-core@1.12.26"), ".", (".swift",))]),
    "yaml": lambda: gather("yaml", [(deb("ansible-core"), ".", (".yml", ".yaml"))]),
}


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
    sg = subprocess.run(sg_cmd + ["--update-all", "."], cwd=a, capture_output=True, text=True)
    r = subprocess.run(rf_cmd + ["--write", "."], cwd=b, capture_output=True, text=True)
    if sg.returncode not in (0, 1) or r.returncode == 2:
        # A rule one tool refuses: both must refuse it.
        return {"corpus": corpus.name, "ast_grep_exit": sg.returncode, "refactor_exit": r.returncode,
                "differing_files": 0 if (sg.returncode not in (0, 1)) == (r.returncode == 2) else 1,
                "intended_differences": [],
                **({} if (sg.returncode not in (0, 1)) == (r.returncode == 2)
                   else {"first_differences": ["only one tool refused the rule"]})}
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
    ap.add_argument("--lang", action="append", default=[],
                    help="only rules of this language (repeatable); projects are skipped")
    args = ap.parse_args()
    args.refactor = str(Path(args.refactor).resolve())
    # refactor's self-check of partial parsing: every file it settles from a
    # parse of some items is parsed whole too, and a match there aborts.
    os.environ.setdefault("REFACTOR_CHECK_ITEMS", "1")
    WORK.mkdir(parents=True, exist_ok=True)
    sg = ast_grep()
    corpora = {}

    def corpus_of(lang):
        if lang not in corpora and lang in CORPORA:
            corpora[lang] = CORPORA[lang]()
        return corpora.get(lang)

    rules = (sorted((ROOT / "rules").rglob("*.yml"))
             + sorted((ROOT / "scripts" / "differential-rules").glob("*.yml"))
             + sorted((ROOT / "fixtures" / "languages").glob("*/rules/rule.yml"))
             + [Path(r).resolve() for r in args.rule])
    rules = [r for r in rules if not r.name.endswith((".test.yml", "-test.yml"))]
    results = []
    ok = True
    for rule in rules:
        text = rule.read_text()
        if "$?" in text:
            continue  # hole rules have no ast-grep equivalent
        lang = next((l.split(":", 1)[1].strip() for l in text.splitlines() if l.startswith("language:")), None)
        if args.lang and (lang or "").lower() not in args.lang:
            continue
        corpus = corpus_of(lang.lower() if lang else "")
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
    projects = [] if args.lang else sorted((ROOT / "scripts" / "differential-projects").glob("*/sgconfig.yml"))
    for proj in projects:
        row = run_both(corpus_of("python"), [sg, "scan", "-c", str(proj)],
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
