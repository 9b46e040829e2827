#!/usr/bin/env python3
"""Fails when the crate's top-level modules import each other in a cycle.

Reads every `use crate::…` / `crate::…` path in src/ and builds a graph
between modules (a module is a file under src/, or a folder's mod.rs; its
submodules count as itself only through their own files). Prints each
cycle and exits 1 if there is one. Run by .ci/run.

    python3 scripts/module_cycles.py          # check
    python3 scripts/module_cycles.py --graph  # print the edges
"""
import re
import sys
from pathlib import Path

SRC = Path(__file__).resolve().parent.parent / "src"
# `crate::a::b` (in a `use` or an expression), and grouped `use crate::{a, b::c}`.
PATH = re.compile(r"\bcrate::((?:[a-z_][a-z0-9_]*)(?:::[a-z_][a-z0-9_]*)*)")
GROUP = re.compile(r"\buse\s+crate::\{([^;]*)\}", re.S)
SUPER = re.compile(r"\b(super(?:::super)*)::([a-z_][a-z0-9_]*)")


def module_of(path: Path) -> str:
    rel = path.relative_to(SRC).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "mod":
        parts.pop()
    if parts in (["lib"], ["main"]):
        return "crate"
    return "::".join(parts)


def modules():
    return {module_of(p): p for p in sorted(SRC.rglob("*.rs"))}


def resolve(target: str, known) -> str:
    """The longest known module that `target` (a::b::Item) starts with."""
    parts = target.split("::")
    for n in range(len(parts), 0, -1):
        cand = "::".join(parts[:n])
        if cand in known:
            return cand
    return parts[0]


def strip_comments(text: str) -> str:
    text = re.sub(r"//[^\n]*", "", text)
    return re.sub(r"/\*.*?\*/", "", text, flags=re.S)


def edges():
    known = modules()
    out = {m: set() for m in known}
    for mod, path in known.items():
        text = strip_comments(path.read_text())
        # Tests inside a module may use anything; they are not part of the graph.
        text = re.split(r"#\[cfg\(test\)\]", text)[0]
        targets = [m.group(1) for m in PATH.finditer(text)]
        for g in GROUP.finditer(text):
            for item in re.split(r",(?![^{]*\})", g.group(1)):
                item = item.strip()
                if item:
                    targets.append(re.split(r"[:{\s]", item)[0] if "::" not in item else item.split("::{")[0])
        for m in SUPER.finditer(text):
            ups = m.group(1).count("super")
            base = mod.split("::")
            if path.name != "mod.rs":
                base = base[:-1]
            base = base[: len(base) - (ups - 1)] if ups > 1 else base
            targets.append("::".join(base + [m.group(2)]))
        for t in targets:
            dst = resolve(t, known)
            if dst != mod and dst in known and not is_ancestor(dst, mod) and not is_ancestor(mod, dst):
                out[mod].add(dst)
    return out


def is_ancestor(a: str, b: str) -> bool:
    """A folder module and its own submodules are one unit for this check."""
    return a == "crate" or b.startswith(a + "::")


def top(m: str) -> str:
    return m.split("::")[0]


def cycles(graph):
    # Collapse to top-level modules (cli, rule, matcher, …): the layering
    # the code map describes is between those.
    g = {}
    for a, bs in graph.items():
        for b in bs:
            if top(a) != top(b):
                g.setdefault(top(a), set()).add(top(b))
    found, state, stack = [], {}, []

    def visit(n):
        state[n] = 1
        stack.append(n)
        for m in sorted(g.get(n, ())):
            if state.get(m) == 1:
                found.append(stack[stack.index(m):] + [m])
            elif m not in state:
                visit(m)
        stack.pop()
        state[n] = 2

    for n in sorted(g):
        if n not in state:
            visit(n)
    return g, found


def main():
    graph, found = cycles(edges())
    if "--graph" in sys.argv:
        for a in sorted(graph):
            print(f"{a} -> {', '.join(sorted(graph[a]))}")
    for c in found:
        print("cycle: " + " -> ".join(c))
    if found:
        print(f"{len(found)} import cycle(s) between modules of src/")
        return 1
    print(f"no import cycles between the {len(graph)} top-level modules of src/ that import others")
    return 0


if __name__ == "__main__":
    sys.exit(main())
