"""Finding an adapter's search function by name or by `module:function`."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

from adapters.sdk.runner import Search

REFERENCE_ADAPTERS = {
    "police": "adapters.police.search:make_search",
    "health": "adapters.health.search:make_search",
    "education": "adapters.education.search:make_search",
}


def load_search(name: str, data_dir: Path | None = None) -> Search:
    """A reference adapter by name, or a partner's own factory as `package.module:factory`.

    The factory takes `data_dir` (or None for its default) and returns the async
    search function.
    """
    spec = REFERENCE_ADAPTERS.get(name, name)
    if ":" not in spec:
        raise ValueError(
            f"unknown adapter {name!r}: use one of {', '.join(REFERENCE_ADAPTERS)} "
            "or module:factory"
        )
    module_name, factory_name = spec.split(":", 1)
    factory: Any = getattr(importlib.import_module(module_name), factory_name)
    return factory(data_dir)  # type: ignore[no-any-return]
