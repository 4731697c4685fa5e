#!/usr/bin/env python3
"""Lists import circles between the source files of a Rust crate.

A file refers to another when it names a path into it (`crate::a::b`,
`super::c`, `self::d`), in a `use` or inline. Circles (strongly connected
components) of more than MAX files are printed and make the exit status 1.
Usage: import-cycles.py CRATE_SRC_DIR [MAX]
"""
import os
import re
import sys

src = sys.argv[1].rstrip("/")
limit = int(sys.argv[2]) if len(sys.argv) > 2 else 2

modules = {}  # module path tuple -> file
for root, _, files in os.walk(src):
    for name in files:
        if not name.endswith(".rs"):
            continue
        path = os.path.join(root, name)
        rel = os.path.relpath(path, src)[:-3].split(os.sep)
        if rel[-1] in ("mod", "lib", "main"):
            rel = rel[:-1]
        modules[tuple(rel)] = path
file_module = {f: m for m, f in modules.items()}


def strip_comments(text):
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    return re.sub(r"//[^\n]*", "", text)


def expand(prefix, body):
    """Paths named by a use tree `body` below `prefix`."""
    body = body.strip()
    if not body:
        return [prefix]
    if body.startswith("{") and body.endswith("}"):
        inner, depth, part, out = body[1:-1], 0, "", []
        for ch in inner + ",":
            if ch == "," and depth == 0:
                out += expand(prefix, part)
                part = ""
                continue
            depth += ch == "{"
            depth -= ch == "}"
            part += ch
        return out
    head, sep, rest = body.partition("::")
    head = head.split(" as ")[0].strip()
    if head in ("*", "self"):
        return [prefix]
    return expand(prefix + [head], rest) if sep else [prefix + [head]]


def resolve(module, path):
    """The module (file) a path starting at crate/super/self lands in."""
    if path[0] == "crate":
        base, rest = [], path[1:]
    else:
        base = list(module)
        rest = path
        while rest and rest[0] in ("super", "self"):
            if rest[0] == "super":
                base = base[:-1]
            rest = rest[1:]
    parts = base + rest
    for n in range(len(parts), -1, -1):
        if tuple(parts[:n]) in modules:
            return tuple(parts[:n])
    return None


edges = {m: set() for m in modules}
path_re = re.compile(r"\b((?:crate|super|self)(?:::(?:\{[^;]*?\}|[A-Za-z_][A-Za-z0-9_]*|\*))+)")
for module, path in modules.items():
    text = strip_comments(open(path, encoding="utf-8").read())
    # Unit tests (an inline `mod tests` at the end of a file) are not part of
    # the production graph, and their `super` is the file itself.
    text = re.split(r"#\[cfg\(test\)\]\s*mod \w+\s*\{", text)[0]
    for match in path_re.finditer(text):
        for p in expand([], match.group(1).replace("\n", " ")):
            if p and p[0] in ("crate", "super", "self"):
                target = resolve(module, p)
                # A module refers to its own submodules by declaring them; that is no import.
                if target and target != module and target[: len(module)] != module:
                    edges[module].add(target)

index, low, stack, on, comps, counter = {}, {}, [], set(), [], [0]


def connect(v):
    index[v] = low[v] = counter[0]
    counter[0] += 1
    stack.append(v)
    on.add(v)
    for w in edges[v]:
        if w not in index:
            connect(w)
            low[v] = min(low[v], low[w])
        elif w in on:
            low[v] = min(low[v], index[w])
    if low[v] == index[v]:
        comp = []
        while True:
            w = stack.pop()
            on.discard(w)
            comp.append(w)
            if w == v:
                break
        comps.append(comp)


sys.setrecursionlimit(10000)
for v in modules:
    if v not in index:
        connect(v)
bad = [c for c in comps if len(c) > limit]
for comp in bad:
    print(f"import circle of {len(comp)} files:")
    for m in sorted(comp):
        print("  ", os.path.relpath(modules[m], src))
print(f"{len(bad)} import circles of more than {limit} files in {src}")
sys.exit(1 if bad else 0)
