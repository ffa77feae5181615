"""Lazy public names for package ``__init__`` modules (keeps ``import milo_analytics`` fast).

Examples
--------
>>> ns: dict = {}
>>> get, names = lazy_exports("pkg", {"sqrt": "math"}, ns, ["sqrt"])
>>> get("sqrt")(9.0), "sqrt" in ns, names()
(3.0, True, ['sqrt'])
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, MutableMapping
from typing import Any


def lazy_exports(
    package: str,
    exports: dict[str, str],
    namespace: MutableMapping[str, Any],
    public: list[str],
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """The module ``__getattr__`` and ``__dir__`` of a package with lazily imported names.

    Parameters
    ----------
    package
        The package's name, for the AttributeError message.
    exports
        Public name → module that defines it.
    namespace
        The package's ``globals()``; a name is cached there on first use.
    public
        What ``dir(package)`` lists (the package's ``__all__``).

    Returns
    -------
    (__getattr__, __dir__)
        Assign them to the package's module-level ``__getattr__`` and ``__dir__``.
    """

    def __getattr__(name: str) -> Any:
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        namespace[name] = value
        return value

    def __dir__() -> list[str]:
        return public

    return __getattr__, __dir__
