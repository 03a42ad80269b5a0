"""Reading JSON Lines with precise errors, and writing files atomically."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path

from matrixcoder.errors import InputError

__all__ = ["atomic_path", "parse_jsonl_lines", "read_jsonl", "write_jsonl"]


def read_jsonl(path: str | Path) -> Iterator[tuple[int, dict]]:
    """Yield ``(line_number, object)`` for each non-blank line of a JSON Lines file.

    Raises:
        InputError: The file is missing, not UTF-8, or a line is not a JSON object.
    """
    path = Path(path)
    try:
        handle = path.open(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(path, "file not found") from None
    with handle:
        try:
            yield from parse_jsonl_lines(str(path), handle)
        except UnicodeDecodeError:
            raise InputError(path, "not UTF-8 text") from None


def parse_jsonl_lines(where: str, lines: Iterable[str]) -> Iterator[tuple[int, dict]]:
    """Yield ``(line_number, object)`` for each non-blank line; errors name ``where:line``.

    Raises:
        InputError: A line is not a JSON object.
    """
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InputError(f"{where}:{number}", f"malformed JSON ({exc.msg})") from None
        if not isinstance(record, dict):
            raise InputError(f"{where}:{number}", "each line must be a JSON object")
        yield number, record


@contextlib.contextmanager
def atomic_path(target: str | Path) -> Iterator[Path]:
    """Give a temporary path beside ``target``; move it into place only if the block succeeds.

    Works for files and for directories (the block creates whichever it needs), so a
    crash or a bad input never leaves a half-written output behind.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    temporary = scratch / target.name
    try:
        yield temporary
        if target.is_dir() and not target.is_symlink():
            shutil.rmtree(target)
        os.replace(temporary, target)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def write_jsonl(path: str | Path, records: Iterable[dict]) -> None:
    """Write records as JSON Lines, atomically."""
    with atomic_path(path) as temporary:
        with temporary.open("w", encoding="utf-8") as handle:
            for record in records:
                handle.write(json.dumps(record, ensure_ascii=False) + "\n")
