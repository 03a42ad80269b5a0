"""Reading JSON Lines with precise errors, and writing outputs without ever losing a user's files.

Two kinds of output, two rules:

- A **file** output (``-o FILE``) is written to a temporary file beside it and renamed into
  place. An existing folder at that path, or an existing file the user did not ask to replace
  (``--force``), is refused before any work starts.
- A **folder** output (``--out DIR``) is built in a scratch folder and then moved into place.
  The folder records which command wrote which files (:data:`OWNER_FILE`). Writing into an
  existing folder is allowed only when it is empty or holds a previous output of the same
  command; otherwise the user must pass ``--force``. Even then only the command's own files are
  replaced: nothing else in the folder is touched.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path

from matrixcoder.errors import InputError

__all__ = [
    "OWNER_FILE",
    "atomic_path",
    "check_output_file",
    "check_output_folder",
    "exclusive_lock",
    "output_folder",
    "parse_json",
    "remove_work_folder",
    "reset_work_folder",
    "parse_jsonl_lines",
    "read_jsonl",
    "write_jsonl",
]

#: The file in every output folder that names the command that wrote it and its files.
OWNER_FILE = ".matrixcoder-output.json"
#: The file that marks a working folder as the project's own scratch space.
WORK_MARKER = ".matrixcoder-work"


def read_jsonl(path: str | Path) -> Iterator[tuple[int, dict]]:
    """Yield ``(line_number, object)`` for each non-blank line of a JSON Lines file.

    Raises:
        InputError: The file is missing, a folder, not UTF-8, or a line is not a JSON object.
    """
    path = Path(path)
    if path.is_dir():
        raise InputError(path, "is a folder; expected a JSON Lines file")
    try:
        handle = path.open(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(path, "file not found") from None
    except OSError as exc:
        raise InputError(path, f"cannot be read ({exc.strerror or type(exc).__name__})") from None
    with handle:
        try:
            yield from parse_jsonl_lines(str(path), handle)
        except UnicodeDecodeError:
            raise InputError(path, "not UTF-8 text") from None


def parse_jsonl_lines(where: str, lines: Iterable[str]) -> Iterator[tuple[int, dict]]:
    """Yield ``(line_number, object)`` for each non-blank line; errors name ``where:line``.

    Raises:
        InputError: A line is not a JSON object, or cannot be parsed (see :func:`parse_json`).
    """
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        record = parse_json(f"{where}:{number}", line)
        if not isinstance(record, dict):
            raise InputError(f"{where}:{number}", "each line must be a JSON object")
        yield number, record


# A \u escape of a UTF-16 surrogate: half of a pair, or (alone) no character at all.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89abcdefABCDEF]")


def parse_json(where: str, text: str) -> object:
    """Parse JSON from someone else's file; every way it can fail is an :class:`InputError` naming ``where``.

    Raises:
        InputError: Malformed JSON, nested too deeply, a number too long to convert, or a
            ``\\u`` escape of a lone surrogate (which is no character: such text cannot be
            written out again as UTF-8).
    """
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(where, f"malformed JSON ({exc.msg})") from None
    except RecursionError:
        raise InputError(where, "JSON nested too deeply") from None
    except ValueError:  # Python refuses integers of more than 4300 digits
        raise InputError(where, "malformed JSON (a number with too many digits)") from None
    if _SURROGATE_ESCAPE.search(text):
        try:
            json.dumps(value, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError:
            raise InputError(where, "a \\u escape of a lone surrogate is not text") from None
    return value


def _nearest_existing(path: Path) -> Path:
    path = path.absolute()
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def _check_writable(path: Path) -> None:
    """Refuse, before any work, an output whose folder cannot be created or written."""
    anchor = _nearest_existing(path.parent)
    if not anchor.is_dir():
        raise InputError(path, f"cannot be written: {anchor} is a file, not a folder")
    if not os.access(anchor, os.W_OK | os.X_OK):
        raise InputError(path, f"cannot be written: no write permission in {anchor}")


def _check_not_inside(target: Path, inputs: Iterable[str | Path]) -> None:
    """Refuse an output folder that is, lies inside, or holds one of the inputs."""
    resolved = target.resolve()
    for source in inputs:
        source = Path(source).resolve()
        if resolved == source or source in resolved.parents:
            raise InputError(target, f"lies inside the input {source}; choose an output folder outside it")
        if resolved in source.parents:
            raise InputError(target, f"holds the input {source}; choose an output folder that does not")


def check_output_file(target: str | Path, *, force: bool = False, inputs: Iterable[str | Path] = ()) -> Path:
    """Check, before any work, that ``target`` may be written as a file.

    Raises:
        InputError: ``target`` is a folder, an existing file without ``force``, one of the
            ``inputs``, or its folder is not writable.
    """
    target = Path(target)
    if target.is_dir():
        raise InputError(target, "is a folder; give the path of a file to write")
    for source in inputs:
        if target.exists() and Path(source).exists() and target.resolve() == Path(source).resolve():
            raise InputError(target, "is also an input; write the output to another file")
    if target.exists() and not force:
        raise InputError(target, "already exists; pass --force to replace it")
    _check_writable(target)
    return target


def _read_owner(folder: Path) -> dict | None:
    try:
        owner = json.loads((folder / OWNER_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        return None
    if not isinstance(owner, dict) or not isinstance(owner.get("files"), list):
        return None
    return owner


def check_output_folder(target: str | Path, command: str, *, force: bool = False, inputs: Iterable[str | Path] = ()) -> set[str]:
    """Check, before any work, that ``command`` may write its output folder ``target``.

    Returns:
        The files (relative paths) of a previous output of ``command`` in ``target``: the only
        files a new run may replace or remove.

    Raises:
        InputError: ``target`` is a file, lies inside (or holds) one of the ``inputs``, is not
            writable, or is a non-empty folder that ``command`` did not write (without ``force``).
    """
    target = Path(target)
    _check_not_inside(target, inputs)
    if target.exists() and not target.is_dir():
        raise InputError(target, "is a file; --out needs a folder")
    _check_writable(target / "x")
    if not target.exists() or not any(target.iterdir()):
        return set()
    owner = _read_owner(target)
    if owner is not None and owner.get("command") == command:
        return {str(name) for name in owner["files"]}
    if not force:
        writer = f"'matrixcoder {owner['command']}'" if owner and owner.get("command") else "you"
        raise InputError(
            target,
            f"exists and holds files written by {writer}, not by 'matrixcoder {command}'; choose a new folder "
            f"or pass --force (then only {command}'s own files are replaced)",
        )
    return set()


@contextlib.contextmanager
def output_folder(target: str | Path, command: str, *, force: bool = False, inputs: Iterable[str | Path] = ()) -> Iterator[Path]:
    """Build an output folder in scratch space; on success move its files into ``target``.

    ``target`` is checked first (:func:`check_output_folder`). On success each new file
    replaces its namesake, files of the previous output of ``command`` that the new one no
    longer has are removed, and :data:`OWNER_FILE` is written last. Nothing else is touched.
    On failure ``target`` is left exactly as it was.
    """
    target = Path(target)
    previous = check_output_folder(target, command, force=force, inputs=inputs)
    target.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    built = scratch / target.name
    built.mkdir()
    try:
        yield built
        files = sorted(str(path.relative_to(built)) for path in built.rglob("*") if not path.is_dir())
        owner = {"command": command, "files": files}
        (built / OWNER_FILE).write_text(json.dumps(owner, indent=2) + "\n", encoding="utf-8")
        if not target.exists():
            os.replace(built, target)
            return
        for name in files:
            destination = target / name
            if destination.is_dir() and not destination.is_symlink():
                raise InputError(destination, "is a folder where the output has a file; nothing was replaced")
        for name in files:
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            os.replace(built / name, target / name)
        for name in previous - set(files):
            stale = target / name
            if stale.is_file() or stale.is_symlink():
                stale.unlink()
        os.replace(built / OWNER_FILE, target / OWNER_FILE)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


@contextlib.contextmanager
def atomic_path(target: str | Path) -> Iterator[Path]:
    """Give a temporary file path beside ``target``; rename it into place only if the block succeeds.

    The path lies in a scratch folder of its own (removed afterwards), so the block may put
    helper files beside it. For files only: a folder at ``target`` is refused, never removed
    (folders are written with :func:`output_folder`). A crash or a bad input never leaves a
    half-written file behind.

    Raises:
        InputError: ``target`` is an existing folder.
    """
    target = Path(target)
    if target.is_dir() and not target.is_symlink():
        raise InputError(target, "is a folder; give the path of a file to write")
    target.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        yield scratch / target.name
        os.replace(scratch / target.name, target)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def reset_work_folder(work: str | Path) -> Path:
    """Start ``work`` empty: create it, or clear it if it is a working folder of ours.

    Only a folder carrying :data:`WORK_MARKER` (which this function writes) is ever cleared.

    Raises:
        InputError: ``work`` exists but is not one of our working folders.
    """
    work = Path(work)
    if work.exists() or work.is_symlink():
        if work.is_symlink() or not work.is_dir() or not (work / WORK_MARKER).is_file():
            raise InputError(work, "exists and is not a matrixcoder working folder; move it away and run again")
        shutil.rmtree(work)
    work.mkdir(parents=True)
    (work / WORK_MARKER).write_text("scratch space of a matrixcoder command; safe to delete\n", encoding="utf-8")
    return work


def remove_work_folder(work: str | Path) -> None:
    """Remove ``work`` if it is a working folder of ours (see :func:`reset_work_folder`)."""
    work = Path(work)
    if work.is_dir() and not work.is_symlink() and (work / WORK_MARKER).is_file():
        shutil.rmtree(work, ignore_errors=True)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@contextlib.contextmanager
def exclusive_lock(lock: str | Path, what: str) -> Iterator[None]:
    """Hold ``lock`` (a file with our pid) while the block runs; refuse if a live process holds it.

    A lock left by a process that no longer runs is taken over.

    Raises:
        InputError: Another running process holds the lock.
    """
    lock = Path(lock)
    lock.parent.mkdir(parents=True, exist_ok=True)
    for _ in range(2):
        try:
            descriptor = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            try:
                holder = int(lock.read_text(encoding="utf-8").split()[0])
            except (OSError, ValueError, IndexError):
                holder = -1
            if holder > 0 and holder != os.getpid() and _pid_alive(holder):
                raise InputError(what, f"another run (pid {holder}) is writing it; wait for it to finish") from None
            with contextlib.suppress(FileNotFoundError):
                lock.unlink()
            continue
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(f"{os.getpid()}\n")
        break
    else:
        raise InputError(what, f"could not take the lock {lock}")
    try:
        yield
    finally:
        with contextlib.suppress(FileNotFoundError):
            lock.unlink()


def write_jsonl(path: str | Path, records: Iterable[dict]) -> None:
    """Write records as JSON Lines, atomically."""
    with atomic_path(path) as temporary:
        with temporary.open("w", encoding="utf-8") as handle:
            for record in records:
                handle.write(json.dumps(record, ensure_ascii=False, allow_nan=False) + "\n")
