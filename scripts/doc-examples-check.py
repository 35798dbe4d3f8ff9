#!/usr/bin/env python3
"""List the public entry points of a crate whose doc comment has no example.

Usage: scripts/doc-examples-check.py CRATE_DIR   (for example crates/mote-edhoc)

A public entry point is a `pub fn` (free function, or method of an inherent `impl` block) in
any source file under CRATE_DIR/src. Not counted: `pub(crate)` / `pub(super)` / `pub(in ..)`
items, methods of trait implementations (`impl Trait for Type`, documented on the trait),
anything inside a `#[cfg(test)]` module, and free functions of a private module (a module
declared `mod x;` without `pub`; methods of types defined there are still counted, since the
types may be re-exported). An inline module (`mod x { .. }`) counts as public, since its
items are usually re-exported (`pub use x::*`). An entry point has an example when its `///` doc comment (or a
`#[doc = ...]` attribute above it) contains a fenced code block (```).

Prints one line per entry point without an example (`path:line: name`) and a summary; exits
1 when any is missing, 0 otherwise. Standard library only.
"""

import os
import re
import sys

PUB_FN = re.compile(r"^\s*pub\s+(?:const\s+)?(?:async\s+)?(?:unsafe\s+)?(?:extern\s+\"[^\"]*\"\s+)?fn\s+([A-Za-z_][A-Za-z0-9_]*)")
IMPL = re.compile(r"^\s*(?:unsafe\s+)?impl\b")
MOD_DECL = re.compile(r"^\s*(pub(?:\([^)]*\))?\s+)?mod\s+([A-Za-z_][A-Za-z0-9_]*)\s*;")
INLINE_MOD = re.compile(r"^\s*(pub(?:\([^)]*\))?\s+)?mod\s+([A-Za-z_][A-Za-z0-9_]*)\s*\{")


def strip_code(line, in_block_comment):
    """Remove comments, string and char literals from one line, so that braces can be counted.

    Returns the stripped text and whether a block comment is still open at the end of the line.
    Raw strings spanning lines are not handled (none of our crates needs it for braces).
    """
    out = []
    i = 0
    n = len(line)
    while i < n:
        if in_block_comment:
            end = line.find("*/", i)
            if end < 0:
                return "".join(out), True
            i = end + 2
            in_block_comment = False
            continue
        c = line[i]
        if line.startswith("//", i):
            break
        if line.startswith("/*", i):
            in_block_comment = True
            i += 2
            continue
        if c == '"':
            i += 1
            while i < n and line[i] != '"':
                i += 2 if line[i] == "\\" else 1
            i += 1
            out.append('""')
            continue
        if c == "'":
            # A char literal ('x', '\n', '\u{..}') or a lifetime ('a): skip only the former.
            m = re.match(r"'(\\.|\\u\{[0-9a-fA-F]+\}|[^\\'])'", line[i:])
            if m:
                i += len(m.group(0))
                out.append("' '")
                continue
        out.append(c)
        i += 1
    return "".join(out), in_block_comment


def private_module_files(src):
    """Files of modules that lib.rs declares without `pub` (their free functions are private)."""
    private = set()
    lib = os.path.join(src, "lib.rs")
    if not os.path.exists(lib):
        return private
    with open(lib, encoding="utf-8") as f:
        for line in f:
            m = MOD_DECL.match(line)
            if m and (m.group(1) is None or m.group(1).strip().startswith("pub(")):
                name = m.group(2)
                for cand in (os.path.join(src, name + ".rs"), os.path.join(src, name, "mod.rs")):
                    private.add(os.path.normpath(cand))
                private.add(os.path.normpath(os.path.join(src, name)) + os.sep)
    return private


def in_private(path, private):
    path = os.path.normpath(path)
    return path in private or any(p.endswith(os.sep) and path.startswith(p) for p in private)


def check_file(path, private_file):
    missing = []
    total = 0
    with open(path, encoding="utf-8") as f:
        lines = f.read().split("\n")

    depth = 0
    # Stack of (kind, depth at which the block's body opens); kind is "trait_impl", "impl",
    # "test_mod", "mod" or "other".
    stack = []
    pending = None  # kind of a block whose `{` has not been seen yet
    doc = []  # doc comment / attribute lines collected above the current item
    cfg_test = False
    in_block = False
    header = ""  # text of an `impl` header spanning several lines

    for lineno, raw in enumerate(lines, 1):
        stripped = raw.strip()
        if not in_block and (stripped.startswith("///") or stripped.startswith("#[doc")):
            doc.append(stripped)
            continue
        if not in_block and stripped.startswith("#["):
            if re.match(r"#\[cfg\((all\()?test\b", stripped):
                cfg_test = True
            doc.append(stripped)
            continue

        inside_test = any(k == "test_mod" for k, _ in stack)
        inside_trait_impl = any(k == "trait_impl" for k, _ in stack)
        inside_impl = bool(stack) and stack[-1][0] == "impl"
        at_module_level = not stack or stack[-1][0] == "mod"

        m = PUB_FN.match(raw) if not in_block else None
        if m and not inside_test and not inside_trait_impl and (inside_impl or at_module_level):
            if not (at_module_level and private_file):
                total += 1
                has_example = any("```" in d for d in doc)
                if not has_example:
                    missing.append((lineno, m.group(1)))

        code, in_block = strip_code(raw, in_block)

        if pending is None and not in_block:
            if IMPL.match(code) or header:
                header += " " + code
                if "{" in code:
                    head = re.split(r"\bwhere\b", header.split("{", 1)[0])[0]
                    # `impl<T> Trait for Type`: a `for` outside generics (and outside a `where`
                    # clause, where `for<'a>` bounds live) marks a trait impl.
                    prev = None
                    while prev != head:
                        prev, head = head, re.sub(r"<[^<>]*>", "", head)
                    pending = "trait_impl" if re.search(r"\bfor\b", head) else "impl"
                    header = ""
            elif INLINE_MOD.match(code):
                pending = "test_mod" if cfg_test else "mod"
            elif re.match(r"^\s*(pub(\([^)]*\))?\s+)?trait\b", code):
                pending = "other"

        for ch in code:
            if ch == "{":
                depth += 1
                stack.append((pending or "other", depth))
                pending = None
            elif ch == "}":
                if stack:
                    stack.pop()
                depth -= 1

        if stripped and not stripped.startswith("//"):
            doc = []
            if not stripped.startswith("#["):
                cfg_test = False
    return total, missing


def main():
    if len(sys.argv) != 2:
        print(__doc__.strip().split("\n")[2], file=sys.stderr)
        return 2
    crate = sys.argv[1]
    src = os.path.join(crate, "src")
    if not os.path.isdir(src):
        print(f"{crate}: no src/ directory", file=sys.stderr)
        return 2
    private = private_module_files(src)
    total = 0
    missing = []
    for dirpath, _dirs, files in sorted(os.walk(src)):
        for name in sorted(files):
            if not name.endswith(".rs"):
                continue
            path = os.path.join(dirpath, name)
            t, m = check_file(path, in_private(path, private))
            total += t
            missing.extend((path, lineno, fn) for lineno, fn in m)
    for path, lineno, fn in missing:
        print(f"{path}:{lineno}: {fn}")
    print(f"{crate}: {total} public entry points, {len(missing)} without a doc example")
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
