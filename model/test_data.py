#!/usr/bin/env python3
"""Span extraction of model/data.py on fixtures (stdlib only, so CI runs it without PyTorch).

    python3 -m unittest discover -s model -p 'test_*.py'
"""
import sys
import unittest
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import data  # noqa: E402

RUST = (HERE.parent / "fixtures" / "model" / "spans.rs").read_bytes()


def texts(b, spans, kind):
    return [b[s:e].decode() for k, s, e, _ in spans if k == kind]


class RustSpans(unittest.TestCase):
    def test_let_types(self):
        # typed lets only, with or without `mut`, with or without an initializer
        self.assertEqual(texts(RUST, data.rust_let_spans(RUST), "let"),
                         ["Option<&(u32, u32)>", "usize", "Vec<_>"])

    def test_signature_and_field_types(self):
        got = texts(RUST, data.rust_type_spans(RUST), "rtype")
        self.assertEqual(got, [
            "String", "HashMap<String, (u32, u32)>", "Box<dyn Fn(&str) -> bool + Send>",  # fields
            "&str", "usize", "Self",                                                     # new
            "K", "Option<&'a (u32, u32)>", "Option<&'a (u32, u32)>",                     # lookup
            "impl Fn(i32) -> i32", "&[i32]", "Vec<i32>",                                 # apply
        ])

    def test_struct_literals_and_self_are_not_sites(self):
        got = texts(RUST, data.rust_type_spans(RUST), "rtype")
        self.assertNotIn("name.to_string()", got)
        self.assertNotIn("HashMap::new()", got)
        self.assertNotIn("&'a self", got)

    def test_corpus_build_keeps_kinds_apart(self):
        import json
        import tempfile
        with tempfile.NamedTemporaryFile("w", suffix=".jsonl", delete=False) as f:
            f.write(json.dumps({"pkg": "crates:x", "path": "src/lib.rs", "lang": "rust",
                                "text": RUST.decode()}) + "\n")
        c = data.Corpus.build(f.name)
        Path(f.name).unlink()
        self.assertEqual(len(c.by_kind["let"]), 3)
        self.assertEqual(len(c.by_kind["rtype"]), 12)
        self.assertIn(b"Config", c.defs["crates:x"])


class PythonSpans(unittest.TestCase):
    SRC = b"""def total(items: list[int], *, scale: float = 1.0) -> int:
    acc = 0
    for x in items:
        acc += x
    result = round(acc * scale)
    return result


print(total([1, 2], scale=2.0))
"""

    def test_kinds(self):
        sp = data.python_spans(self.SRC)
        self.assertEqual(texts(self.SRC, sp, "ret"), ["int"])
        self.assertEqual(texts(self.SRC, sp, "param"), ["list[int]", "float"])
        self.assertEqual(texts(self.SRC, sp, "local"), ["acc", "result"])
        self.assertEqual(texts(self.SRC, sp, "kwarg"), ["scale"])
        self.assertEqual([x[3] for x in sp if x[0] == "kwarg"], ["total"])

    STUB = b"""from typing import overload

class Session:
    timeout: float | None
    def __init__(self, url: str, *, retries: int = ...) -> None: ...
    @overload
    def get(self, key: str) -> bytes | None: ...
    @overload
    def get(self, key: str, default: bytes) -> bytes: ...
    def close(self) -> None:
        result = flush(force=True)
        return result

def connect(*args: str, **kwargs: object) -> Session: ...
VERSION: str
"""

    def test_stub_gives_ret_and_param_only(self):
        sp = sorted(data.python_spans(self.STUB, stub=True), key=lambda x: x[1])
        self.assertEqual(texts(self.STUB, sp, "ret"),
                         ["None", "bytes | None", "bytes", "None", "Session"])
        self.assertEqual(texts(self.STUB, sp, "param"), ["str", "int", "str", "str", "bytes", "str", "object"])
        self.assertEqual({x[0] for x in sp}, {"ret", "param"})
        # the same text as a .py file has the kinds that need bodies or calls
        full = {x[0] for x in data.python_spans(self.STUB)}
        self.assertTrue({"local", "kwarg", "ident"} <= full)

    def test_corpus_build_treats_pyi_as_stub(self):
        import json
        import tempfile
        with tempfile.NamedTemporaryFile("w", suffix=".jsonl", delete=False) as f:
            for path in ("pkg/session.pyi", "pkg/session.py"):
                f.write(json.dumps({"pkg": "pypi:x", "path": path, "lang": "python",
                                    "text": self.STUB.decode()}) + "\n")
        c = data.Corpus.build(f.name)
        Path(f.name).unlink()
        by_file = {}
        for k, lst in c.by_kind.items():
            for fi, _ in lst:
                by_file.setdefault(c.files[fi]["path"], set()).add(k)
        self.assertEqual(by_file["pkg/session.pyi"], {"ret", "param"})
        self.assertIn("local", by_file["pkg/session.py"])
        self.assertEqual(len(c.by_kind["ret"]), 10)
        self.assertIn(b"Session", c.defs["pypi:x"])
        self.assertTrue(data.is_stub("a/b.pyi") and not data.is_stub("a/b.py"))

    def test_syntax_error_is_none(self):
        self.assertIsNone(data.python_spans(b"def f(:\n"))
        self.assertIsNone(data.python_spans(b"def f(:\n", stub=True))


if __name__ == "__main__":
    unittest.main()
