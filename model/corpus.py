#!/usr/bin/env python3
"""Build the training corpus from pinned packages on public registries.

    python model/corpus.py download   # pip download / cargo vendor / npm pack into model/data/raw
    python model/corpus.py extract    # sources -> model/data/{train,val}.jsonl (deduplicated)
    python model/corpus.py lock       # after the tokenizer exists: write model/corpus.lock

Packages reserved for evaluation by the project are excluded entirely, including
copies vendored inside other packages (any path component naming them).
The validation split is by package (VAL_PACKAGES).
"""
import hashlib
import io
import json
import os
import re
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
DATA = HERE / "data"
RAW = DATA / "raw"

EXCLUDED = {"sympy", "rich", "starlette", "httpx", "attrs", "attr", "lodash", "rxjs",
            "regex", "serde_json", "clap", "tokio"}

# PyPI: favour typed, modern Python.  name==version
PYPI = """
mypy==1.19.1 typing_extensions==4.15.0 pydantic==2.12.5 fastapi==0.128.0 typer==0.21.1
click==8.3.1 trio==0.32.0 anyio==4.12.1 requests==2.32.5 urllib3==2.6.3 jinja2==3.1.6
werkzeug==3.1.5 flask==3.1.2 sqlalchemy==2.0.45 alembic==1.18.1 pygments==2.19.2
packaging==25.0 pluggy==1.6.0 httpcore==1.0.9 h11==0.16.0 tomlkit==0.14.0 cattrs==25.3.0
marshmallow==4.2.0 msgspec==0.20.0 beartype==0.22.9 returns==0.26.0 strawberry-graphql==0.288.2
psygnal==0.15.1 black==25.12.0 isort==7.0.0 libcst==1.8.6 jedi==0.19.2 parso==0.8.5
prompt_toolkit==3.0.52 textual==7.2.0 structlog==25.5.0 loguru==0.7.3 tenacity==9.1.2
more-itertools==10.8.0 hypothesis==6.150.0 pytest==9.0.2 coverage==7.13.1 virtualenv==20.36.1
platformdirs==4.5.1 filelock==3.20.3 nox==2025.11.12 build==1.4.0 keyring==25.7.0
fsspec==2025.12.0 mkdocs==1.6.1 websockets==16.0 uvicorn==0.40.0 sanic==25.12.0
aiosqlite==0.22.1 sqlmodel==0.0.31 openai==2.15.0 anthropic==0.76.0 langchain-core==1.2.7
mashumaro==3.17 pydantic-settings==2.12.0 dataclasses-json==0.6.7 pyright==1.1.408
arrow==1.4.0 pendulum==3.1.0 polyfactory==3.2.0 litestar==2.19.0 trio-typing==0.10.0
griffe==1.15.0 mkdocstrings==1.0.0 ruamel.yaml==0.19.1 tomli==2.4.0 pathspec==1.0.3
"""

# Typed stubs (annotation sources: return and parameter types only, see data.py).  Typeshed
# stub packages from PyPI, name==version; none of them may stub a reserved package
# (test_corpus.py checks; types-regex and types-attrs exist and must stay out).  The typeshed
# copy inside the mypy wheel (mypy/typeshed/) is a package of its own, "typeshed" (STUB_TYPESHED).
STUBS = """
types-requests==2.33.0.20261030 types-setuptools==84.2.0.20261104 types-six==1.17.0.20261008
types-python-dateutil==2.9.0.20261104 types-protobuf==7.35.1.20260906 types-docutils==0.23.0.20261107
types-psutil==7.2.2.20261111 types-toml==0.10.8.20260518 types-simplejson==4.2.0.20261104
types-paramiko==5.1.0.20261030 types-cachetools==7.0.0.20260713 types-tqdm==4.70.0.20261106
types-jsonschema==4.26.0.20261006 types-mock==5.2.0.20260518 types-pytz==2026.6.0.20261031
types-colorama==0.4.15.20260508 types-tabulate==0.10.0.20261006 types-html5lib==1.1.11.20260518
types-openpyxl==3.1.5.20261017 types-networkx==3.6.1.20261114 types-shapely==2.1.0.20261030
types-pexpect==4.9.0.20260518 types-boltons==26.1.0.20261021 types-greenlet==3.5.0.20260518
types-pyserial==3.5.0.20260712 types-croniter==6.2.4.20261006 types-pycurl==7.49.0.20261030
types-oauthlib==4.0.0.20261018 types-ldap3==2.9.13.20260827 types-aws-xray-sdk==2.15.0.20260518
"""
STUB_TYPESHED = ("mypy", "mypy/typeshed/")  # (PyPI package whose wheel holds it, member prefix)

# crates via `cargo vendor` of a scratch project (transitive deps come along).  name=req is a
# semver requirement, name==x.y.z exact (the validation crates, so the held-out sites stay the
# ones the shipped model was evaluated on); model/corpus.cargo.lock, the scratch project's
# Cargo.lock saved on the first vendor, pins every crate from then on.  The last line adds
# typed Rust (signatures, generics, trait-heavy APIs) for model E.
CRATES = """
anyhow=1 thiserror=2 serde=1 syn=2 rayon=1 itertools=0.14 ignore==0.4.35 walkdir==2.5.1 similar==2.7.0
indicatif==0.18.6 git2=0.20 tokenizers=0.21 tract-onnx=0.23 ndarray=0.16 hashbrown=0.16
indexmap=2 bytes=1 log=0.4 tree-sitter=0.25 serde_yaml=0.9 smallvec=1 memchr=2 globset=0.4
tempfile=3
chrono=0.4 url=2 petgraph=0.8 toml=0.9 nom=8 uuid=1 semver=1 bitflags=2
"""

NPM = """
zod@3.25.76 hono@4.11.4 immer@10.2.0 axios@1.13.2 express@5.2.1 commander@14.0.2
yargs@18.0.0 ts-pattern@5.9.0 @trpc/server@11.8.1 redux@5.0.1 @reduxjs/toolkit@2.11.2
"""

# held out for validation/evaluation (by package)
VAL_PACKAGES = {"typer", "anyio", "structlog", "tenacity", "litestar", "walkdir", "ignore",
                "similar", "indicatif", "zod"}

EXTS = {".py": "python", ".pyi": "python", ".rs": "rust", ".js": "javascript",
        ".mjs": "javascript", ".ts": "typescript", ".tsx": "typescript", ".mts": "typescript"}
MAX_FILE = 200_000
CAP = {"pypi": 2_000_000, "crates": 1_000_000, "npm": 1_000_000}  # bytes per package
STUB_CAP = {"typeshed": 4_000_000}  # bytes; other stub packages get CAP["pypi"]


def run(cmd, **kw):
    print("+", " ".join(cmd), flush=True)
    return subprocess.run(cmd, check=True, **kw)


def reserved(name):
    """True if a package name is, or stubs, a package reserved for evaluation
    (types-regex, regex-stubs, serde_json, regex-syntax, tokio-util, ...)."""
    n = canon(name)
    if n.startswith("types-"):
        n = n[len("types-"):]
    for suf in ("-stubs", "-types"):
        if n.endswith(suf):
            n = n[: -len(suf)]
    return n in RESERVED or n.startswith(tuple(r + "-" for r in ("clap", "tokio", "regex", "serde-json")))


def crate_dep(c):
    name, req = c.split("=", 1)
    return f'{name} = "{"=" + req[1:] if req.startswith("=") else req}"'


def download(only_pypi=False):
    (RAW / "pypi").mkdir(parents=True, exist_ok=True)
    specs = PYPI.split() + STUBS.split()
    for s in specs:
        assert not reserved(s.split("==")[0]), s
    def have(name):
        return any(canon(p.name).startswith(canon(name) + "-") for p in (RAW / "pypi").iterdir())
    todo = [s for s in specs if not have(s.split("==")[0])]
    if todo:  # one pip call for all (fast); the loop below retries what it did not fetch
        try:
            run([sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", str(RAW / "pypi")] + todo)
        except subprocess.CalledProcessError:
            print("WARN: batch download failed, one by one", flush=True)
    for s in todo:
        name = s.split("==")[0]
        if have(name):
            continue
        for spec in (s, name):  # pinned first; the lock records what was fetched
            try:
                run([sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", str(RAW / "pypi"), spec])
                break
            except subprocess.CalledProcessError:
                print("WARN: failed", spec, flush=True)
    if only_pypi:
        return
    # crates
    scratch = RAW / "cargo"
    (scratch / "src").mkdir(parents=True, exist_ok=True)
    (scratch / "src" / "lib.rs").write_text("")
    deps = "\n".join(crate_dep(c) for c in CRATES.split())
    toml = f'[package]\nname = "corpus-scratch"\nversion = "0.0.0"\nedition = "2021"\n\n[dependencies]\n{deps}\n'
    stale = not (scratch / "Cargo.toml").exists() or (scratch / "Cargo.toml").read_text() != toml
    (scratch / "Cargo.toml").write_text(toml)
    pinned = HERE / "corpus.cargo.lock"
    if pinned.exists():
        (scratch / "Cargo.lock").write_bytes(pinned.read_bytes())
    if stale or not (scratch / "vendor").exists():
        if (scratch / "vendor").exists():
            import shutil
            shutil.rmtree(scratch / "vendor")
        run(["cargo", "vendor", "--versioned-dirs", "vendor"], cwd=scratch, stdout=subprocess.DEVNULL)
        pinned.write_bytes((scratch / "Cargo.lock").read_bytes())
    (RAW / "npm").mkdir(parents=True, exist_ok=True)
    for s in NPM.split():
        for spec in (s, s.rsplit("@", 1)[0]):
            try:
                run(["npm", "pack", "--silent", spec], cwd=RAW / "npm", stdout=subprocess.DEVNULL)
                break
            except subprocess.CalledProcessError:
                print("WARN: failed", spec, flush=True)


def canon(name):
    return re.sub(r"[-_.]+", "-", name).lower()


RESERVED = {canon(x) for x in EXCLUDED}


def bad_path(path):
    parts = re.split(r"[/\\]", path)
    for p in parts:
        stem = p.split(".")[0].lower()
        if stem in EXCLUDED or stem.endswith("-stubs") and reserved(stem) or p in ("_vendor", "vendor", "vendored", "node_modules"):
            return True
    return False


def keep_text(text):
    if not text.strip():
        return False
    lines = text.count("\n") + 1
    if len(text) / lines > 150:  # minified / generated blobs
        return False
    return True


def iter_archive(path):
    """Yield (member_path, bytes) for source files in a wheel/sdist/tgz."""
    if path.suffix in (".whl", ".zip"):
        with zipfile.ZipFile(path) as z:
            for info in z.infolist():
                if info.file_size <= MAX_FILE and Path(info.filename).suffix in EXTS:
                    yield info.filename, z.read(info)
    else:
        with tarfile.open(path) as t:
            for m in t:
                if m.isfile() and m.size <= MAX_FILE and Path(m.name).suffix in EXTS:
                    yield m.name, t.extractfile(m).read()


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def packages():
    """Yield (ecosystem, name, version, iterator of (path, bytes), sha256 of what was fetched).

    The typeshed copy inside the mypy wheel is yielded as a package of its own, "typeshed"
    (same version and hash as mypy), and left out of mypy's."""
    pkg, prefix = STUB_TYPESHED
    for p in sorted((RAW / "pypi").iterdir()):
        m = re.match(r"([A-Za-z0-9_.]+?)-(\d[^-]*?)(-|\.tar\.gz|\.zip)", p.name)
        name, ver, sha = canon(m.group(1)), m.group(2), sha256(p)
        if name == pkg:
            yield "pypi", name, ver, (x for x in iter_archive(p) if prefix not in x[0]), sha
            yield "pypi", "typeshed", ver, (x for x in iter_archive(p) if prefix in x[0]), sha
        else:
            yield "pypi", name, ver, iter_archive(p), sha
    vend = RAW / "cargo" / "vendor"
    for d in sorted(vend.iterdir()):
        m = re.match(r"(.+?)-(\d+\.\d+\.\d+.*)$", d.name)  # lazy: toml-0.9.12+spec-1.1.0
        name, ver = m.group(1), m.group(2)
        try:
            sha = json.loads((d / ".cargo-checksum.json").read_text())["package"]
        except (OSError, KeyError, ValueError):
            sha = "-"

        def files(d=d):
            for f in sorted(d.rglob("*")):
                if f.is_file() and f.suffix in EXTS and f.stat().st_size <= MAX_FILE:
                    yield str(f.relative_to(d)), f.read_bytes()
        yield "crates", name, ver, files(), sha
    for p in sorted((RAW / "npm").glob("*.tgz")):
        m = re.match(r"(.+)-(\d+\.\d+\.\d+.*)\.tgz$", p.name)
        yield "npm", m.group(1), m.group(2), iter_archive(p), sha256(p)


def is_stub_package(eco, name):
    return eco == "pypi" and (name == "typeshed" or name.startswith("types-") or name.endswith("-stubs"))


def crate_excluded(name):
    if name in EXCLUDED or name.startswith(("clap", "tokio", "regex", "serde_json")):
        return True
    return name.startswith(("windows", "winapi", "wasi", "js-sys", "web-sys", "libgit2", "linux-raw", "libc"))


def extract():
    seen = set()
    out = {"train": open(DATA / "train.jsonl", "w"), "val": open(DATA / "val.jsonl", "w")}
    stats = []
    for eco, name, ver, files, sha in packages():
        short = name.split("-")[-1] if eco == "npm" else name
        if name in EXCLUDED or short in EXCLUDED or reserved(name) or (eco == "crates" and crate_excluded(name)):
            print("skip excluded", eco, name)
            continue
        split = "val" if name in VAL_PACKAGES else "train"
        n = nbytes = 0
        cap = STUB_CAP.get(name, CAP[eco])
        stub = is_stub_package(eco, name)
        # deterministic pseudo-random file order, then take files up to the package cap
        files = sorted(files, key=lambda pd: hashlib.sha1(pd[0].encode()).hexdigest())
        for path, data in files:
            if nbytes + len(data) > cap:
                continue
            if bad_path(path) or "/test" in path and eco == "npm":
                continue
            if stub and not path.endswith(".pyi"):  # stub packages: the stubs only
                continue
            try:
                text = data.decode("utf-8")
            except UnicodeDecodeError:
                continue
            if not keep_text(text):
                continue
            h = hashlib.sha1(text.encode()).hexdigest()
            if h in seen:
                continue
            seen.add(h)
            lang = EXTS[Path(path).suffix]
            out[split].write(json.dumps({"pkg": f"{eco}:{name}", "version": ver, "path": path,
                                         "lang": lang, "text": text}) + "\n")
            n += 1
            nbytes += len(data)
        stats.append({"ecosystem": eco, "name": name, "version": ver, "split": split,
                      "files": n, "bytes": nbytes, "sha256": sha})
        print(f"{eco:6} {name:28} {ver:12} {split:5} files={n:5} bytes={nbytes}", flush=True)
    for f in out.values():
        f.close()
    (DATA / "packages.json").write_text(json.dumps(stats, indent=1))
    tot = sum(s["bytes"] for s in stats)
    print(f"total {tot/1e6:.1f} MB in {sum(s['files'] for s in stats)} files")


def lock():
    from tokenizers import Tokenizer
    tok = Tokenizer.from_file(str(HERE / "default" / "tokenizer.json"))
    stats = json.loads((DATA / "packages.json").read_text())
    counts = {}  # (pkg, version) -> tokens: two versions of one crate are two packages

    def count(batch):
        for r, e in zip(batch, tok.encode_batch([b["text"] for b in batch], add_special_tokens=False)):
            counts[(r["pkg"], r["version"])] = counts.get((r["pkg"], r["version"]), 0) + len(e.ids)

    for split in ("train", "val"):
        with open(DATA / f"{split}.jsonl") as f:
            batch = []
            for line in f:
                batch.append(json.loads(line))
                if len(batch) == 256:
                    count(batch)
                    batch = []
            count(batch)
    lines = ["# corpus.lock: generated by `python model/corpus.py lock`",
             "# ecosystem name version split files bytes tokens sha256 (of the wheel/sdist/tgz; crates: .crate)"]
    tt = {"train": 0, "val": 0}
    for s in stats:
        t = counts.get((f"{s['ecosystem']}:{s['name']}", s["version"]), 0)
        tt[s["split"]] += t
        lines.append(f"{s['ecosystem']} {s['name']} {s['version']} {s['split']} {s['files']} {s['bytes']} {t} "
                     f"{s.get('sha256', '-')}")
    lines.append(f"# total tokens: train={tt['train']} val={tt['val']}")
    lines.append("# excluded (reserved for evaluation): " + " ".join(sorted(EXCLUDED)))
    (HERE / "corpus.lock").write_text("\n".join(lines) + "\n")
    print(lines[-2])


if __name__ == "__main__":
    cmd = sys.argv[1] if len(sys.argv) > 1 else "all"
    if cmd in ("download", "all", "download-pypi"):
        download(only_pypi=cmd == "download-pypi")
    if cmd in ("extract", "all"):
        extract()
    if cmd == "lock":
        lock()
