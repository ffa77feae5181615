"""The HeyMilo API client: the only part of milo_analytics that speaks HTTP.

Examples
--------
>>> from milo_analytics.api import HeyMiloClient
>>> client = HeyMiloClient(api_key="my-key-1234", base_url="http://127.0.0.1:8000/api/v2")
>>> client  # the key never shows
HeyMiloClient(base_url='http://127.0.0.1:8000/api/v2', api_key='****', rate_limit='auto', max_retries=3, closed=False)
>>> client.close()
"""

from __future__ import annotations

from .client import DEFAULT_BASE_URL, HeyMiloClient
from .errors import (
    DeadlineExceededError,
    InvalidRequestError,
    MalformedResponseError,
    PaginationError,
    ResponseTooLargeError,
    error_from_response,
)
from .models import (
    BulkIngestItem,
    Candidate,
    CreatedPosting,
    IngestResult,
    InterviewResult,
    Metadata,
    Posting,
    PostingStats,
    Question,
    ScorecardItem,
    TranscriptEntry,
    Webhook,
    WebInterviewResult,
)
from .pagination import CursorIterator
from .ratelimit import RateLimiter

__all__ = [
    "DEFAULT_BASE_URL",
    "BulkIngestItem",
    "Candidate",
    "CreatedPosting",
    "CursorIterator",
    "DeadlineExceededError",
    "HeyMiloClient",
    "IngestResult",
    "InterviewResult",
    "InvalidRequestError",
    "MalformedResponseError",
    "Metadata",
    "PaginationError",
    "Posting",
    "PostingStats",
    "Question",
    "RateLimiter",
    "ResponseTooLargeError",
    "ScorecardItem",
    "TranscriptEntry",
    "WebInterviewResult",
    "Webhook",
    "error_from_response",
]
