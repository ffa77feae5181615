"""Webhook registrations through HeyMilo's webhooks API, idempotent.

HeyMilo registers one event type per webhook (``POST /webhooks`` with ``posting_id``,
``webhook_url``, ``event_type``) and has no idempotency key, so registering twice would make
two webhooks and every event would arrive twice. :func:`register_webhooks` lists the active
webhooks first and creates only the (posting, event, URL) triples that are missing.

Examples
--------
>>> hook_url("https://hooks.example.org/", "t0k3n")
'https://hooks.example.org/hooks/t0k3n'
>>> mask_token("https://hooks.example.org/hooks/t0k3n", "t0k3n")
'https://hooks.example.org/hooks/****'
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from ..api.resources import EVENT_TYPES
from ..errors import ConfigError, NotFoundError
from .receiver import HOOK_PREFIX

__all__ = [
    "DEFAULT_EVENTS",
    "delete_webhooks",
    "hook_url",
    "list_webhooks",
    "mask_token",
    "register_webhooks",
]

#: What ``register_webhooks`` subscribes to by default: ``report_available``, after which an
#: interview's results are final — one delivery and one fetch per interview. Adding
#: ``interview_completed`` costs a second fetch of most interviews (it usually arrives before
#: the report: the document says ``evaluating``) and brings nothing the next full listing would
#: not (benchmarks/bench_live.py); ``interview_started`` is recorded and fetches nothing.
DEFAULT_EVENTS = ("report_available",)


def hook_url(base_url: str, token: str) -> str:
    """The receiver's webhook URL: ``base_url`` + ``/hooks/`` + ``token``."""
    return f"{base_url.rstrip('/')}{HOOK_PREFIX}{token}"


def mask_token(text: str, token: str | None) -> str:
    """``text`` with ``token`` replaced by ``****`` (for printing URLs)."""
    return text.replace(token, "****") if token else text


def _url_of(hook: Any) -> str:
    return str(hook.get("webhook_url") or hook.get("url") or "")


def _row(hook: Any, *, created: bool | None = None) -> dict[str, Any]:
    row = {
        "webhook_id": hook.get("webhook_id"),
        "posting_id": hook.get("posting_id"),
        "event_type": hook.get("event_type"),
        "webhook_url": _url_of(hook),
        "is_active": hook.get("is_active", True),
        "created_at": hook.get("created_at"),
    }
    if created is not None:
        row["created"] = created
    return row


def _check_events(events: Iterable[str]) -> list[str]:
    wanted = list(dict.fromkeys(str(e).strip() for e in events))
    bad = [e for e in wanted if e not in EVENT_TYPES]
    if bad or not wanted:
        raise ConfigError(
            f"unknown webhook event {', '.join(map(repr, bad)) or '(none given)'}; HeyMilo's "
            f"events are {', '.join(EVENT_TYPES)}",
            python_hint=f"pass events=[...] from {list(EVENT_TYPES)}",
            cli_hint=f"pass --events with one of {', '.join(EVENT_TYPES)}",
        )
    return wanted


def list_webhooks(client: Any, posting_id: str | None = None) -> list[dict[str, Any]]:
    """The account's active webhooks (of one posting when given), as plain dicts:
    ``webhook_id``, ``posting_id``, ``event_type``, ``webhook_url``, ``is_active``,
    ``created_at``."""
    rows = [_row(h) for h in client.webhooks.list(raw=True) if isinstance(h, dict)]
    rows = [r for r in rows if r["is_active"] is not False]
    return [r for r in rows if posting_id is None or r["posting_id"] == posting_id]


def register_webhooks(
    client: Any, posting_id: str, url: str, *, events: Sequence[str] = DEFAULT_EVENTS
) -> list[dict[str, Any]]:
    """Register ``url`` for ``events`` of a posting, one webhook per event, idempotently.

    An active webhook with the same posting, event and URL is kept and not created again
    (``created`` False in its row); the missing ones are created (``created`` True).

    Parameters
    ----------
    client
        A :class:`~milo_analytics.api.HeyMiloClient`.
    posting_id
        The posting whose events to receive.
    url
        The full webhook URL (for this toolkit's receiver: ``WebhookReceiver.url``, or
        :func:`hook_url` of its public URL and the store's token). Prefer ``https://``.
    events
        Event types (default :data:`DEFAULT_EVENTS`).

    Returns
    -------
    list of dict
        One row per event: ``webhook_id``, ``posting_id``, ``event_type``, ``webhook_url``,
        ``is_active``, ``created_at``, ``created``.

    Examples
    --------
    >>> register_webhooks(client, "13D77095", receiver.url)  # doctest: +SKIP
    """
    wanted = _check_events(events)
    url = url.strip()
    existing = list_webhooks(client, posting_id)
    out = []
    for event in wanted:
        same = [r for r in existing if r["event_type"] == event and r["webhook_url"] == url]
        if same:
            out.append({**same[0], "created": False})
            continue
        hook = client.webhooks.create(posting_id, url, event, raw=True)
        out.append(_row(hook, created=True))
    return out


def delete_webhooks(
    client: Any,
    *,
    webhook_ids: Iterable[str] = (),
    posting_id: str | None = None,
    url: str | None = None,
) -> list[dict[str, Any]]:
    """Deactivate webhooks, idempotently: by id, or every active one of a posting (those
    pointing at ``url`` when given). A webhook that is already gone is reported with
    ``deleted`` False, not an error.

    Returns
    -------
    list of dict
        ``webhook_id``, ``posting_id``, ``event_type``, ``webhook_url``, ``deleted``.

    Raises
    ------
    ConfigError
        Neither ids nor a posting were given.
    """
    ids = list(dict.fromkeys(webhook_ids))
    if not ids and posting_id is None:
        raise ConfigError(
            "name the webhooks to delete",
            python_hint="pass webhook_ids=[...] or posting_id=",
            cli_hint="pass webhook ids, or --posting POSTING",
        )
    active = {r["webhook_id"]: r for r in list_webhooks(client)}
    out: list[dict[str, Any]] = []
    targets: list[dict[str, Any]] = []
    for i in ids:
        if i in active:
            targets.append(active[i])
        else:  # unknown, or deleted before: nothing to do
            out.append({"webhook_id": i, "deleted": False})
    if posting_id is not None:
        targets += [
            r
            for r in active.values()
            if r["posting_id"] == posting_id
            and (url is None or r["webhook_url"] == url.strip())
            and r["webhook_id"] not in ids
        ]
    for t in targets:
        try:
            hook = client.webhooks.delete(t["webhook_id"], raw=True)
        except NotFoundError:
            out.append({**t, "deleted": False})
            continue
        out.append({**_row(hook), "deleted": True})
    return out
