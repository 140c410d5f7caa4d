"""Reading a rebuild dossier as a data scientist's shell would: its ``sh`` blocks."""

from __future__ import annotations

from zenops.services.refresh.dossier import SHELL_BLOCK


def shell_blocks(markdown: str) -> list[str]:
    """The ``sh`` code blocks of a dossier, each as one script."""
    blocks, current = [], None
    for line in markdown.splitlines():
        if current is None and line.strip() == SHELL_BLOCK:
            current = []
        elif current is not None and line.strip() == "```":
            blocks.append("\n".join(current) + "\n")
            current = None
        elif current is not None:
            current.append(line)
    return blocks
