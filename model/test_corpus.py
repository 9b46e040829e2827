#!/usr/bin/env python3
"""The corpus never includes a package reserved for evaluation, nor stubs of one
(stdlib only, so CI runs it without PyTorch).

    python3 -m unittest discover -s model -p 'test_*.py'
"""
import re
import sys
import unittest
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import corpus  # noqa: E402

# The packages the project's evaluation runs on (docs/eval.md); a change here is deliberate.
RESERVED = {"attr", "attrs", "clap", "httpx", "lodash", "regex", "rich", "rxjs", "serde_json",
            "starlette", "sympy", "tokio"}


def base(name):
    """Package a name stands for: types-foo, foo-stubs, foo_stubs -> foo."""
    n = re.sub(r"[-_.]+", "-", name).lower()
    n = re.sub(r"^types-", "", n)
    return re.sub(r"-(stubs|types)$", "", n)


def is_reserved(name):
    n = base(name)
    return n in {base(r) for r in RESERVED} or any(n.startswith(r + "-") for r in
                                                     ("clap", "tokio", "regex", "serde-json"))


class ReservedList(unittest.TestCase):
    def test_excluded_is_the_reserved_list(self):
        self.assertEqual(corpus.EXCLUDED, RESERVED)

    def test_spec_lists_name_no_reserved_package(self):
        names = [s.split("==")[0] for s in corpus.PYPI.split() + corpus.STUBS.split()]
        names += [c.split("=")[0] for c in corpus.CRATES.split()]
        names += [s.rsplit("@", 1)[0].split("/")[-1] for s in corpus.NPM.split()]
        self.assertGreater(len(corpus.STUBS.split()), 10)
        bad = [n for n in names if is_reserved(n) or corpus.reserved(n)]
        self.assertEqual(bad, [])

    def test_stub_packages_are_pinned_stubs(self):
        for s in corpus.STUBS.split():
            name, _, ver = s.partition("==")
            self.assertTrue(name.startswith("types-"), s)
            self.assertRegex(ver, r"^\d+(\.\d+)+$", s)

    def test_reserved_catches_stubs_and_families(self):
        for n in ("types-regex", "types-attrs", "regex-stubs", "types-rich", "httpx", "serde_json",
                  "serde-json", "regex-syntax", "regex-automata", "tokio-util", "clap_builder",
                  "Starlette", "SymPy"):
            self.assertTrue(corpus.reserved(n), n)
        for n in ("types-requests", "typeshed", "mypy", "richer", "attrdict", "rxjs-like"):
            self.assertFalse(corpus.reserved(n), n)

    def test_paths_naming_reserved_packages_are_dropped(self):
        for p in ("pkg/_vendor/x.py", "a/rich/console.py", "regex-stubs/__init__.pyi",
                  "httpx-stubs/_client.pyi", "lib/attr/__init__.pyi", "node_modules/lodash/a.js"):
            self.assertTrue(corpus.bad_path(p), p)
        for p in ("requests-stubs/api.pyi", "mypy/typeshed/stdlib/re.pyi", "src/lib.rs"):
            self.assertFalse(corpus.bad_path(p), p)

    def test_lock_names_no_reserved_package(self):
        lines = (HERE / "corpus.lock").read_text().splitlines()
        rows = [l.split() for l in lines if l and not l.startswith("#")]
        self.assertGreater(len(rows), 100)
        for r in rows:
            eco, name, ver = r[:3]
            self.assertIn(eco, ("pypi", "crates", "npm"), r)
            self.assertFalse(is_reserved(name), r)
            self.assertRegex(ver, r"^\d", r)           # a pinned version, never a range
            if len(r) > 7:
                self.assertRegex(r[7], r"^[0-9a-f]{64}$", r)  # sha256 of what was fetched
        last = lines[-1]
        self.assertTrue(last.startswith("# excluded (reserved for evaluation): "), last)
        self.assertEqual(set(last.split(": ", 1)[1].split()), RESERVED)


if __name__ == "__main__":
    unittest.main()
