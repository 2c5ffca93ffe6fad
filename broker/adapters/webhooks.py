"""POSTing views to receiving services' webhooks (httpx); retries and backoff live in the database."""

from __future__ import annotations

from collections.abc import Mapping

import httpx

from broker.service.deliveries import WebhookResponse

MAX_RESPONSE_BYTES = 64 * 1024  # a receipt is small; never read an unbounded answer


class HttpxPoster:
    def __init__(self, client: httpx.AsyncClient | None = None) -> None:
        self._client = client or httpx.AsyncClient(follow_redirects=False)

    async def __call__(self, url: str, body: bytes, headers: Mapping[str, str],
                       timeout_s: float) -> WebhookResponse:
        async with self._client.stream("POST", url, content=body, headers=dict(headers),
                                       timeout=timeout_s) as response:
            data = b""
            async for chunk in response.aiter_bytes():
                data += chunk
                if len(data) > MAX_RESPONSE_BYTES:
                    data = b""  # too big to be a receipt: keep the status only
                    break
            return WebhookResponse(response.status_code, dict(response.headers), data)

    async def aclose(self) -> None:
        await self._client.aclose()
