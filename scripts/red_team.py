#!/usr/bin/env python3
"""Replay a hostile review of `refactor` and report which attacks it survives.

Run:
    python3 scripts/red_team.py --refactor target/release/refactor \
        [--ast-grep /path/to/ast-grep] [--only SUBSTRING] [-v]

Every case runs in its own folder under a temporary directory and checks
observable behaviour (file bytes, git state, messages), not just exit codes.
The script prints one row per case (section, case, expected, observed,
HELD/FAILED), then `N tried, N held, N failed`, and exits 1 if any case failed.
Python 3 standard library only; needs `git` on PATH. Takes about 1-3 minutes.
"""

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

LIMIT = 60.0  # generous wall-clock limit for one refactor run (seconds)

REFACTOR = "target/release/refactor"
AST_GREP = None
ROOT = None  # temporary directory holding one folder per case
REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

CASES = []  # (section, name, expected, function)


def case(section, name, expected):
    """Register a case; the function returns (held: bool, observed: str)."""
    def register(fn):
        CASES.append((section, name, expected, fn))
        return fn
    return register


# --------------------------------------------------------------------------
# helpers

class Result:
    def __init__(self, rc, out, err, secs):
        self.rc, self.out, self.err, self.secs = rc, out, err, secs

    @property
    def timed_out(self):
        return self.rc is None

    def crashed(self):
        """A timeout, an abort (134) or death by signal."""
        return self.rc is None or self.rc == 134 or self.rc < 0

    def brief(self):
        if self.rc is None:
            return "TIMEOUT after %.0fs" % self.secs
        if self.rc < 0:
            return "killed by signal %d" % -self.rc
        return "exit %d" % self.rc

    def first_err(self):
        lines = [l for l in self.err.decode("utf-8", "replace").splitlines() if l.strip()]
        errs = [l for l in lines if l.startswith("error")]
        line = (errs or lines or [""])[0]
        return line if len(line) <= 110 else line[:107] + "..."


def run(args, cwd, timeout=LIMIT, env=None, stdin=None):
    """Run a command and capture bytes; rc None on timeout."""
    start = time.monotonic()
    proc = subprocess.Popen(args, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            stdin=subprocess.DEVNULL if stdin is None else subprocess.PIPE,
                            env=env, start_new_session=True)
    try:
        out, err = proc.communicate(stdin, timeout=timeout)
        rc = proc.returncode
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        rc = None
    return Result(rc, out, err, time.monotonic() - start)


def refactor(*args, cwd, timeout=LIMIT):
    return run([REFACTOR, *args], cwd, timeout, env=dict(os.environ, NO_COLOR="1"))


def ast_grep_fix(rule, path, cwd):
    return run([AST_GREP, "scan", "-r", rule, "-U", path], cwd)


def git(cwd, *args, check=True):
    r = subprocess.run(["git", *args], cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if check and r.returncode != 0:
        raise RuntimeError("git %s: %s" % (" ".join(args), r.stderr.decode(errors="replace")))
    return r.stdout.decode("utf-8", "surrogateescape")


def workdir(name):
    path = os.path.join(ROOT, re.sub(r"[^\w.-]+", "_", name))
    shutil.rmtree(path, ignore_errors=True)
    os.makedirs(path)
    return path


def write(path, data):
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    with open(path, "wb") as f:
        f.write(data.encode() if isinstance(data, str) else data)


def read(path):
    with open(path, "rb") as f:
        return f.read()


def snapshot(folder):
    """{relative path: bytes} for every regular file outside .git."""
    files = {}
    for base, dirs, names in os.walk(folder):
        dirs[:] = [d for d in dirs if d != ".git"]
        for n in names:
            p = os.path.join(base, n)
            if not os.path.islink(p):
                files[os.path.relpath(p, folder)] = read(p)
    return files


def temporaries(folder):
    found = []
    for base, _, names in os.walk(folder):
        found += [os.path.relpath(os.path.join(base, n), folder)
                  for n in names if n.startswith(".refactor-")]
    return found


def make_repo(path, files):
    for rel, data in files.items():
        write(os.path.join(path, rel), data)
    git(path, "init", "-q", "-b", "main")
    git(path, "config", "user.name", "Red Team")
    git(path, "config", "user.email", "red@example.com")
    git(path, "config", "commit.gpgsign", "false")
    git(path, "add", "-A")
    git(path, "commit", "-q", "-m", "initial")
    return path


def head(repo):
    return git(repo, "rev-parse", "HEAD").strip()


def porcelain(repo):
    return git(repo, "status", "--porcelain", "--untracked-files=all")


def line_ref(res, file_name="r.yml"):
    m = re.search(re.escape(file_name) + r":(\d+):", res.err.decode("utf-8", "replace"))
    return int(m.group(1)) if m else None


SWAP_PLUS = "id: swap-plus\nlanguage: python\nrule:\n  pattern: $A + $B\nfix: $B + $A\n"
SWAP_EQ = "id: swap-eq\nlanguage: python\nrule:\n  pattern: $A == $B\nfix: $B == $A\n"


def refused(d, rule_text, expect_line=None, extra=(), name_in_err="r.yml"):
    """Run `apply --write` with a rule that must be refused; return (held, observed)."""
    write(os.path.join(d, "r.yml"), rule_text)
    src = "x = a + b\nif y == z:\n    pass\nfoo(q)\n"
    write(os.path.join(d, "t.py"), src)
    res = refactor("apply", "--write", "-r", "r.yml", *extra, "t.py", cwd=d)
    unchanged = read(os.path.join(d, "t.py")) == src.encode()
    line = line_ref(res, name_in_err)
    held = (res.rc == 2 and line is not None and unchanged
            and (expect_line is None or line in expect_line))
    obs = "%s, %s:%s, file %s; %s" % (res.brief(), name_in_err, line,
                                      "unchanged" if unchanged else "CHANGED", res.first_err())
    return held, obs


# --------------------------------------------------------------------------
# Silent wrong code

@case("silent wrong code", "backslash continuation swap",
      "`x = b + a`, same as ast-grep")
def backslash_swap():
    d = workdir("backslash")
    src = "x = a + \\\n    b\n"
    write(os.path.join(d, "r.yml"), SWAP_PLUS)
    write(os.path.join(d, "t.py"), src)
    res = refactor("apply", "--write", "-r", "r.yml", "t.py", cwd=d)
    got = read(os.path.join(d, "t.py"))
    held = res.rc == 0 and got == b"x = b + a\n"
    obs = "%s, wrote %r" % (res.brief(), got.decode(errors="replace"))
    if AST_GREP:
        write(os.path.join(d, "sg.py"), src)
        ast_grep_fix("r.yml", "sg.py", d)
        sg = read(os.path.join(d, "sg.py"))
        held = held and sg == got
        obs += "; ast-grep %r" % sg.decode(errors="replace")
    return held, obs


SYMPY_FILES = {
    "core/relational.py": (
        "def _eval_is_eq(lhs, rhs):\n"
        "    if lhs.is_number and \\\n"
        "            rhs.is_number == True:\n"
        "        return lhs == \\\n"
        "            rhs\n"
        "    return (lhs.func == rhs.func and\n"
        "            len(lhs.args) == len(rhs.args))\n"),
    "core/basic.py": (
        "class Basic:\n"
        "    def __eq__(self, other):\n"
        "        tself = type(self)\n"
        "        if tself is not type(other) and \\\n"
        "           other._hashable_content() == \\\n"
        "           self._hashable_content():\n"
        "            return True\n"
        "        return self._hashable_content() == other._hashable_content()\n"),
    "simplify/radsimp.py": (
        "def fraction(expr):\n"
        "    numer, denom = [], []\n"
        "    for term in expr.args:\n"
        "        if term.is_commutative and (term.is_Pow or \\\n"
        "                isinstance(term, exp)) and term.exp.is_negative:\n"
        "            if term.exp == \\\n"
        "                    -1:\n"
        "                denom.append(term.base)\n"
        "        elif term.is_Rational and term.q \\\n"
        "                == 1:\n"
        "            numer.append(term)\n"
        "    return Mul(*numer, evaluate=not exact) == \\\n"
        "        Mul(*denom, evaluate=not exact)\n"),
    "polys/polytools.py": (
        "def _dict_from_expr(expr, opt):\n"
        "    if expr.is_commutative is False:\n"
        "        raise PolynomialError('non-commutative')\n"
        "    def _is_expandable_pow(expr):\n"
        "        return (expr.is_Pow and expr.exp.is_positive and expr.exp.is_Integer \\\n"
        "                and expr.base.is_Add) == True\n"
        "    x = [a for a in expr.args if a.count_ops() == \\\n"
        "         0]\n"
        "    return opt.expand == \\\n"
        "        True\n"),
    "core/nested.py": (  # nested and overlapping matches, strings with `\`
        "assert f(a == b) == \\\n"
        "    c\n"
        "x = (p == q) == (r == \\\n"
        "  s)\n"
        "y = [i for i in z if i ==\\\n"
        " 0]\n"
        "s = \"a == b\" == 'c \\\n"
        "d'\n"
        "def g():\n"
        "    return (x\n"
        "            == y) == \\\n"
        "        z\n"),
    "core/crlf.py": "x = a == \\\r\n    b\r\ny = c == d\r\n",
}


@case("silent wrong code", "sympy-like files, swap ==",
      "written files == ast-grep's, none refused")
def sympy_swap():
    ref, sg = workdir("sympy/refactor"), workdir("sympy/ast-grep")
    for rel, text in SYMPY_FILES.items():
        write(os.path.join(ref, rel), text)
        write(os.path.join(sg, rel), text)
    write(os.path.join(ref, "r.yml"), SWAP_EQ)
    res = refactor("apply", "--write", "-r", "r.yml", ".", cwd=ref)
    summary = res.err.decode(errors="replace")
    m = re.search(r"(\d+) changed, (\d+) skipped, (\d+) rejected", summary)
    changed, skipped, rejected = map(int, m.groups()) if m else (-1, -1, -1)
    got = snapshot(ref)
    got.pop("r.yml")
    all_changed = all(got[k] != v.encode() for k, v in SYMPY_FILES.items())
    held = res.rc == 0 and skipped == 0 and rejected == 0 and all_changed
    obs = "%s, %d changed/%d skipped/%d rejected" % (res.brief(), changed, skipped, rejected)
    for rel, data in got.items():  # the result must still be Python
        try:
            compile(data, rel, "exec")
        except SyntaxError as e:
            held, obs = False, obs + "; %s no longer parses (%s)" % (rel, e.msg)
    if AST_GREP:
        write(os.path.join(sg, "r.yml"), SWAP_EQ)
        ast_grep_fix("r.yml", ".", sg)
        want = snapshot(sg)
        want.pop("r.yml")
        differ = sorted(k for k in want if want[k] != got.get(k))
        held = held and not differ
        obs += "; differ from ast-grep: %s" % (", ".join(differ) or "none")
    return held, obs


@case("silent wrong code", "`all: []` rule",
      "exit 2, r.yml:LINE:, file unchanged")
def all_empty():
    return refused(workdir("all-empty"),
                   "id: e\nlanguage: python\nrule:\n  all: []\nfix: X\n", expect_line=(3, 4))


@case("silent wrong code", "`pattern: $$$` rule",
      "exit 2, r.yml:LINE:, file unchanged")
def ellipsis_pattern():
    return refused(workdir("ellipsis"),
                   "id: e\nlanguage: python\nrule:\n  pattern: $$$\nfix: X\n", expect_line=(3, 4))


# --------------------------------------------------------------------------
# Repository and filesystem state

@case("repo/fs state", "--commit on symlink link.py -> a.py",
      "link kept, a.py rewritten+committed, status clean")
def commit_symlink():
    d = workdir("commit-symlink")
    write(os.path.join(d, "r.yml"), SWAP_PLUS)
    write(os.path.join(d, "a.py"), "x = a + b\n")
    os.symlink("a.py", os.path.join(d, "link.py"))
    make_repo(d, {})
    before = head(d)
    res = refactor("apply", "--commit", "-r", "r.yml", "link.py", cwd=d)
    is_link = os.path.islink(os.path.join(d, "link.py"))
    target = os.readlink(os.path.join(d, "link.py")) if is_link else None
    a = read(os.path.join(d, "a.py"))
    moved = head(d) != before
    changed = git(d, "diff", "--name-only", before, "HEAD").split() if moved else []
    status = porcelain(d)
    held = (res.rc == 0 and is_link and target == "a.py" and a == b"x = b + a\n"
            and changed == ["a.py"] and status == "")
    obs = "%s, link=%s, a.py=%r, commit changes %s, status %r" % (
        res.brief(), target if is_link else "REGULAR FILE", a.decode(), changed or "nothing", status)
    return held, obs


@case("repo/fs state", "--write --follow through a symlink",
      "link kept, a.py rewritten once")
def write_follow_symlink():
    d = workdir("write-follow")
    write(os.path.join(d, "r.yml"), SWAP_PLUS)
    write(os.path.join(d, "src/a.py"), "x = a + b\n")
    os.symlink("a.py", os.path.join(d, "src/link.py"))
    os.symlink("src", os.path.join(d, "dirlink"))
    res = refactor("apply", "--write", "--follow", "-r", "r.yml", ".", cwd=d)
    links = all(os.path.islink(os.path.join(d, p)) for p in ("src/link.py", "dirlink"))
    a = read(os.path.join(d, "src/a.py"))
    held = res.rc == 0 and links and a == b"x = b + a\n"
    obs = "%s, links %s, a.py=%r" % (res.brief(), "kept" if links else "REPLACED", a.decode())
    return held, obs


N_FILES = 300


# An idempotent rule, so that a rerun after a finished run changes nothing.
PRINT_TO_LOG = "id: print-to-log\nlanguage: python\nrule:\n  pattern: print($$$A)\nfix: log($$$A)\n"


def big_repo_files():
    files = {"r.yml": PRINT_TO_LOG}
    for i in range(N_FILES):
        body = "".join("print(a%d, b%d)\n" % (j, i) for j in range(40))
        files["pkg%d/m%03d.py" % (i % 10, i)] = body
    return files


def swapped(text):
    return text.replace("print(", "log(")


_TEMPLATE = {}


def fresh_big_repo(name):
    if "path" not in _TEMPLATE:
        _TEMPLATE["path"] = make_repo(workdir("big-template"), big_repo_files())
    d = os.path.join(ROOT, name)
    shutil.rmtree(d, ignore_errors=True)
    shutil.copytree(_TEMPLATE["path"], d, symlinks=True)
    return d


def wait_group_gone(pgid, secs=20):
    """Wait until no process of the killed run's group (e.g. a git child) is left."""
    end = time.monotonic() + secs
    while time.monotonic() < end:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.02)
    return False


def interrupted_commit(name, sig, delay, to_group):
    d = fresh_big_repo(name)
    before = head(d)
    proc = subprocess.Popen([REFACTOR, "apply", "--commit", "-q", "-r", "r.yml", "."], cwd=d,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            start_new_session=True)
    time.sleep(delay)
    try:
        (os.killpg if to_group else os.kill)(proc.pid, sig)
    except ProcessLookupError:
        pass
    try:
        _, err = proc.communicate(timeout=LIMIT)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        return d, before, None, b"TIMEOUT after SIGINT"
    wait_group_gone(proc.pid)
    return d, before, proc.returncode, err


def classify(d, originals):
    """Count files that are original / rewritten / something else."""
    now = snapshot(d)
    orig = new = other = 0
    for rel, text in originals.items():
        if rel == "r.yml":
            continue
        data = now.get(rel)
        if data == text.encode():
            orig += 1
        elif data == swapped(text).encode():
            new += 1
        else:
            other += 1
    return orig, new, other


def fsck_clean(d):
    r = subprocess.run(["git", "fsck", "--no-progress", "--full"], cwd=d,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    text = r.stdout.decode(errors="replace")
    bad = [l for l in text.splitlines() if not l.startswith(("dangling", "notice"))]
    return r.returncode == 0 and not bad, (bad[0] if bad else "")


def staged_entries(status):
    return [l for l in status.splitlines() if l[:1] not in (" ", "?")]


_DELAYS = []


def interrupt_delays():
    """Fixed delays plus fractions of a measured full run, to hit the write/commit phase."""
    if not _DELAYS:
        d = fresh_big_repo("calibrate")
        res = refactor("apply", "--commit", "-q", "-r", "r.yml", ".", cwd=d)
        full_ms = int(res.secs * 1000)
        _DELAYS.extend(sorted({0, 20, 50, 100, 200} |
                              {int(full_ms * f) for f in (0.5, 0.7, 0.8, 0.9, 0.95, 1.0)}))
    return _DELAYS


@case("repo/fs state", "kill -9 of --commit at 0..200 ms and across a full run",
      "each file orig|new, fsck clean, no stale index; rerun cleans up")
def kill9_commit():
    originals = big_repo_files()
    held, notes = True, []
    for ms in interrupt_delays():
        d, before, rc, err = interrupted_commit("kill9-%d" % ms, signal.SIGKILL, ms / 1000, False)
        orig, new, other = classify(d, originals)
        ok_fsck, why = fsck_clean(d)
        moved = head(d) != before
        status = porcelain(d)
        staged = staged_entries(status)
        lock = os.path.exists(os.path.join(d, ".git", "index.lock"))
        ok = other == 0 and ok_fsck and not lock and not any(
            l.startswith("MM") for l in status.splitlines())
        if moved:  # a new HEAD must come with its index and all rewritten files
            ok = ok and not staged and new == N_FILES
        # a following normal run finishes the job and leaves no temporaries behind
        again = refactor("apply", "--write", "-q", "-r", "r.yml", ".", cwd=d)
        left = temporaries(d)
        ok = ok and again.rc == 0 and classify(d, originals)[1] == N_FILES and not left
        notes.append("%dms:%s%d new%s%s%s%s%s%s" % (
            ms, "HEAD+," if moved else "", new,
            " %d OTHER" % other if other else "", "" if ok_fsck else " fsck:" + why,
            " staged:%d(%s)" % (len(staged), staged[0]) if staged else "",
            " index.lock" if lock else "", "" if again.rc == 0 else " rerun " + again.brief(),
            " tmp:" + left[0] if left else ""))
        held = held and ok
    return held, "; ".join(notes) + " (of %d)" % N_FILES


@case("repo/fs state", "SIGINT of --commit at 0..200 ms and across a full run",
      "all orig or all new+committed; rerun leaves no .refactor-*")
def sigint_commit():
    originals = big_repo_files()
    held, notes = True, []
    for i, ms in enumerate(interrupt_delays()):
        to_group = i % 2 == 0  # like Ctrl-C (whole group, git children too) or `kill -INT pid`
        d, before, rc, err = interrupted_commit("sigint-%d" % ms, signal.SIGINT, ms / 1000, to_group)
        orig, new, other = classify(d, originals)
        moved = head(d) != before
        status = porcelain(d)
        restored = not moved and orig == N_FILES and status == ""
        done = moved and new == N_FILES and status == ""
        ok = restored or done
        again = refactor("apply", "--commit", "-q", "-r", "r.yml", ".", cwd=d)
        n2 = classify(d, originals)[1]
        left = temporaries(d)
        ok = ok and again.rc == 0 and n2 == N_FILES and porcelain(d) == "" and not left
        state = "restored" if restored else "committed" if done else (
            "MIXED orig=%d new=%d other=%d HEAD%s status=%d lines" % (
                orig, new, other, "+" if moved else "=", len(status.splitlines())))
        notes.append("%dms%s:rc=%s %s%s%s" % (
            ms, "" if to_group else "(pid)", rc, state,
            "" if again.rc == 0 else " rerun " + again.brief(), " tmp:" + left[0] if left else ""))
        held = held and ok
    return held, "; ".join(notes)


@case("repo/fs state", "two concurrent --write runs, different rules",
      "every file has both rules' edits")
def concurrent_writes():
    d = workdir("concurrent")
    write(os.path.join(d, "plus.yml"), SWAP_PLUS)
    write(os.path.join(d, "call.yml"),
          "id: call\nlanguage: python\nrule:\n  pattern: print($X)\nfix: log($X)\n")
    text = "".join("x%d = a + b\nprint(x%d)\n" % (j, j) for j in range(30))
    want = "".join("x%d = b + a\nlog(x%d)\n" % (j, j) for j in range(30)).encode()
    bad, rcs = 0, []
    for rnd in range(3):
        for i in range(100):
            write(os.path.join(d, "src/f%03d.py" % i), text)
        procs = [subprocess.Popen([REFACTOR, "apply", "--write", "-q", "-r", rule, "src"], cwd=d,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
                 for rule in ("plus.yml", "call.yml")]
        for p in procs:
            try:
                p.communicate(timeout=LIMIT)
            except subprocess.TimeoutExpired:
                p.kill()
                p.communicate()
            rcs.append(p.returncode)
        bad += sum(1 for data in snapshot(os.path.join(d, "src")).values() if data != want)
    held = bad == 0 and all(rc == 0 for rc in rcs)
    return held, "exit codes %s, %d of 300 files miss an edit" % (rcs, bad)


def hook_repo(name):
    d = workdir(name)
    make_repo(d, {"r.yml": SWAP_PLUS, "a.py": "x = a + b\n"})
    hook = os.path.join(d, ".git", "hooks", "pre-commit")
    write(hook, "#!/bin/sh\necho 'pre-commit says no' >&2\nexit 1\n")
    os.chmod(hook, 0o755)
    return d


@case("repo/fs state", "--commit with failing pre-commit hook",
      "exit 2, a.py and HEAD unchanged")
def failing_hook():
    d = hook_repo("hook-fail")
    before = head(d)
    res = refactor("apply", "--commit", "-r", "r.yml", ".", cwd=d)
    a = read(os.path.join(d, "a.py"))
    status = porcelain(d)
    held = res.rc == 2 and a == b"x = a + b\n" and head(d) == before and status == ""
    return held, "%s, a.py=%r, HEAD %s, status %r; %s" % (
        res.brief(), a.decode(), "same" if head(d) == before else "MOVED", status, res.first_err())


@case("repo/fs state", "--commit --no-verify with failing hook",
      "exit 0, a.py rewritten and committed")
def failing_hook_no_verify():
    d = hook_repo("hook-no-verify")
    before = head(d)
    res = refactor("apply", "--commit", "--no-verify", "-r", "r.yml", ".", cwd=d)
    a = read(os.path.join(d, "a.py"))
    moved = head(d) != before
    committed = git(d, "show", "HEAD:a.py") if moved else ""
    held = res.rc == 0 and moved and a == b"x = b + a\n" and committed == "x = b + a\n" \
        and porcelain(d) == ""
    return held, "%s, a.py=%r, HEAD %s" % (res.brief(), a.decode(), "moved" if moved else "SAME")


# --------------------------------------------------------------------------
# Crashes, hangs, blow-ups

@case("crash/hang", "util that `matches` itself", "exit 2 with message")
def util_self():
    return refused(workdir("util-self"),
                   "id: u\nlanguage: python\nutils:\n  loop:\n    matches: loop\n"
                   "rule:\n  kind: identifier\n  matches: loop\nfix: X\n")


@case("crash/hang", "two utils matching each other", "exit 2 with message")
def util_mutual():
    return refused(workdir("util-mutual"),
                   "id: u\nlanguage: python\nutils:\n  ping:\n    any:\n      - kind: integer\n"
                   "      - matches: pong\n  pong:\n    all:\n      - kind: identifier\n"
                   "      - matches: ping\nrule:\n  kind: identifier\n  matches: ping\nfix: X\n")


@case("crash/hang", "pattern of 20,000 `a + ` terms", "exit 2 with message, no abort")
def deep_pattern():
    d = workdir("deep-pattern")
    pattern = "a + " * 20000 + "a"
    write(os.path.join(d, "r.yml"), "id: d\nlanguage: python\nrule:\n  pattern: '%s'\nfix: X\n" % pattern)
    write(os.path.join(d, "t.py"), "x = a + a\n")
    res = refactor("apply", "--write", "-r", "r.yml", "t.py", cwd=d)
    unchanged = read(os.path.join(d, "t.py")) == b"x = a + a\n"
    held = res.rc == 2 and bool(res.err.strip()) and unchanged
    return held, "%s in %.1fs, %s" % (res.brief(), res.secs, res.first_err())


@case("crash/hang", "50 MB rule files (huge pattern; `[[[[` nesting)", "exit 2 quickly (<30 s)")
def huge_rule_files():
    d = workdir("huge-rule")
    size = 50 * 1024 * 1024
    write(os.path.join(d, "t.py"), "x = a + b\n")
    write(os.path.join(d, "long.yml"),
          "id: h\nlanguage: python\nrule:\n  pattern: " + "x" * size + "\nfix: X\n")
    write(os.path.join(d, "nest.yml"), "id: h\nlanguage: python\nrule: " + "[" * size + "\n")
    held, notes = True, []
    for rule in ("long.yml", "nest.yml"):
        res = refactor("apply", "--write", "-r", rule, "t.py", cwd=d)
        ok = res.rc == 2 and res.secs < 30 and read(os.path.join(d, "t.py")) == b"x = a + b\n"
        notes.append("%s: %s in %.1fs" % (rule, res.brief(), res.secs))
        held = held and ok
    return held, "; ".join(notes)


@case("crash/hang", "rule files just under the 4 MiB limit", "no crash, exit 0/2 (<60 s)")
def rule_files_under_limit():
    d = workdir("under-limit")
    size = 4 * 1024 * 1024 - 200
    write(os.path.join(d, "t.py"), "x = a + b\n")
    write(os.path.join(d, "long.yml"),
          "id: h\nlanguage: python\nrule:\n  pattern: " + "x" * size + "\nfix: X\n")
    write(os.path.join(d, "nest.yml"), "id: h\nlanguage: python\nrule: " + "[" * size + "\n")
    write(os.path.join(d, "plus.yml"), "id: h\nlanguage: python\nrule:\n  pattern: '"
          + "a + " * (size // 4 - 20) + "a'\nfix: X\n")
    held, notes = True, []
    for rule in ("long.yml", "nest.yml", "plus.yml"):
        res = refactor("apply", "--write", "-r", rule, "t.py", cwd=d)
        ok = not res.crashed() and res.rc in (0, 2) and read(os.path.join(d, "t.py")) == b"x = a + b\n"
        notes.append("%s: %s in %.1fs" % (rule, res.brief(), res.secs))
        held = held and ok
    return held, "; ".join(notes)


@case("crash/hang", "--threads 1000 on 14 files", "finishes, all 14 rewritten")
def many_threads():
    d = workdir("threads")
    write(os.path.join(d, "r.yml"), SWAP_PLUS)
    for i in range(14):
        write(os.path.join(d, "src/f%d.py" % i), "x = a + b\n")
    res = refactor("apply", "--write", "--threads", "1000", "-r", "r.yml", "src", cwd=d)
    done = sum(1 for v in snapshot(os.path.join(d, "src")).values() if v == b"x = b + a\n")
    return res.rc == 0 and done == 14, "%s in %.1fs, %d/14 rewritten" % (res.brief(), res.secs, done)


def nested_parens(n):
    return "(" * n + "a" + ")" * n


@case("crash/hang", "inside module stopBy end, 20,000 nested parens",
      "finishes (<150 s; quadratic in ast-grep too)")
def deep_inside():
    # Each of the 20,000 parenthesized expressions walks up to the module: 2e8 steps.
    d = workdir("deep-inside")
    rule = ("id: i\nlanguage: python\nrule:\n  kind: parenthesized_expression\n"
            "  inside:\n    kind: module\n    stopBy: end\nfix: b\n")
    src = "x = %s\n" % nested_parens(20000)
    write(os.path.join(d, "r.yml"), rule)
    write(os.path.join(d, "t.py"), src)
    res = refactor("apply", "--write", "-q", "-r", "r.yml", "t.py", cwd=d, timeout=150)
    got = read(os.path.join(d, "t.py"))
    held = res.rc == 0 and got == b"x = b\n"
    obs = "%s in %.1fs, file %s" % (res.brief(), res.secs,
                                     "= `x = b`" if got == b"x = b\n" else "%d bytes" % len(got))
    if AST_GREP:
        write(os.path.join(d, "sg.py"), src)
        sg = run([AST_GREP, "scan", "-r", "r.yml", "-U", "sg.py"], d, timeout=150)
        obs += "; ast-grep %s in %.1fs, %s" % (
            sg.brief(), sg.secs, "same bytes" if read(os.path.join(d, "sg.py")) == got else "DIFFERENT bytes")
    return held, obs


@case("crash/hang", "`$A == $A` on 20,000 nested parens", "no crash")
def deep_equal_metavars():
    d = workdir("deep-eq")
    write(os.path.join(d, "r.yml"),
          "id: e\nlanguage: python\nrule:\n  pattern: $A == $A\nfix: 'True'\n")
    write(os.path.join(d, "t.py"), "x = %s == %s\n" % (nested_parens(20000), nested_parens(20000)))
    res = refactor("apply", "--write", "-r", "r.yml", "t.py", cwd=d)
    got = read(os.path.join(d, "t.py"))
    held = not res.crashed() and res.rc in (0, 2)
    return held, "%s in %.1fs, file %s" % (
        res.brief(), res.secs, "rewritten" if got == b"x = True\n" else "%d bytes" % len(got))


# --------------------------------------------------------------------------
# Inputs that must be refused

@case("refused inputs", "constraint on unbound metavariable", "exit 2, r.yml:LINE:, unchanged")
def constraint_unbound():
    return refused(workdir("constraint-unbound"),
                   "id: c\nlanguage: python\nrule:\n  pattern: $X + $Y\nconstraints:\n"
                   "  Z:\n    kind: identifier\nfix: X\n", expect_line=(5, 6))


@case("refused inputs", "transform with undefined source", "exit 2, r.yml:LINE:, unchanged")
def transform_undefined():
    return refused(workdir("transform-undefined"),
                   "id: t\nlanguage: python\nrule:\n  pattern: $X + $Y\ntransform:\n  NAME:\n"
                   "    substring:\n      source: $NOPE\n      startChar: 1\nfix: $NAME\n",
                   expect_line=(5, 6, 7, 8))


@case("refused inputs", "cyclic transforms", "exit 2, r.yml:LINE:, unchanged")
def transform_cycle():
    return refused(workdir("transform-cycle"),
                   "id: t\nlanguage: python\nrule:\n  pattern: $X + $Y\ntransform:\n  A:\n"
                   "    substring: {source: $B, startChar: 1}\n  B:\n"
                   "    convert: {source: $A, toCase: upperCase}\nfix: $A\n",
                   expect_line=(5, 6, 7, 8, 9))


@case("refused inputs", "`nthChild: -1`", "exit 2, r.yml:LINE:, unchanged")
def nthchild_negative():
    return refused(workdir("nthchild"),
                   "id: n\nlanguage: python\nrule:\n  kind: identifier\n  nthChild: -1\nfix: X\n",
                   expect_line=(3, 4, 5))


def flag_refused(name, flag, value):
    d = workdir(name)
    write(os.path.join(d, "r.yml"), SWAP_PLUS)
    write(os.path.join(d, "t.py"), "x = a + b\n")
    res = refactor("apply", "--write", flag, value, "-r", "r.yml", "t.py", cwd=d)
    unchanged = read(os.path.join(d, "t.py")) == b"x = a + b\n"
    named = flag in res.err.decode(errors="replace")
    held = res.rc == 2 and named and unchanged
    return held, "%s, flag %s, file %s; %s" % (res.brief(), "named" if named else "NOT named",
                                                "unchanged" if unchanged else "CHANGED",
                                                res.first_err())


@case("refused inputs", "--threshold NaN", "exit 2 naming the flag, unchanged")
def threshold_nan():
    return flag_refused("threshold-nan", "--threshold", "NaN")


@case("refused inputs", "--threshold -1", "exit 2 naming the flag, unchanged")
def threshold_negative():
    return flag_refused("threshold-neg", "--threshold", "-1")


@case("refused inputs", "--tau 2", "exit 2 naming the flag, unchanged")
def tau_two():
    return flag_refused("tau-2", "--tau", "2")


def small_tokenizer():
    specials = ["<|pad|>", "<|mask|>", "<|eoh|>", "<|sep|>", "<|ctx|>"] + \
        ["<|m%d|>" % i for i in range(32)]
    vocab = {tok: i for i, tok in enumerate(specials)}
    for word in ("except", "ValueError", "try", "pass", "[UNK]"):
        vocab[word] = len(vocab)
    added = [{"id": i, "content": t, "single_word": False, "lstrip": False, "rstrip": False,
              "normalized": False, "special": True} for i, t in enumerate(specials)]
    return {"version": "1.0", "truncation": None, "padding": None, "added_tokens": added,
            "normalizer": None, "pre_tokenizer": {"type": "Whitespace"}, "post_processor": None,
            "decoder": None, "model": {"type": "WordLevel", "vocab": vocab, "unk_token": "[UNK]"}}


@case("refused inputs", "tokenizer.json smaller than vocab_size", "exit 2 naming tokenizer.json")
def tokenizer_too_small():
    d = workdir("small-tokenizer")
    model = os.path.join(d, "model")
    shutil.copytree(os.path.join(REPO_ROOT, "fixtures/models/lookup"), model)
    write(os.path.join(model, "tokenizer.json"), json.dumps(small_tokenizer()))
    shutil.copy(os.path.join(REPO_ROOT, "rules/holes/py-bare-except.yml"), os.path.join(d, "r.yml"))
    src = "try:\n    x()\nexcept:\n    pass\n"
    write(os.path.join(d, "t.py"), src)
    res = refactor("apply", "--write", "--device", "cpu", "--model", "model", "-r", "r.yml",
                   "t.py", cwd=d)
    unchanged = read(os.path.join(d, "t.py")) == src.encode()
    named = b"tokenizer.json" in res.err
    held = res.rc == 2 and named and unchanged
    return held, "%s, tokenizer.json %s, file %s; %s" % (
        res.brief(), "named" if named else "NOT named", "unchanged" if unchanged else "CHANGED",
        res.first_err())


# --------------------------------------------------------------------------
# Diffs that git apply rejects

def diff_roundtrip(name, file_name, src, rule):
    """Dry-run diff must `git apply` onto a copy and give --write's bytes."""
    d = workdir(name)
    write(os.path.join(d, "r.yml"), rule)
    for sub in ("diff", "write"):
        write(os.path.join(d.encode(), sub.encode(), os.fsencode(file_name)), src)
    diff = refactor("apply", "--color", "never", "-r", "../r.yml", ".", cwd=os.path.join(d, "diff"))
    wr = refactor("apply", "--write", "-r", "../r.yml", ".", cwd=os.path.join(d, "write"))
    written = read(os.path.join(d, "write", file_name))
    write(os.path.join(d, "patch.diff"), diff.out)
    ap = subprocess.run(["git", "apply", "-p1", "../patch.diff"],
                        cwd=os.path.join(d, "diff"), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    applied = read(os.path.join(d, "diff", file_name)) if os.path.exists(
        os.path.join(d, "diff", file_name)) else None
    held = (diff.rc == 0 and wr.rc == 0 and bool(diff.out) and written != src.encode()
            and ap.returncode == 0 and applied == written)
    why = ap.stderr.decode(errors="replace").strip().splitlines()
    obs = "diff %s, write %s, git apply %s%s, bytes %s" % (
        diff.brief(), wr.brief(), "ok" if ap.returncode == 0 else "REJECTED",
        " (%s)" % why[0] if why and ap.returncode else "",
        "equal" if applied == written else "DIFFER: %r vs %r" % (applied, written))
    return held, obs


@case("diffs", "`fix: ''` deleting `import os`", "diff applies, bytes == --write")
def diff_delete_import():
    return diff_roundtrip("diff-delete", "t.py", "import os\n\nx = 1\n",
                          "id: d\nlanguage: python\nrule:\n  pattern: import os\nfix: ''\n")


@case("diffs", "lone CR inside a line", "diff applies, bytes == --write")
def diff_lone_cr():
    return diff_roundtrip("diff-cr", "t.py", "x = a + b  # one\rtwo\ny = c + d\n", SWAP_PLUS)


@case("diffs", "file name containing a newline", "diff applies, bytes == --write")
def diff_newline_name():
    return diff_roundtrip("diff-newline-name", "odd\nname.py", "x = a + b\n", SWAP_PLUS)


@case("diffs", "(extra) file name with a backslash `a\\b.py`", "diff applies, bytes == --write")
def diff_backslash_name():
    return diff_roundtrip("diff-backslash-name", "a\\b.py", "x = a + b\n", SWAP_PLUS)


@case("diffs", "(extra) non-UTF-8 file name `\\xff.py`",
      "skipped with a note, file unchanged, no diff")
def diff_non_utf8_name():
    d = workdir("diff-non-utf8-name")
    write(os.path.join(d, "r.yml"), SWAP_PLUS)
    name = os.fsdecode(b"\xff.py")
    write(os.path.join(d.encode(), os.fsencode(name)), "x = a + b\n")
    res = refactor("apply", "--write", "-r", "r.yml", ".", cwd=d)
    unchanged = read(os.path.join(d, name)) == b"x = a + b\n"
    noted = b"not valid UTF-8" in res.err
    return res.rc == 0 and unchanged and noted, "%s, %s, file %s" % (
        res.brief(), "noted" if noted else "NO note", "unchanged" if unchanged else "CHANGED")


def odd_names_commit(name, *extra):
    """--commit in a clean repo with files named `a\\b.py` (rewritten and
    committed as itself) and `\\xff.py` (not UTF-8: skipped, untouched)."""
    d = workdir(name)
    names = ["a\\b.py", os.fsdecode(b"\xff.py")]
    make_repo(d, {"r.yml": SWAP_PLUS, names[0]: "x = a + b\n", names[1]: "x = a + b\n"})
    before = head(d)
    res = refactor("apply", "--commit", *extra, "-r", "r.yml", ".", cwd=d)
    moved = head(d) != before
    changed = git(d, "-c", "core.quotepath=false", "diff", "-z", "--name-only", before,
                  "HEAD").split("\0")[:-1] if moved else []
    status = porcelain(d)
    rewritten = read(os.path.join(d, names[0])) == b"x = b + a\n"
    untouched = read(os.path.join(d, names[1])) == b"x = a + b\n"
    held = res.rc == 0 and changed == [names[0]] and status == "" and rewritten and untouched
    return held, "%s, a\\b.py %s, \\xff.py %s, commit changes %s, status [%s]; %s" % (
        res.brief(), "rewritten" if rewritten else "unchanged",
        "untouched" if untouched else "CHANGED",
        [c.encode("utf-8", "surrogateescape") for c in changed] or "nothing",
        status.strip().replace("\n", "; "), res.first_err())


@case("repo/fs state", "(extra) --commit of `a\\b.py` and `\\xff.py`, clean repo",
      "exit 0, commits a\\b.py only; \\xff.py skipped")
def commit_odd_names():
    return odd_names_commit("commit-odd-names")


@case("repo/fs state", "(extra) same with --allow-dirty",
      "exit 0, commits a\\b.py only; \\xff.py skipped")
def commit_odd_names_allow_dirty():
    return odd_names_commit("commit-odd-names-dirty", "--allow-dirty")


# --------------------------------------------------------------------------

def print_table(rows):
    heads = ("section", "case", "expected", "observed", "result")
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(heads[:3])]
    fmt = "%-{}s | %-{}s | %-{}s | %-6s | %s".format(*widths)
    print(fmt % (heads[0], heads[1], heads[2], heads[4], heads[3]))
    print("-" * (sum(widths) + 9 + 9 + 40))
    for r in rows:
        print(fmt % (r[0], r[1], r[2], r[4], r[3]))


def main():
    global REFACTOR, AST_GREP, ROOT
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--refactor", default="target/release/refactor")
    ap.add_argument("--ast-grep", default=None)
    ap.add_argument("--only", default=None, help="run only cases whose name contains this")
    ap.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = ap.parse_args()
    REFACTOR = os.path.abspath(args.refactor)
    AST_GREP = os.path.abspath(args.ast_grep) if args.ast_grep else None
    if not os.access(REFACTOR, os.X_OK):
        sys.exit("no executable refactor at %s" % REFACTOR)
    ROOT = tempfile.mkdtemp(prefix="refactor-red-team-")
    rows, start = [], time.monotonic()
    try:
        sections = list(dict.fromkeys(c[0] for c in CASES))
        for section, name, expected, fn in sorted(CASES, key=lambda c: sections.index(c[0])):
            if args.only and args.only not in name:
                continue
            t0 = time.monotonic()
            try:
                held, observed = fn()
            except Exception as e:  # a broken harness step counts against the case
                held, observed = False, "harness error: %s: %s" % (type(e).__name__, e)
            observed = observed.replace("\n", "\\n")
            rows.append((section, name, expected, observed, "HELD" if held else "FAILED"))
            print("[%5.1fs] %s: %s" % (time.monotonic() - t0, name, rows[-1][4]),
                  file=sys.stderr, flush=True)
    finally:
        if not args.keep:
            shutil.rmtree(ROOT, ignore_errors=True)
        else:
            print("kept %s" % ROOT, file=sys.stderr)
    print_table(rows)
    failed = sum(r[4] == "FAILED" for r in rows)
    print("\n%d tried, %d held, %d failed  (%.0fs)" % (
        len(rows), len(rows) - failed, failed, time.monotonic() - start))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
