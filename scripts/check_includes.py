#!/usr/bin/env python3
"""Include-direction check (scripts/check --includes-only runs it; no build needed).

The table of who may depend on whom is the one the build uses: the minion_add_library() and
minion_link_optional() calls in src/**/CMakeLists.txt (DEPS, PRIVATE_DEPS, PUBLIC_HEADERS,
INTERNAL, INTERNAL_HEADERS; see cmake/MinionHelpers.cmake). Conditions around those calls
(MINION_WITH_* options) are ignored, so every optional part is checked. For every .h/.cc file
under src/ and include/minion/ it finds the library that owns the file and fails when the file
  - includes "minion/<...>" published by a library that its library cannot see (itself, its
    DEPS/PRIVATE_DEPS, and their DEPS transitively: what CMake's PUBLIC/PRIVATE gives it),
  - includes another library's private header ("<folder>/x.h" under src/) unless that
    library is INTERNAL and linked,
  - is a public header that includes anything under src/ (or generated code, except in a
    NO_INSTALL library, which is never installed),
  - belongs to no library, or includes a "minion/..." header no library publishes.
It also fails when the libraries' dependencies form a cycle. The programs under apps/ and
examples/ may include the "minion/..." headers of the libraries their CMakeLists.txt links
(target_link_libraries, and those libraries' DEPS transitively) and their own files, never src/.
"""
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
KEYWORDS = {"SOURCES", "DEPS", "PRIVATE_DEPS", "PUBLIC_HEADERS", "INTERNAL_HEADERS", "INTERNAL",
            "NO_INSTALL"}
INCLUDE_RE = re.compile(r'^\s*#\s*include\s+"([^"]+)"')


def quoted_includes(f):
    """Yields (header, "file:line: #include ...") for each #include "..." of tracked file f."""
    for lineno, line in enumerate(open(os.path.join(ROOT, f), encoding="utf-8"), 1):
        m = INCLUDE_RE.match(line)
        if m:
            yield m.group(1), f"{f}:{lineno}: #include \"{m.group(1)}\""


def strip_comments(text):
    return "\n".join(line.split("#", 1)[0] for line in text.splitlines())


def calls(text, command):
    """Argument lists (whitespace-split) of every `command(...)` call in a CMake file."""
    for m in re.finditer(r"\b" + command + r"\s*\(", text):
        depth, i = 1, m.end()
        while depth and i < len(text):
            depth += {"(": 1, ")": -1}.get(text[i], 0)
            i += 1
        yield text[m.end():i - 1].split()


class Library:
    def __init__(self, name, folder, cmake_file):
        self.name, self.folder, self.cmake_file = name, folder, cmake_file
        self.internal = self.no_install = False
        self.sources, self.public_headers, self.internal_headers = set(), [], set()
        self.deps, self.private_deps = [], []


def load_libraries():
    libs = {}
    optional = []
    for dirpath, _, files in os.walk(os.path.join(ROOT, "src")):
        if "CMakeLists.txt" not in files:
            continue
        path = os.path.join(dirpath, "CMakeLists.txt")
        folder = os.path.relpath(dirpath, os.path.join(ROOT, "src")).replace(os.sep, "/")
        text = strip_comments(open(path, encoding="utf-8").read())
        for args in calls(text, "minion_add_library"):
            lib = Library(args[0], folder, os.path.relpath(path, ROOT))
            key = None
            for tok in args[1:]:
                if tok in KEYWORDS:
                    key = tok
                    if tok == "INTERNAL":
                        lib.internal = True
                    if tok == "NO_INSTALL":
                        lib.no_install = True
                    continue
                if tok.startswith("${") or tok.startswith("$<"):
                    continue
                if key == "SOURCES":
                    lib.sources.add(os.path.normpath(f"src/{folder}/{tok}"))
                elif key == "DEPS":
                    lib.deps.append(tok)
                elif key == "PRIVATE_DEPS":
                    lib.private_deps.append(tok)
                elif key == "PUBLIC_HEADERS":
                    lib.public_headers.append(tok)
                elif key == "INTERNAL_HEADERS":
                    lib.internal_headers.add(f"src/{folder}/{tok}")
            if not lib.internal and not lib.public_headers:
                if os.path.isdir(os.path.join(ROOT, "include", "minion", folder)):
                    lib.public_headers.append(f"minion/{folder}/")
            libs[lib.name] = lib
        for args in calls(text, "minion_link_optional"):
            optional.append((args[0], args[1:]))
    for name, deps in optional:
        libs[name].private_deps.extend(deps)
    for lib in libs.values():  # only edges between minion libraries matter here
        lib.deps = [d for d in lib.deps if d in libs]
        lib.private_deps = [d for d in lib.private_deps if d in libs]
    return libs


def load_programs(libs):
    """The programs of apps/ and examples/: (folder, {libraries they link}) per folder with a
    CMakeLists.txt, read from its target_link_libraries() calls (minion::x is minion_x)."""
    programs = []
    for top in ("apps", "examples"):
        for dirpath, _, files in os.walk(os.path.join(ROOT, top)):
            if "CMakeLists.txt" not in files:
                continue
            path = os.path.join(dirpath, "CMakeLists.txt")
            text = strip_comments(open(path, encoding="utf-8").read())
            linked = set()
            for args in calls(text, "target_link_libraries"):
                for tok in args[1:]:
                    name = "minion_" + tok[len("minion::"):] if tok.startswith("minion::") else tok
                    if name in libs:
                        linked.add(name)
            programs.append((os.path.relpath(dirpath, ROOT).replace(os.sep, "/"),
                             os.path.relpath(path, ROOT), linked))
    return programs


def find_cycle(libs):
    state, stack = {}, []

    def visit(n):
        state[n] = 1
        stack.append(n)
        for d in libs[n].deps + libs[n].private_deps:
            if state.get(d) == 1:
                return stack[stack.index(d):] + [d]
            if d not in state:
                cycle = visit(d)
                if cycle:
                    return cycle
        stack.pop()
        state[n] = 2
        return None

    for n in sorted(libs):
        if n not in state:
            cycle = visit(n)
            if cycle:
                return cycle
    return None


def public_closures(libs):
    """Each library with its PUBLIC (DEPS) dependencies, transitively: what linking it shows."""
    public = {}

    def public_closure(n):
        if n not in public:
            public[n] = {n}
            for d in libs[n].deps:
                public[n] |= public_closure(d)
        return public[n]

    for n in libs:
        public_closure(n)
    return public


def visible(libs):
    """What each library's sources can see: itself plus every direct dependency and, through
    those, their PUBLIC (DEPS) dependencies transitively."""
    public = public_closures(libs)
    return {n: set().union({n}, *(public[d] for d in l.deps + l.private_deps))
            for n, l in libs.items()}


def main():
    libs = load_libraries()
    if "--table" in sys.argv[1:]:  # the dependency table, as docs/architecture.md shows it
        print("| library | folder | DEPS (public) | PRIVATE_DEPS |\n|---|---|---|---|")
        for n in sorted(libs):
            l = libs[n]
            kind = " (internal)" if l.internal else ""
            print(f"| `{n}`{kind} | src/{l.folder} | {', '.join(l.deps) or '—'} | "
                  f"{', '.join(l.private_deps) or '—'} |")
        return 0
    errors = []
    cycle = find_cycle(libs)
    if cycle:
        errors.append("dependency cycle: " + " -> ".join(cycle))
    sees = visible(libs)
    claimed = {}
    for l in libs.values():
        for h in l.public_headers:
            if h in claimed:
                errors.append(f"{l.cmake_file}: {l.name} and {claimed[h]} both publish {h}; "
                              "list each one's PUBLIC_HEADERS")
            claimed[h] = l.name

    def public_owner(inc):
        for l in libs.values():
            for h in l.public_headers:
                if inc == h or (h.endswith("/") and inc.startswith(h) and "/" not in inc[len(h):]):
                    return l
        return None

    def private_owners(path):  # path relative to ROOT, under src/
        explicit = [l for l in libs.values() if path in l.internal_headers]
        if explicit:
            return explicit
        folder = os.path.dirname(path)[len("src/"):]
        return [l for l in libs.values() if l.folder == folder and not l.internal_headers]

    files = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard",
                            "src", "include"], cwd=ROOT, capture_output=True, text=True,
                           check=True).stdout.split()
    for f in sorted(files):
        if not f.endswith((".h", ".cc")) or not os.path.exists(os.path.join(ROOT, f)):
            continue
        if f.startswith("include/"):
            owner = public_owner(f[len("include/"):])
            owners = [owner] if owner else []
        elif f.endswith(".cc"):
            owners = [l for l in libs.values() if f in l.sources]
        else:
            owners = private_owners(f)
        if not owners:
            errors.append(f"{f}: belongs to no library (list it in a minion_add_library() in "
                          "its folder's CMakeLists.txt, or add the folder to src/CMakeLists.txt)")
            continue
        names = {o.name for o in owners}
        can_see = set().union(*(sees[o.name] for o in owners))
        for inc, where in quoted_includes(f):
            if inc.startswith("minion/"):
                target = public_owner(inc)
                if target is None:
                    errors.append(f"{where}: no library publishes this header")
                elif target.name not in can_see:
                    who = "/".join(sorted(names))
                    errors.append(
                        f"{where}: {who} does not depend on {target.name}. If the direction "
                        f"is right (docs/architecture.md), declare it in DEPS or PRIVATE_DEPS "
                        f"in {owners[0].cmake_file}; otherwise move the code.")
                continue
            private = os.path.normpath(f"src/{inc}")
            if f.startswith("include/"):
                generated = inc.endswith(".pb.h") and not os.path.exists(os.path.join(ROOT, private))
                if not (generated and all(o.no_install for o in owners)):
                    errors.append(f"{where}: a public header may include only other public "
                                  "headers (\"minion/...\"), never private or generated ones "
                                  "(generated ones only in a NO_INSTALL library)")
                continue
            if not os.path.exists(os.path.join(ROOT, private)):
                continue  # a header next to the file, generated code, or a system header
            targets = private_owners(private)
            own_folder = any(o.folder == os.path.dirname(private)[len("src/"):]
                             and not o.internal_headers for o in owners)
            if not targets or own_folder or any(t.name in names for t in targets):
                continue
            if any(t.internal and t.name in can_see for t in targets):
                continue
            internal = [t.name for t in targets if t.internal]
            if internal:
                errors.append(
                    f"{where}: {'/'.join(sorted(names))} does not link the INTERNAL library "
                    f"{'/'.join(internal)}; declare it in PRIVATE_DEPS in {owners[0].cmake_file}.")
            else:
                errors.append(
                    f"{where}: private header of {'/'.join(t.name for t in targets)}. Shared "
                    "private code belongs in an INTERNAL library that both link "
                    "(cmake/MinionHelpers.cmake).")
    # Programs (apps/, examples/): "minion/..." headers of the libraries they link only, and
    # never a private header of src/ (what the build's include roots give them).
    public = public_closures(libs)
    programs = load_programs(libs)
    program_files = subprocess.run(["git", "ls-files", "--cached", "--others",
                                    "--exclude-standard", "apps", "examples"], cwd=ROOT,
                                   capture_output=True, text=True, check=True).stdout.split()
    for folder, cmake_file, linked in programs:
        can_see = set().union(*(public[n] for n in linked)) if linked else set()
        for f in sorted(program_files):
            if os.path.dirname(f) != folder or not f.endswith((".h", ".cc")):
                continue
            if not os.path.exists(os.path.join(ROOT, f)):
                continue
            for inc, where in quoted_includes(f):
                if inc.startswith("minion/"):
                    target = public_owner(inc)
                    if target is None:
                        errors.append(f"{where}: no library publishes this header")
                    elif target.name not in can_see:
                        errors.append(f"{where}: {cmake_file} does not link {target.name} "
                                      "(target_link_libraries)")
                elif (not os.path.exists(os.path.join(ROOT, folder, inc))
                      and os.path.exists(os.path.join(ROOT, "src", inc))):
                    errors.append(f"{where}: a program may include public headers "
                                  "(\"minion/...\") and its own files only, never src/")
        files.extend(f for f in program_files if os.path.dirname(f) == folder
                     and f.endswith((".h", ".cc")))
    for e in errors:
        print(e, file=sys.stderr)
    if errors:
        print(f"check_includes: {len(errors)} problem(s)", file=sys.stderr)
        return 1
    print(f"check_includes: {len(files)} files, {len(libs)} libraries, {len(programs)} program "
          "folders: include directions ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
