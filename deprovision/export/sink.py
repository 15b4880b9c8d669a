"""Files written as ``NAME.part`` and renamed when complete, hashed (SHA-256) while they are written."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any


class PartFile:
    """A file written to ``path.part`` that becomes ``path`` only on ``commit()``."""

    def __init__(self, path: Path, on_write: Callable[[int], None] | None = None) -> None:
        self.path = path
        self.on_write = on_write
        self.part = path.with_name(path.name + ".part")
        path.parent.mkdir(parents=True, exist_ok=True)
        self._fh = open(self.part, "wb")  # noqa: SIM115 - closed by commit/discard
        self._hash = hashlib.sha256()
        self.bytes = 0

    def write(self, data: bytes) -> None:
        if data:
            self._fh.write(data)
            self._hash.update(data)
            self.bytes += len(data)
            if self.on_write:
                self.on_write(len(data))

    def reset(self) -> None:
        """Start the file again (a retried download)."""
        if self.on_write and self.bytes:
            self.on_write(-self.bytes)
        self._fh.seek(0)
        self._fh.truncate()
        self._hash = hashlib.sha256()
        self.bytes = 0

    def mark(self) -> tuple[int, Any]:
        """Where the file stands now, for ``rewind`` (a retried page goes back here)."""
        return self.bytes, self._hash.copy()

    def rewind(self, mark: tuple[int, Any]) -> None:
        """Drop everything written since ``mark``."""
        size, digest = mark
        if self.bytes == size:
            return
        if self.on_write:
            self.on_write(size - self.bytes)
        self._fh.seek(size)
        self._fh.truncate()
        self._hash = digest.copy()
        self.bytes = size

    @property
    def sha256(self) -> str:
        return self._hash.hexdigest()

    def close(self) -> None:
        """Flush to disk (the caller records the file before ``commit()``)."""
        if not self._fh.closed:
            self._fh.flush()
            os.fsync(self._fh.fileno())
            self._fh.close()

    def commit(self) -> None:
        """Give the file its final name."""
        self.close()
        os.replace(self.part, self.path)

    def discard(self) -> None:
        self._fh.close()
        self.part.unlink(missing_ok=True)


def sha256_file(path: Path, chunk: int = 1 << 20) -> tuple[str, int]:
    """SHA-256 and size of a file, read in chunks."""
    digest, size = hashlib.sha256(), 0
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            digest.update(block)
            size += len(block)
    return digest.hexdigest(), size


def write_atomic(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` in one step (write, fsync, rename)."""
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
