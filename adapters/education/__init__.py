"""Reference education adapter over a synthetic school MIS CSV export.

`make_search()` returns the adapter's `async def search(request) -> Answer`.
"""

from adapters.education.search import CATEGORIES, make_search

__all__ = ["CATEGORIES", "make_search"]
