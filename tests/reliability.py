"""The table of bad inputs in ``docs/reliability.md``, written by the tests that check them.

A test module makes one :class:`Table` (its own section of the document) and
records each case it checks with :meth:`Table.record`: the case, the command as a
user types it, the exit code and the one line on stderr. Its last test calls
:meth:`Table.check`, which compares the section with what was recorded, so the
document cannot drift from the code; with ``ZENOPS_WRITE_DOCS=1`` it rewrites the
section instead. The comparison runs only when every test of the module ran and
passed in the session (a ``-k`` selection records a part of the table only).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

DOC = Path(__file__).resolve().parents[1] / "docs" / "reliability.md"
HEADER = """# Reliability: every bad input, its message and exit code

Each row is written by the test that checks it (`tests/reliability.py`); the tests
fail when this file and the code disagree. Regenerate it with
`ZENOPS_WRITE_DOCS=1 .venv/bin/python -m pytest -q TEST_FILE`.

Exit code 2: bad usage, configuration or input, which the user can fix; exit code 1:
work that failed. Every failure is one line on stderr; the libraries' logs go to
`.zenops/logs/zenops.log` (named at the end of the line when they hold details), or
to stderr with `zenops --verbose`. `<workspace>` stands for the workspace's folder.
"""


def _cell(text: str) -> str:
    return "`" + text.replace("|", "\\|").replace("`", "'") + "`" if text else "—"


@dataclass
class Table:
    """One section of the document: ``name`` is its marker, ``title`` its heading."""

    name: str
    title: str
    rows: list[tuple[str, str, int, str]] = field(default_factory=list)

    def record(self, case: str, command: str, result: Any, paths: dict[Path, str] | None = None) -> str:
        """Record ``result`` (``code`` and ``error_lines``) of ``command``; returns its stderr line."""
        line = result.error_lines[0] if result.error_lines else ""
        for path, shown in sorted((paths or {}).items(), key=lambda item: -len(str(item[0]))):
            line = line.replace(str(path), shown)
        self.rows.append((case, command, result.code, line))
        return line

    def render(self) -> str:
        lines = [
            f"<!-- table: {self.name} -->",
            f"## {self.title}",
            "",
            "| case | command | exit | stderr |",
            "| --- | --- | --- | --- |",
        ]
        for case, command, code, line in self.rows:
            lines.append(f"| {case} | {_cell(command)} | {code} | {_cell(line)} |")
        lines.append(f"<!-- end table: {self.name} -->")
        return "\n".join(lines)

    def updated(self, text: str) -> str:
        """``text`` with this section replaced (or appended)."""
        start, end = f"<!-- table: {self.name} -->", f"<!-- end table: {self.name} -->"
        if start in text and end in text:
            before, rest = text.split(start, 1)
            after = rest.split(end, 1)[1]
            return before + self.render() + after
        return text.rstrip("\n") + "\n\n" + self.render() + "\n"

    def check(self, request: pytest.FixtureRequest) -> None:
        """The document's section equals the recorded rows (or is rewritten with ZENOPS_WRITE_DOCS=1)."""
        module = request.module
        tests = {name for name in dir(module) if name.startswith("test_")} - {request.function.__name__}
        ran = {
            getattr(item, "originalname", item.name)
            for item in request.session.items
            if getattr(item, "module", None) is module
        }
        if not tests <= ran or request.session.testsfailed:
            pytest.skip("the table is compared only when every test of its module ran and passed")
        text = DOC.read_text(encoding="utf-8") if DOC.is_file() else HEADER
        new = self.updated(text)
        if os.environ.get("ZENOPS_WRITE_DOCS") == "1":
            DOC.write_text(new, encoding="utf-8")
            return
        assert new == text, (
            f"{DOC.name} is out of date: rerun with ZENOPS_WRITE_DOCS=1 ({request.node.nodeid})\n"
            + self.render()
        )
