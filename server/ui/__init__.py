"""The web UI: static HTML, CSS and JavaScript modules, served at ``/`` and ``/ui``.

No build step and no third-party front-end code; the UI reads everything from the REST API.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["STATIC_DIR"]

STATIC_DIR = Path(__file__).parent / "static"
