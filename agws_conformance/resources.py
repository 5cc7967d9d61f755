"""Where the language-neutral data (schemas, vectors, targets, tools) lives.

A wheel carries it under ``agws_conformance/_data``; a source checkout or an editable install
reads the top-level folders, so the repository stays the single source of truth.
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def data_dir(name: str) -> Path:
    """Return the folder ``name`` (``schemas``, ``vectors``, ``targets`` or ``tools``)."""
    for candidate in (_PACKAGE / "_data" / name, _PACKAGE.parent / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(
        f"agws-conformance data folder {name!r} not found next to {_PACKAGE}; "
        "reinstall the package (pip install agws-conformance) or run from a source checkout"
    )
