#!/usr/bin/env python3
"""Checks the README's architecture table against the CMake targets.

Usage: check_architecture.py README.md smpkit_deps.txt

smpkit_deps.txt (written by CMake at configure time) lists each library's direct smpkit
dependencies as "lib: dep dep ...". The README's "## Architecture" section has a table whose
rows start "| `lib` | dep, dep |" ("—" for none). Both must name the same libraries with the
same dependencies. The section's layer list (" layer N  label  lib, lib  comment") places
every library, and a library may link only libraries of its own row or of a lower layer.
The build's own libraries are checked; "testing" (test support) has no row."""
import re
import sys


def readme_table(path):
    text = open(path, encoding="utf-8").read()
    m = re.search(r"^## Architecture\n(.*?)(?=^## )", text, re.S | re.M)
    if not m:
        sys.exit(f"{path}: no '## Architecture' section")
    rows = {}
    for line in m.group(1).splitlines():
        r = re.match(r"^\|\s*`([a-z_]+)`\s*\|\s*([^|]*)\|", line)
        if not r:
            continue
        deps = r.group(2).strip()
        names = [] if deps in ("—", "-", "") else re.findall(r"[a-z_]+", deps)
        rows[r.group(1)] = set(names)
    if not rows:
        sys.exit(f"{path}: the architecture section has no library table")
    layer = {}  # lib -> (layer number, row label)
    for r in re.finditer(r"^ layer (\d+) +([a-z ]+?) {2,}([a-z, ]+?)(?: {2,}|$)", m.group(1), re.M):
        for lib in re.findall(r"[a-z_]+", r.group(3)):
            layer[lib] = (int(r.group(1)), r.group(2))
    return rows, layer


def cmake_deps(path):
    out = {}
    for line in open(path, encoding="utf-8"):
        if ":" not in line:
            continue
        lib, deps = line.split(":", 1)
        out[lib.strip()] = set(deps.split())
    return out


def main():
    (readme, layer), deps = readme_table(sys.argv[1]), cmake_deps(sys.argv[2])
    problems = []
    # The layer rule: a library links only libraries of its own row or of a lower layer.
    for lib, ds in deps.items():
        if lib == "testing":
            continue
        if lib not in layer:
            problems.append(f"library {lib} is in no row of the README's layer list")
            continue
        for d in ds:
            if d not in layer:
                continue  # reported on its own
            if not (layer[d][0] < layer[lib][0] or layer[d] == layer[lib]):
                problems.append(f"{lib} ({layer[lib][1]}, layer {layer[lib][0]}) links {d} "
                                f"({layer[d][1]}, layer {layer[d][0]})")
    for lib in sorted(set(readme) | set(deps)):
        if lib not in readme:
            problems.append(f"library {lib} is built but not in the README's table")
        elif lib not in deps:
            problems.append(f"library {lib} is in the README's table but not built")
        elif readme[lib] != deps[lib]:
            problems.append(f"{lib}: README says {sorted(readme[lib])}, CMake links {sorted(deps[lib])}")
    for p in problems:
        print(p)
    if problems:
        sys.exit(1)
    print(f"README architecture table matches the {len(deps)} CMake libraries")


main()
