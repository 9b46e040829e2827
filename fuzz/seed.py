#!/usr/bin/env python3
"""Seeds fuzz/corpus/<target>/ from the shipped rules, the rule fixtures and
fuzz/seeds/ (stdlib only; run from anywhere, as often as you like)."""

import hashlib
import pathlib
import re

ROOT = pathlib.Path(__file__).resolve().parent.parent
CORPUS = ROOT / "fuzz" / "corpus"
# Lang::ALL order (src/lang.rs): byte 0 of a `pattern` input picks one.
LANGS = ["rust", "python", "javascript", "typescript", "tsx", "go", "java", "c", "cpp"]
# fuzz/harness.rs RENDER_LANGS: byte 0 of a `fix_render` input picks one.
RENDER_LANGS = ["python", "javascript", "rust", "go"]


def put(target, data):
    folder = CORPUS / target
    folder.mkdir(parents=True, exist_ok=True)
    (folder / hashlib.sha1(data).hexdigest()).write_bytes(data)


def rule_files():
    files = sorted((ROOT / "rules").rglob("*.yml"))
    files += sorted((ROOT / "fixtures").rglob("rules.yml"))
    files += sorted((ROOT / "fuzz" / "seeds" / "rule_loader").glob("*.yml"))
    return [f for f in files if not re.search(r"[.-]test\.ya?ml$", f.name)]


def scalar(value):
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        value = value[1:-1]
    return value


def main():
    for f in rule_files():
        text = f.read_text(encoding="utf-8")
        put("rule_loader", text.encode())
        lang = re.search(r"^language:\s*(\S+)", text, re.M)
        lang = lang.group(1).lower() if lang else "python"
        for m in re.finditer(r"^\s*(?:- )?(pattern|context|fix|template):\s*(.+)$", text, re.M):
            key, value = m.group(1), scalar(m.group(2))
            if key in ("pattern", "context") and lang in LANGS:
                for strictness in range(5):
                    head = LANGS.index(lang) + len(LANGS) * strictness
                    put("pattern", bytes([head]) + value.encode())
            elif key in ("fix", "template"):
                for i in range(len(RENDER_LANGS)):
                    put("fix_render", bytes([i, 0b1111, 1, 0xFF]) + value.encode())
    # Multi-line templates and transforms (`\0regex\0by` tail).
    for tpl in [b"log($A,\n    $$$R)", b"$F($$$R)\n  # $?H\n$T1 $T2 $T3", b"$$A$$$R\0[a-z]+\0X"]:
        put("fix_render", bytes([0, 0b0101_1111, 0xFE, 3]) + tpl)
    print(f"corpus ready under {CORPUS}")


if __name__ == "__main__":
    main()
