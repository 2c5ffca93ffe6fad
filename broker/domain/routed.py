"""Who may see and acknowledge the contacts routed to allocated social workers (pure rules).

The allocated social worker sees and acknowledges only their own; MASH managers and auditors
oversee every routed contact (read only: an acknowledgement is the recipient's alone); anyone
else is forbidden.
"""

from __future__ import annotations

from broker.domain.access import AUDITOR, MASH_MANAGER, SOCIAL_WORKER, Forbidden, NotVisible, Principal


class NoSuchNotification(NotVisible):
    """A notification that does not exist or is not the caller's: answered 404."""

    what = "notification"


def authorize_routed_list(principal: Principal) -> str | None:
    """The recipient to restrict the list to (a social worker's own), or None for everything
    (managers and auditors)."""
    if principal.has(MASH_MANAGER) or principal.has(AUDITOR):
        return None
    if principal.has(SOCIAL_WORKER):
        return principal.subject
    raise Forbidden("the contacts routed to allocated workers are for social workers and MASH managers",
                    actor=principal.subject, action="list_routed_contacts")


def authorize_acknowledge(principal: Principal, notification_id: str, recipient: str | None) -> None:
    """Only the recipient acknowledges a notification; `recipient` is None when there is no such
    notification. Non-workers are forbidden (403); a worker asking about someone else's is told
    there is no such notification (404)."""
    if not principal.has(SOCIAL_WORKER):
        raise Forbidden("only the allocated social worker acknowledges a routed contact",
                        actor=principal.subject, action="acknowledge_notification")
    if recipient is None or recipient != principal.subject:
        raise NoSuchNotification("no such notification", actor=principal.subject,
                                 action="acknowledge_notification")
