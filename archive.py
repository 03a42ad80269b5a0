"""Reading zip archives from other people's machines: entry names checked, sizes capped.

A ``.qdpx`` project, a ``.docx`` document and a doccano export are all zip archives. Each
entry's declared size is checked before it is opened and its real size is counted while it is
decompressed (declared sizes can lie), so a small hostile file cannot fill memory.
"""

from __future__ import annotations

import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from matrixcoder.errors import InputError

__all__ = ["ReadLimits", "SafeArchive", "check_archive", "read_limited"]

_CHUNK = 1 << 20


@dataclass(frozen=True)
class ReadLimits:
    """Caps on what reading one file may decompress, so hostile archives cannot fill memory.

    Attributes:
        max_entry_bytes: Largest single entry (or external source file) read.
        max_total_bytes: Largest sum over everything read from one archive.
    """

    max_entry_bytes: int = 256 * 2**20
    max_total_bytes: int = 1024 * 2**20


class SafeArchive:
    """A zip archive opened for reading with names checked and sizes capped.

    Every entry name is checked on opening (no ``..``, no absolute or drive paths), so a
    zip-slip archive is refused even though nothing is ever extracted to disk.

    Args:
        path: The archive, or a binary file object holding it.
        limits: Size caps for what is read.
        name: How errors name the archive (default: ``path``).

    Raises:
        InputError: Not a zip archive, or an entry name escapes the archive.
    """

    def __init__(self, path: str | Path | BinaryIO, limits: ReadLimits = ReadLimits(), name: str | Path | None = None) -> None:
        self.path = Path(name if name is not None else path)  # type: ignore[arg-type]
        self.limits = limits
        self._read_total = 0
        if isinstance(path, (str, Path)) and Path(path).is_dir():
            raise InputError(self.path, "is a folder; expected a zip archive")
        try:
            self._zip = zipfile.ZipFile(path)
        except FileNotFoundError:
            raise InputError(self.path, "file not found") from None
        except (zipfile.BadZipFile, OSError, ValueError):
            raise InputError(self.path, "not a zip archive") from None
        for name in self._zip.namelist():
            _check_entry_name(self.path, name)

    def __enter__(self) -> SafeArchive:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._zip.close()

    def names(self) -> list[str]:
        """Entry names, as stored."""
        return self._zip.namelist()

    def find(self, name: str) -> str | None:
        """The stored name matching ``name`` case-insensitively (tools differ on case), if any."""
        wanted = name.lower()
        return next((stored for stored in self._zip.namelist() if stored.lower() == wanted), None)

    def read(self, name: str, keep: bool = True) -> bytes:
        """Read one entry, checking its declared size first and counting bytes as they come.

        Raises:
            InputError: The entry is missing, damaged, or over the size limits.
        """
        where = f"{self.path}:{name}"
        try:
            info = self._zip.getinfo(name)
        except KeyError:
            raise InputError(self.path, f"no entry '{name}' in the archive") from None
        self._check_size(where, info.file_size)
        chunks, size = [], 0
        try:
            with self._zip.open(info) as handle:
                while chunk := handle.read(_CHUNK):
                    size += len(chunk)
                    # The declared size can lie; count what really comes out.
                    self._check_size(where, size)
                    if keep:
                        chunks.append(chunk)
        except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError) as exc:
            raise InputError(where, f"damaged or unsupported zip entry ({type(exc).__name__})") from None
        self._read_total += size
        return b"".join(chunks)

    def _check_size(self, where: str, size: int) -> None:
        if size > self.limits.max_entry_bytes:
            raise InputError(where, f"entry expands beyond {self.limits.max_entry_bytes} bytes; refused")
        if self._read_total + size > self.limits.max_total_bytes:
            raise InputError(where, f"archive expands beyond {self.limits.max_total_bytes} bytes in all; refused")


def _check_entry_name(archive: Path, name: str) -> None:
    posix = PurePosixPath(name.replace("\\", "/"))
    if posix.is_absolute() or ".." in posix.parts or (posix.parts and posix.parts[0].endswith(":")):
        raise InputError(archive, f"unsafe entry name '{name}' (absolute or with '..'); refused")


def read_limited(path: Path, limits: ReadLimits, source: str) -> bytes:
    """Read a file referenced by a project (relative:// or absolute://) under the entry cap.

    Raises:
        InputError: Missing, unreadable, or larger than ``limits.max_entry_bytes``.
    """
    try:
        with path.open("rb") as handle:
            data = handle.read(limits.max_entry_bytes + 1)
    except OSError as exc:
        raise InputError(source, f"cannot read {path} ({exc.strerror})") from None
    if len(data) > limits.max_entry_bytes:
        raise InputError(source, f"{path} is larger than {limits.max_entry_bytes} bytes; refused")
    return data


def check_archive(path: str | Path, data: bytes | None = None, limits: ReadLimits = ReadLimits()) -> None:
    """Decompress every entry of an archive under ``limits``, so a zip bomb fails here, cheaply.

    Args:
        path: The archive (named in errors; read from disk when ``data`` is None).
        data: The archive's bytes, if already read.

    Raises:
        InputError: Not a zip, an unsafe entry name, a damaged entry, or over the limits.
    """
    import io

    with SafeArchive(io.BytesIO(data) if data is not None else path, limits, name=path) as archive:
        for name in archive.names():
            archive.read(name, keep=False)
