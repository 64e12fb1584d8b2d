"""Paths written relative to the user's own module."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["file_relative_path"]


def file_relative_path(dunderfile: str, relative_path: str) -> str:
    """The absolute path of ``relative_path`` taken from the directory of ``dunderfile``.

    Give ``__file__`` as ``dunderfile``: a data file next to the module is then found
    whatever the current directory is (``file_relative_path(__file__, "data/raw.csv")``).
    The path is resolved (``..`` and symbolic links followed); an absolute
    ``relative_path`` is returned resolved as it is.
    """
    return os.fspath(Path(dunderfile, "..", relative_path).resolve())
