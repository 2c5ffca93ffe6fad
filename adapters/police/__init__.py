"""Reference police adapter over a synthetic records-management-system extract.

`make_search()` returns the adapter's `async def search(request) -> Answer`.
"""

from adapters.police.search import CATEGORIES, make_search

__all__ = ["CATEGORIES", "make_search"]
