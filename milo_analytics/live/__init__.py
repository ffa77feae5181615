"""Stay current without polling, and watch for problems: the webhook receiver and the checks.

- :class:`WebhookReceiver` (``milo-analytics listen``): receives HeyMilo's webhook deliveries,
  records each in the store before answering 2xx, and fetches the interviews they name through
  the same client and store path as :func:`~milo_analytics.load_posting`
  (:mod:`milo_analytics.live.receiver`, :mod:`milo_analytics.live.queue`).
- :func:`register_webhooks`, :func:`list_webhooks`, :func:`delete_webhooks`
  (``milo-analytics webhooks register|list|delete``): idempotent registrations
  (:mod:`milo_analytics.live.webhooks`).
- ``load_posting(..., refresh="auto")`` skips the candidate listing while a receiver keeps the
  store up to date (:func:`milo_analytics.load.refresh_plan`).
- :func:`run_checks` (``milo-analytics check``): the adverse-impact flag rule, score and speech
  drift and data quality against thresholds from a TOML file, for cron and CI
  (:mod:`milo_analytics.live.checks`).

Names are imported lazily (the receiver needs Starlette and uvicorn, the checks pandas).

Examples
--------
>>> import milo_analytics.live as live
>>> "WebhookReceiver" in live.__all__ and "run_checks" in live.__all__
True
"""

from __future__ import annotations

from .._lazy import lazy_exports

_EXPORTS: dict[str, str] = {
    "CheckConfig": "milo_analytics.live.checks",
    "CheckReport": "milo_analytics.live.checks",
    "DEFAULT_CHECKS_TOML": "milo_analytics.live.checks",
    "DEFAULT_EVENTS": "milo_analytics.live.webhooks",
    "EventWorker": "milo_analytics.live.queue",
    "WebhookReceiver": "milo_analytics.live.receiver",
    "delete_webhooks": "milo_analytics.live.webhooks",
    "hook_url": "milo_analytics.live.webhooks",
    "list_webhooks": "milo_analytics.live.webhooks",
    "load_check_config": "milo_analytics.live.checks",
    "process_events": "milo_analytics.live.queue",
    "receiver_alive": "milo_analytics.live.queue",
    "register_webhooks": "milo_analytics.live.webhooks",
    "run_checks": "milo_analytics.live.checks",
}

__all__ = sorted(_EXPORTS)

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals(), __all__)
