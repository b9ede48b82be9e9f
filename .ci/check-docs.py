#!/usr/bin/env python3
"""Checks the project's documents: every relative link and anchor resolves, and every test
they name exists.

- Links: each `[text](target)` and `![alt](target)` of every Markdown file the repository
  holds (outside code blocks and code spans) must name a file or folder that exists, and an
  anchor (`#...`) a heading of that Markdown file, as GitHub makes anchors of headings.
  Addresses with a scheme (https:, mailto:) are not fetched.
- Anchors cited in the code: a `README.md#...` or `docs/....md#...` in src/ or tests/ (help
  text and error messages may cite a section) must resolve the same way.
- Tests: a name in backticks whose last part looks like a test function
  (`module::a_row_that_..._is_refused`, at least three underscores) must be a `fn` under
  tests/ or src/, in a file whose path holds each module part named before it.

Run from anywhere: `python3 .ci/check-docs.py`. Prints each problem with its file and line
and exits 1 when there is one, else prints what it checked and exits 0.
"""

import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def tracked_and_new(pattern):
    out = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "--", pattern],
        cwd=ROOT, check=True, capture_output=True, text=True,
    ).stdout
    return sorted(set(p for p in out.splitlines() if os.path.exists(os.path.join(ROOT, p))))


def prose_lines(text):
    """(line number, line) of the lines outside fenced code blocks."""
    fence = None
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.lstrip()
        marker = re.match(r"(`{3,}|~{3,})", stripped)
        if marker:
            if fence is None:
                fence = marker.group(1)[0] * len(marker.group(1))
                continue
            if stripped.startswith(fence):
                fence = None
                continue
        if fence is None:
            yield number, line


def slug(heading):
    """The anchor GitHub gives a heading."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading.strip())
    text = text.replace("`", "").lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


ANCHORS = {}


def anchors(path):
    if path not in ANCHORS:
        found = set()
        seen = {}
        with open(path, encoding="utf-8") as f:
            for _, line in prose_lines(f.read()):
                m = re.match(r"#{1,6}\s+(.*?)\s*#*\s*$", line)
                if m:
                    base = slug(m.group(1))
                    n = seen.get(base, 0)
                    found.add(base if n == 0 else f"{base}-{n}")
                    seen[base] = n + 1
                for a in re.findall(r'<a\s+(?:name|id)="([^"]+)"', line):
                    found.add(a)
        ANCHORS[path] = found
    return ANCHORS[path]


LINK = re.compile(r"!?\[(?:[^\]\[]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")


def check_target(source, number, target, problems):
    """One link of `source` (a path under ROOT) to `target`."""
    if re.match(r"[a-zA-Z][a-zA-Z0-9+.-]*:", target):
        return
    path_part, _, anchor = target.partition("#")
    if path_part:
        resolved = os.path.normpath(os.path.join(ROOT, os.path.dirname(source), path_part))
    else:
        resolved = os.path.join(ROOT, source)
    if not os.path.exists(resolved):
        problems.append(f"{source}:{number}: {target}: no such file")
        return
    if anchor:
        if not resolved.endswith(".md"):
            problems.append(f"{source}:{number}: {target}: an anchor into a file that is not Markdown")
        elif anchor not in anchors(resolved):
            problems.append(
                f"{source}:{number}: {target}: no heading of {os.path.relpath(resolved, ROOT)} has this anchor"
            )


def check_links(markdown, problems):
    count = 0
    for source in markdown:
        with open(os.path.join(ROOT, source), encoding="utf-8") as f:
            text = f.read()
        for number, line in prose_lines(text):
            line = re.sub(r"`[^`]*`", "", line)
            for target in LINK.findall(line):
                count += 1
                check_target(source, number, target, problems)
    return count


CITED = re.compile(r"((?:[\w./-]*/)?(?:README|[\w-]+)\.md#[\w-]+)")


def check_cited_anchors(code_files, problems):
    count = 0
    for source in code_files:
        with open(os.path.join(ROOT, source), encoding="utf-8", errors="replace") as f:
            for number, line in enumerate(f, 1):
                for target in CITED.findall(line):
                    count += 1
                    # Cited from the code, a path is the repository's, not the source file's.
                    path_part, _, anchor = target.partition("#")
                    resolved = os.path.join(ROOT, path_part)
                    if not os.path.exists(resolved):
                        problems.append(f"{source}:{number}: {target}: no such file")
                    elif anchor not in anchors(resolved):
                        problems.append(f"{source}:{number}: {target}: no heading has this anchor")
    return count


def test_functions(code_files):
    """Each fn name to the paths of the files that define it."""
    where = {}
    for source in code_files:
        with open(os.path.join(ROOT, source), encoding="utf-8", errors="replace") as f:
            for name in re.findall(r"\bfn\s+([a-z0-9_]+)", f.read()):
                where.setdefault(name, set()).add(source)
    return where


def check_test_names(markdown, code_files, problems):
    where = test_functions(code_files)
    count = 0
    for source in markdown:
        with open(os.path.join(ROOT, source), encoding="utf-8") as f:
            text = f.read()
        for number, line in enumerate(text.splitlines(), 1):
            for span in re.findall(r"`([^`]+)`", line):
                m = re.fullmatch(r"((?:[a-z0-9_]+::)*)([a-z][a-z0-9_]*)", span.strip())
                if not m or m.group(2).count("_") < 3:
                    continue
                name = m.group(2)
                modules = [p for p in m.group(1).split("::") if p]
                if not modules:
                    # A bare name follows its module in the same line (`record::journal` `name`).
                    before = line[: line.find(f"`{span}`")]
                    prior = re.findall(r"`((?:[a-z0-9_]+::)*[a-z0-9_]+)`\s*$", before)
                    modules = prior[-1].split("::") if prior else []
                    if not modules and name not in where:
                        problems.append(f"{source}:{number}: test {name}: no fn of that name in tests/ or src/")
                        count += 1
                        continue
                    if not modules:
                        count += 1
                        continue
                count += 1
                files = where.get(name)
                if not files:
                    problems.append(f"{source}:{number}: test {'::'.join(modules + [name])}: no fn of that name in tests/ or src/")
                    continue
                if not any(all(re.search(rf"(^|/){re.escape(mod)}(/|\.rs$|$)", f) for mod in modules) for f in files):
                    problems.append(
                        f"{source}:{number}: test {'::'.join(modules + [name])}: fn found only in {', '.join(sorted(files))}"
                    )
    return count


def main():
    markdown = [p for p in tracked_and_new("*.md") if not p.startswith("target/")]
    code_files = [p for p in tracked_and_new("*.rs") if p.startswith(("src/", "tests/"))]
    problems = []
    links = check_links(markdown, problems)
    cited = check_cited_anchors(code_files, problems)
    tests = check_test_names(markdown, code_files, problems)
    for p in problems:
        print(p)
    if problems:
        print(f"{len(problems)} problem(s)", file=sys.stderr)
        return 1
    print(
        f"{len(markdown)} Markdown files: {links} links resolve; {cited} anchors cited in src/ and "
        f"tests/ resolve; {tests} test names cited exist"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
