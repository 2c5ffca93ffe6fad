"""Reference health adapter over synthetic FHIR R4 Bundles (GP, A&E, CP-IS, HV, CAMHS).

`make_search()` returns the adapter's `async def search(request) -> Answer`.
"""

from adapters.health.search import CATEGORIES, make_search

__all__ = ["CATEGORIES", "make_search"]
