"""A synthetic partner for the scaling series: it holds nothing, so it answers no trace.

Run it as any partner's own adapter (the SDK still verifies the broker's signature, checks
the agreement and the deadline, dedupes, signs and publishes the reply):

    MASH_ADAPTER_PARTNER_ID=p07 mash-adapter run bench.partner:make_search
"""

from __future__ import annotations

from pathlib import Path

from adapters.sdk import Answer, PartnerRequest
from adapters.sdk.runner import Search


def make_search(data_dir: Path | None = None) -> Search:
    async def search(request: PartnerRequest) -> Answer:
        return Answer.no_trace()

    return search
