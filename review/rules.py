"""The project's coding rulings (``R-FD3``, ``R-SI6``, …), parsed so that each code shows its rules.

The rulings are the project's coding convention (``coding-rules.md``, shipped beside this
module as a copy of the shared one). Each ruling is one list item: ``- **R-ID (title)**: text``.
A ruling applies to every codebook code it names, in its heading or its text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from matrixcoder.errors import InputError

__all__ = ["DEFAULT_RULES", "Rule", "load_rules", "parse_rules", "rules_by_code"]

DEFAULT_RULES = Path(__file__).resolve().parent / "coding-rules.md"

_ITEM = re.compile(r"^\s*[-*]\s+\*\*(?P<head>R-[^*]+?)\*\*\s*:?\s*(?P<text>.*)$")
_RULE_ID = re.compile(r"^(R-[A-Z0-9][A-Za-z0-9/-]*)")


@dataclass(frozen=True)
class Rule:
    """One ruling: its id (``R-FD3``), heading as written (``R-FD3 (ECTS)``), text, and the codes it names."""

    id: str
    heading: str
    text: str
    codes: tuple[str, ...]


def parse_rules(markdown: str, label_ids: list[str]) -> list[Rule]:
    """Rulings of a coding-rules document, in document order.

    Args:
        markdown: The document.
        label_ids: Codebook codes to look for in each ruling.
    """
    # Longest ids first, so that "SD4-1" is found whole and never as "SD4".
    pattern = re.compile(r"(?<![\w-])(" + "|".join(re.escape(code) for code in sorted(label_ids, key=len, reverse=True)) + r")(?![\w-])")
    rules = []
    for line in markdown.splitlines():
        match = _ITEM.match(line)
        if not match:
            continue
        heading, text = match["head"].strip(), match["text"].strip()
        rule_id = _RULE_ID.match(heading)[1]
        # The id itself names codes too: R-FD3, R-SD8-4/CL6, R-SI3/CL2.
        named = pattern.findall(heading.replace("R-", " ", 1).replace("/", " ")) + pattern.findall(text)
        rules.append(Rule(rule_id, heading, text, tuple(dict.fromkeys(named))))
    return rules


def load_rules(label_ids: list[str], path: str | Path | None = None) -> list[Rule]:
    """Read the rulings (the shipped copy by default).

    Raises:
        InputError: The file cannot be read.
    """
    path = Path(path) if path else DEFAULT_RULES
    try:
        return parse_rules(path.read_text(encoding="utf-8"), label_ids)
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(path, f"coding rules cannot be read ({type(exc).__name__})") from None


def rules_by_code(rules: list[Rule]) -> dict[str, list[Rule]]:
    """Code id -> the rulings that name it, in document order."""
    found: dict[str, list[Rule]] = {}
    for rule in rules:
        for code in rule.codes:
            found.setdefault(code, []).append(rule)
    return found
