"""Client libraries loaded on first use, one import at a time.

On a unix socket the console's first frame needs neither docker-py nor requests
(``unix_http``): they load afterwards, when the first call needs them, in
whichever thread makes it. Two threads importing docker's package at once can
deadlock on its circular imports, so every import of it in this package takes
``IMPORT_LOCK``.
"""

from __future__ import annotations

import threading
from types import ModuleType
from typing import Callable

IMPORT_LOCK = threading.RLock()


class Lazy:
    """Stands for a module until an attribute is asked for; then ``load()`` imports it (under
    ``IMPORT_LOCK``, written by the caller so that the import stays visible to import-linter)."""

    def __init__(self, load: Callable[[], ModuleType]) -> None:
        self._load = load
        self._module: ModuleType | None = None

    def __getattr__(self, name: str):
        module = self._module
        if module is None:
            with IMPORT_LOCK:
                module = self._module = self._load()
        return getattr(module, name)
