"""What a partner agency needs to answer MASH enquiries.

A partner writes one async function from a `PartnerRequest` to an `Answer`;
`adapters.sdk.runner.AdapterRunner` does everything else (consume, verify,
deadline check, NRP category filter, sign, publish, dedupe).
"""

from adapters.sdk.messages import (
    Answer,
    Finding,
    Match,
    PartnerBrag,
    PartnerReply,
    PartnerRequest,
    RequestSubject,
)

__all__ = [
    "Answer",
    "Finding",
    "Match",
    "PartnerBrag",
    "PartnerReply",
    "PartnerRequest",
    "RequestSubject",
]
