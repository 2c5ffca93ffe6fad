"""structlog as JSON lines, with ids bound per request and per message.

Logs carry ids, states and counts, never personal data. `drop_personal_data`
is the last line of defence: a field whose name says it holds personal data,
or free text, is replaced before the line is written.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import MutableMapping
from typing import Any

import structlog

PERSONAL_KEYS = frozenset(
    {
        "given_name", "family_name", "name", "names", "date_of_birth", "dob", "nhs_number",
        "upn", "local_case_id", "address", "postcode", "subjects", "subject", "findings_text",
        "summary_text", "text", "body", "payload", "rationale", "consent", "referrer",
    }
)


# Shapes of identifiers and dates of birth in any string value: NHS numbers (10 digits,
# optionally spaced 3-3-4), UPNs (letter + 12), UK postcodes, and ISO dates (a date alone
# is most often a date of birth; timestamps carry a time and are added after this step).
_SHAPES = re.compile(
    r"(?<![\w-])(?:\d{3}\s?\d{3}\s?\d{4}|[A-Z]\d{11}[0-9A-Z]|[A-Z]{1,2}\d[A-Z\d]?\s?\d[A-Z]{2}"
    r"|\d{4}-\d{2}-\d{2}(?!T))(?![\w-])"
)


def _scrub(value: Any) -> Any:
    if isinstance(value, str):
        return _SHAPES.sub("[redacted]", value)
    if isinstance(value, list | tuple):
        return [_scrub(v) for v in value]
    return value


def drop_personal_data(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """Redact fields named for personal data, and identifier- or birth-date-shaped values
    anywhere else (ids we log are UUIDs, which never match)."""
    for key in list(event_dict):
        if key.lower() in PERSONAL_KEYS:
            event_dict[key] = "[redacted]"
        elif key != "timestamp":
            event_dict[key] = _scrub(event_dict[key])
    return event_dict


def configure_logging(level: str = "INFO") -> None:
    logging.basicConfig(format="%(message)s", stream=sys.stderr, level=level)
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            drop_personal_data,
            structlog.processors.format_exc_info,
            structlog.processors.JSONRenderer(),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level)),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=True,
    )
