"""Hole spans and canvas rows (docs/canvas.md, format v1), shared by train.py and eval.py.

Span kinds:
  ret    Python return annotation            param  Python parameter annotation
  kwarg  keyword-argument name at a call     local  local variable name at its first definition
  let    Rust `let` type                      rtype  Rust parameter / return / field type
  ident  any identifier (Python / Rust / JS / TS)

Stub files (`.pyi`: `def f(x: int) -> str: ...`) are annotation sources only: they give `ret`
and `param` sites and nothing else (no bodies, so no `local`; calls and names in a stub are
annotations, not code, so no `kwarg` or `ident`).
"""
import ast
import bisect
import json
import pickle
import random
import re
from collections import defaultdict
from pathlib import Path

PAD, MASK, EOH, SEP, CTX, M0 = 0, 1, 2, 3, 4, 5
MAX_SLOT = 32
KINDS = ["ret", "param", "kwarg", "local", "let", "rtype", "ident"]
IDENT_RE = re.compile(rb"[A-Za-z_][A-Za-z0-9_]*")
KEYWORDS = set(b"""False None True and as assert async await break class continue def del elif else
except finally for from global if import in is lambda nonlocal not or pass raise return try while with
yield self cls let mut fn pub use mod impl struct enum trait type where match ref const static crate super
Self dyn move unsafe extern loop as function var new this typeof instanceof export default interface
extends implements private public protected readonly abstract declare namespace keyof void null undefined
true false string number boolean any unknown never object str int float bool bytes dict list tuple set
Option Some Ok Err Vec String Result Box usize u8 u32 u64 i32 i64 f32 f64""".split())

DEF_RE = {
    "python": re.compile(rb"^[ \t]*(?:async[ \t]+)?(?:def|class)[ \t]+([A-Za-z_]\w*)", re.M),
    "rust": re.compile(rb"^[ \t]*(?:pub(?:\([^)]*\))?[ \t]+)?(?:(?:async|const|unsafe|extern \"C\")[ \t]+)*"
                       rb"(?:fn|struct|enum|trait|type)[ \t]+([A-Za-z_]\w*)", re.M),
    "js": re.compile(rb"^[ \t]*(?:export[ \t]+)?(?:default[ \t]+)?(?:declare[ \t]+)?(?:abstract[ \t]+)?"
                     rb"(?:async[ \t]+)?(?:function\*?|class|interface|type|enum)[ \t]+([A-Za-z_$][\w$]*)", re.M),
}


def lang_key(lang):
    return "js" if lang in ("javascript", "typescript") else lang


def header_at(text, start, lang):
    """Definition header from the line at `start`: up to the line ending the header, <= 4 lines."""
    ls = text.rfind(b"\n", 0, start) + 1
    lines = []
    pos = ls
    for _ in range(4):
        nl = text.find(b"\n", pos)
        line = text[pos:] if nl < 0 else text[pos:nl]
        lines.append(line)
        s = line.rstrip()
        if lang == "python":
            if s.endswith(b":"):
                break
        elif b"{" in line or s.endswith(b";"):
            break
        if nl < 0:
            break
        pos = nl + 1
    return b"\n".join(lines)


# ---------------------------------------------------------------- span extraction

def _line_starts(b):
    starts = [0]
    for m in re.finditer(rb"\n", b):
        starts.append(m.end())
    return starts


STUB_KINDS = ("ret", "param")


def is_stub(path):
    return str(path).endswith(".pyi")


def python_spans(b, stub=False):
    """Spans (kind, start, end, extra) in byte offsets; extra = callee name for kwarg.
    stub: a `.pyi` file, which yields return and parameter annotations only (STUB_KINDS)."""
    sp = _python_spans(b)
    if sp is None or not stub:
        return sp
    return [x for x in sp if x[0] in STUB_KINDS]


def _python_spans(b):
    try:
        tree = ast.parse(b)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    ls = _line_starts(b)

    def off(line, col):
        return ls[line - 1] + col
    out = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            if node.returns is not None:
                r = node.returns
                out.append(("ret", off(r.lineno, r.col_offset), off(r.end_lineno, r.end_col_offset), None))
            a = node.args
            for arg in a.posonlyargs + a.args + a.kwonlyargs + [x for x in (a.vararg, a.kwarg) if x]:
                if arg.annotation is not None:
                    r = arg.annotation
                    out.append(("param", off(r.lineno, r.col_offset), off(r.end_lineno, r.end_col_offset), None))
            seen = {x.arg for x in a.posonlyargs + a.args + a.kwonlyargs}
            for sub in ast.walk(node):
                tgt = None
                if isinstance(sub, ast.Assign) and len(sub.targets) == 1 and isinstance(sub.targets[0], ast.Name):
                    tgt = sub.targets[0]
                elif isinstance(sub, ast.AnnAssign) and isinstance(sub.target, ast.Name):
                    tgt = sub.target
                if tgt is not None and tgt.id not in seen:
                    seen.add(tgt.id)
                    s = off(tgt.lineno, tgt.col_offset)
                    out.append(("local", s, s + len(tgt.id.encode()), None))
        elif isinstance(node, ast.Call):
            f = node.func
            callee = f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else None
            for kw in node.keywords:
                if kw.arg is None:
                    continue
                s = off(kw.lineno, kw.col_offset)
                e = s + len(kw.arg.encode())
                if b[s:e] == kw.arg.encode():
                    out.append(("kwarg", s, e, callee))
        elif isinstance(node, ast.Name) or isinstance(node, ast.Attribute):
            if isinstance(node, ast.Name):
                s = off(node.lineno, node.col_offset)
                e = s + len(node.id.encode())
            else:
                e = off(node.end_lineno, node.end_col_offset)
                s = e - len(node.attr.encode())
            if IDENT_RE.fullmatch(b[s:e] or b"-"):
                out.append(("ident", s, e, None))
    return out


LET_RE = re.compile(rb"\blet\s+(?:mut\s+)?[A-Za-z_]\w*\s*:(?!:)\s*")


FN_RE = re.compile(rb"\bfn\s+[A-Za-z_]\w*\s*(?:<)?")
PARAM_RE = re.compile(rb"(?:mut\s+)?[A-Za-z_]\w*\s*:(?!:)\s*")
STRUCT_RE = re.compile(rb"\bstruct\s+[A-Za-z_]\w*")
FIELD_RE = re.compile(rb"^[ \t]*(?:pub(?:\([^)]*\))?[ \t]+)?([a-z_]\w*)[ \t]*:(?!:)[ \t]*", re.M)


def _skip_balanced(b, i, open_c, close_c, limit=2000):
    """Index just past the bracket that closes the one at b[i] (or -1)."""
    depth = 0
    j = i
    while j < len(b) and j - i < limit:
        c = b[j:j + 1]
        if c == open_c:
            depth += 1
        elif c == close_c and not (close_c == b">" and b[j - 1:j] == b"-"):
            depth -= 1
            if depth == 0:
                return j + 1
        j += 1
    return -1


def _type_end(b, s, stops):
    """End of a Rust type starting at s: first top-level byte in `stops` (or -1 if unbalanced)."""
    depth = 0
    i = s
    while i < len(b) and i - s < 200:
        c = b[i:i + 1]
        if c in b"<([":
            depth += 1
        elif c in b">)]":
            if c == b">" and b[i - 1:i] == b"-":
                pass
            else:
                if depth == 0:
                    return i if c in stops else -1
                depth -= 1
        elif depth == 0 and (c in stops or b[i:i + 6] == b" where"):
            return i
        i += 1
    return -1


def _type_at(b, s, stops):
    """(end, span): where the type at s ends (-1: unbalanced) and its span without trailing space."""
    e = _type_end(b, s, stops)
    if e < 0:
        return e, None
    e2 = _trim(b, s, e)
    return e, ((s, e2) if e2 > s else None)


def _trim(b, s, e):
    while e > s and b[e - 1:e] in b" \t\r\n":
        e -= 1
    return e


def rust_let_spans(b):
    """Types of typed `let`s (`let x: T = …;`, `let mut x: T;`): kind "let"."""
    out = []
    for m in LET_RE.finditer(b):
        s = m.end()
        e, span = _type_at(b, s, b"=;\n")
        if span and b[e:e + 1] in b"=;":
            out.append(("let", *span, None))
    return out


def rust_type_spans(b):
    """Types of fn parameters, fn return types and struct fields: kind "rtype".

    Auxiliary training sites for Rust type vocabulary (a `let` type is the evaluated kind,
    but typed `let`s are rare; signatures and fields are where Rust spells its types)."""
    out = []
    for m in FN_RE.finditer(b):
        i = m.end()
        if b[i - 1:i] == b"<":
            i = _skip_balanced(b, i - 1, b"<", b">")
            if i < 0:
                continue
        while i < len(b) and b[i:i + 1] in b" \t\r\n":
            i += 1
        if b[i:i + 1] != b"(":
            continue
        close = _skip_balanced(b, i, b"(", b")")
        if close < 0:
            continue
        # parameters: `pat: Type` split on top-level commas
        j = i + 1
        while j < close - 1:
            k = j
            while k < close - 1 and b[k:k + 1] in b" \t\r\n":
                k += 1
            pm = PARAM_RE.match(b, k)
            e, span = _type_at(b, pm.end() if pm else k, b",)")
            if e < 0:
                break
            if pm and span:
                out.append(("rtype", *span, None))
            j = e + 1
        # return type
        r = close
        while r < len(b) and b[r:r + 1] in b" \t\r\n":
            r += 1
        if b[r:r + 2] == b"->":
            s = r + 2
            while s < len(b) and b[s:s + 1] in b" \t":
                s += 1
            _, span = _type_at(b, s, b"{;")
            if span:
                out.append(("rtype", *span, None))
    # struct fields: `name: Type,` lines inside a `struct … {` body
    for m in STRUCT_RE.finditer(b):
        o = b.find(b"{", m.end())
        semi = b.find(b";", m.end())
        if o < 0 or (0 <= semi < o):
            continue
        c = _skip_balanced(b, o, b"{", b"}", limit=20000)
        if c < 0:
            continue
        for fm in FIELD_RE.finditer(b, o + 1, c - 1):
            _, span = _type_at(b, fm.end(), b",}")
            if span:
                out.append(("rtype", *span, None))
    return sorted(set(out), key=lambda x: (x[1], x[2]))


def generic_ident_spans(b, every=7, rng=None):
    out = []
    for i, m in enumerate(IDENT_RE.finditer(b)):
        if i % every == 0 and m.group() not in KEYWORDS and len(m.group()) > 1:
            out.append(("ident", m.start(), m.end(), None))
    return out


# ---------------------------------------------------------------- corpus index

class Corpus:
    """Files of one split with their spans and a per-package definition index."""

    def __init__(self, files, spans, defs):
        self.files = files      # list of dict(pkg, path, lang, b)
        self.spans = spans      # list (per file) of lists of (kind, s, e, extra)
        self.defs = defs        # pkg -> name -> list of (path, header bytes) sorted by path
        self.by_kind = defaultdict(list)
        for fi, sp in enumerate(spans):
            for si, x in enumerate(sp):
                self.by_kind[x[0]].append((fi, si))

    @staticmethod
    def build(jsonl, max_ident_per_file=60, seed=0):
        rng = random.Random(seed)
        files, spans = [], []
        defs = defaultdict(lambda: defaultdict(list))
        with open(jsonl) as f:
            recs = [json.loads(l) for l in f]
        recs.sort(key=lambda r: (r["pkg"], r["path"]))
        for r in recs:
            b = r["text"].encode()
            lang = r["lang"]
            if lang == "python":
                sp = python_spans(b, stub=is_stub(r["path"]))
                if sp is None:
                    continue
            elif lang == "rust":
                sp = rust_let_spans(b) + rust_type_spans(b) + generic_ident_spans(b)
            else:
                sp = generic_ident_spans(b)
            idents = [x for x in sp if x[0] == "ident"]
            if len(idents) > max_ident_per_file:
                idents = rng.sample(idents, max_ident_per_file)
            sp = sorted([x for x in sp if x[0] != "ident"] + idents, key=lambda x: (x[1], x[2]))
            fi = len(files)
            files.append({"pkg": r["pkg"], "path": r["path"], "lang": lang, "b": b})
            spans.append(sp)
            for m in DEF_RE[lang_key(lang)].finditer(b):
                defs[r["pkg"]][m.group(1)].append((r["path"], m.start(1)))
        # resolve headers lazily-cheap: store header bytes now
        d2 = {}
        path_to_b = {(f["pkg"], f["path"]): (f["b"], f["lang"]) for f in files}
        for pkg, names in defs.items():
            d2[pkg] = {}
            for name, lst in names.items():
                out = []
                seen_paths = set()
                for path, pos in lst:
                    if path in seen_paths:
                        continue  # first definition per file
                    seen_paths.add(path)
                    b, lang = path_to_b[(pkg, path)]
                    out.append((path, header_at(b, pos, lang)))
                d2[pkg][name] = out
        return Corpus(files, spans, d2)

    def save(self, p):
        with open(p, "wb") as f:
            pickle.dump((self.files, self.spans, self.defs), f)

    @staticmethod
    def load(p):
        with open(p, "rb") as f:
            return Corpus(*pickle.load(f))


# ---------------------------------------------------------------- rows

class RowBuilder:
    def __init__(self, tok, seq=256):
        self.tok = tok
        self.seq = seq
        self.snip_cache = {}

    def enc(self, b):
        if not b:
            return []
        return self.tok.encode(b.decode("utf-8", "replace"), add_special_tokens=False).ids

    def snippet_ids(self, header):
        ids = self.snip_cache.get(header)
        if ids is None:
            ids = self.enc(header)[:48]
            if len(self.snip_cache) < 200_000:
                self.snip_cache[header] = ids
        return ids

    def build(self, b, holes, primary, n, defs=None, path=None):
        """b: file bytes; holes: sorted non-overlapping list of (s, e); primary: index into holes.
        Every hole becomes a slot of n masks if it lands in the window.
        Returns (ids, slots) where slots = list of (hole_index, first_position)."""
        W = self.seq * 5 // 8
        budget = W - n
        ps, pe = holes[primary]
        # pre-crop to whole lines, at most 8 * budget bytes each side
        lo = max(0, ps - 8 * budget)
        if lo > 0:
            nl = b.find(b"\n", lo, ps)
            lo = nl + 1 if nl >= 0 else ps
        hi = min(len(b), pe + 8 * budget)
        if hi < len(b):
            nl = b.rfind(b"\n", pe, hi)
            hi = nl if nl >= 0 else pe
        slot = list(range(M0, M0 + n))

        def pieces(a, z, hs):
            out = []  # list of (ids, hole_index or None)
            cur = a
            for hi_, (s, e) in hs:
                out.append((self.enc(b[cur:s]), None))
                out.append((slot, hi_))
                cur = e
            out.append((self.enc(b[cur:z]), None))
            return out
        before = [(i, h) for i, h in enumerate(holes) if i != primary and h[0] >= lo and h[1] <= ps]
        after = [(i, h) for i, h in enumerate(holes) if i != primary and h[0] >= pe and h[1] <= hi]
        pre = pieces(lo, ps, before)
        suf = pieces(pe, hi, after)
        lp = sum(len(x[0]) for x in pre)
        lsuf = sum(len(x[0]) for x in suf)
        pb = budget * 3 // 4
        sb = budget - pb
        if lp < pb:
            sb += pb - lp
        if lsuf < sb:
            pb += sb - lsuf
        pb = min(pb, lp)
        sb = min(sb, lsuf)
        # crop prefix: keep last pb tokens; a slot cut by the crop is dropped with its text before it
        ids, slots = [], []
        pre_flat = []
        for x, h in pre:
            pre_flat.append((x, h))
        keep = pb
        kept = []
        for x, h in reversed(pre_flat):
            if keep <= 0:
                break
            if len(x) <= keep:
                kept.append((x, h))
                keep -= len(x)
            else:
                if h is None:
                    kept.append((x[len(x) - keep:], None))
                keep = 0
        for x, h in reversed(kept):
            if h is not None:
                slots.append((h, len(ids)))
            ids.extend(x)
        slots.append((primary, len(ids)))
        ids.extend(slot)
        keep = sb
        for x, h in suf:
            if keep <= 0:
                break
            if len(x) <= keep:
                if h is not None:
                    slots.append((h, len(ids)))
                ids.extend(x)
                keep -= len(x)
            else:
                if h is None:
                    ids.extend(x[:keep])
                keep = 0
        ids.append(SEP)
        if defs is not None:
            self._context(ids, b, lo, ps, pe, hi, defs, path)
        return ids[: self.seq], slots

    def _context(self, ids, b, lo, ps, pe, hi, defs, path):
        # identifiers of the (pre-cropped) window ordered by distance to the slot
        cand = []
        for m in IDENT_RE.finditer(b, lo, ps):
            cand.append((ps - m.end(), m.group()))
        for m in IDENT_RE.finditer(b, pe, hi):
            cand.append((m.start() - pe, m.group()))
        cand.sort(key=lambda x: x[0])
        done = set()
        for _, name in cand:
            room = self.seq - len(ids)
            if room < 4:
                break
            if name in done:
                continue
            done.add(name)
            lst = defs.get(name)
            if not lst:
                continue
            hdr = next((h for p, h in lst if p != path), None)
            if hdr is None:
                continue
            sn = self.snippet_ids(hdr)
            ids.append(CTX)
            ids.extend(sn[: room - 1])


def fill_target(fill_ids, n):
    return fill_ids + [EOH] * (n - len(fill_ids))
