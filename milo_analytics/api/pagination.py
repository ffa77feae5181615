"""Lazy cursor pagination over HeyMilo list endpoints.

HeyMilo lists answer ``{"data": [...], "pagination": {"has_more", "total_count", "url"}}`` and
take ``limit`` (≤ 100) and ``starting_after`` (the id of the last item of the previous page —
``interview_id`` for candidates, ``id`` for postings and questions, ``webhook_id`` for
webhooks). :class:`CursorIterator` fetches one page at a time, only when iterated.

A listing must end. It stops with a :class:`~milo_analytics.api.errors.PaginationError` when
a cursor repeats, when it runs past what ``total_count`` allows (``ceil(total_count /
page_size)`` pages plus :func:`page_slack` for records added while paging), or past
``max_pages`` (default :data:`DEFAULT_MAX_PAGES`) when the server gives no total.

Examples
--------
>>> pages = {None: {"data": [{"id": "a"}, {"id": "b"}], "pagination": {"has_more": True}},
...          "b": {"data": [{"id": "c"}], "pagination": {"has_more": False}}}
>>> it = CursorIterator(lambda params: pages[params.get("starting_after")], cursor_field="id")
>>> [item["id"] for item in it]
['a', 'b', 'c']
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from typing import Any, Generic, TypeVar

from .errors import MalformedResponseError, PaginationError

__all__ = ["DEFAULT_MAX_PAGES", "MAX_PAGE_SIZE", "CursorIterator", "page_slack"]

#: HeyMilo's maximum page size.
MAX_PAGE_SIZE = 100
#: Pages per listing when the server gives no ``total_count`` (500,000 records at 100 a page).
DEFAULT_MAX_PAGES = 5_000


def page_slack(expected_pages: int) -> int:
    """Extra pages allowed beyond ``ceil(total_count / page_size)``: records created while a
    listing is paged push later ones back (2 pages, plus 10 % for long listings).

    Examples
    --------
    >>> page_slack(3), page_slack(100)
    (2, 12)
    """
    return 2 + expected_pages // 10


T = TypeVar("T")


class CursorIterator(Generic[T]):
    """Iterate over every item of a cursor-paginated list, fetching pages lazily.

    Parameters
    ----------
    fetch
        ``fetch(params) -> body``: performs one GET with the extra query ``params`` (containing
        ``starting_after`` from the second page on) and returns the decoded JSON body.
    cursor_field
        The item field whose value is the cursor for the next page.
    parse
        Turns one raw item (dict) into what the iterator yields; identity by default.
    method, path
        For error messages.
    page_size
        The ``limit`` sent with each request (for the ``total_count`` bound).
    max_pages
        Pages allowed when the server gives no ``total_count`` (``None``: no cap).

    Attributes
    ----------
    total_count : int or None
        The largest ``pagination.total_count`` the server sent so far.
    pages_fetched : int
        How many pages were requested so far.

    Raises
    ------
    PaginationError
        The listing does not end (see the module docstring).
    """

    def __init__(
        self,
        fetch: Callable[[dict[str, Any]], Any],
        *,
        cursor_field: str,
        parse: Callable[[dict[str, Any]], T] | None = None,
        method: str = "GET",
        path: str = "",
        page_size: int | None = None,
        max_pages: int | None = DEFAULT_MAX_PAGES,
    ) -> None:
        self._fetch = fetch
        self._cursor_field = cursor_field
        self._parse = parse
        self._method = method
        self._path = path
        self._page_size = page_size
        self._max_pages = max_pages
        self.total_count: int | None = None
        self.pages_fetched = 0
        self._largest_page = 0
        self._gen: Iterator[T] | None = None

    def __iter__(self) -> CursorIterator[T]:
        return self

    def __next__(self) -> T:
        if self._gen is None:
            self._gen = self._items()
        return next(self._gen)

    def __repr__(self) -> str:
        return (
            f"<CursorIterator {self._method} {self._path} pages_fetched={self.pages_fetched} "
            f"total_count={self.total_count}>"
        )

    def _malformed(self, what: str) -> MalformedResponseError:
        return MalformedResponseError(
            f"malformed response: {what}", method=self._method, path=self._path
        )

    def pages(self) -> Iterator[list[T]]:
        """Iterate page by page (lists of items) instead of item by item.

        Examples
        --------
        >>> for page in client.candidates.list("13D77095", raw=True).pages():  # doctest: +SKIP
        ...     print(len(page))
        """
        cursor: str | None = None
        seen: set[str] = set()
        while True:
            params: dict[str, Any] = {}
            if cursor is not None:
                params["starting_after"] = cursor
            body = self._fetch(params)
            self.pages_fetched += 1
            if not isinstance(body, dict) or not isinstance(body.get("data"), list):
                raise self._malformed("a list response needs a 'data' array")
            items = body["data"]
            pagination = body.get("pagination") or {}
            if not isinstance(pagination, dict):
                raise self._malformed("'pagination' is not an object")
            total = pagination.get("total_count")
            if isinstance(total, int) and not isinstance(total, bool) and total >= 0:
                self.total_count = max(total, self.total_count or 0)
            if self._page_size and len(items) > self._page_size:
                raise PaginationError(
                    f"malformed response: a page of {len(items)} records, but pages of "
                    f"{self._page_size} were asked for",
                    pages=self.pages_fetched,
                    method=self._method,
                    path=self._path,
                    hint="the server ignores the page size; report it to HeyMilo",
                )
            self._largest_page = max(self._largest_page, len(items))
            parsed = [self._parse(item) if self._parse else item for item in items]
            yield parsed  # type: ignore[misc]
            if not pagination.get("has_more") or not items:
                return
            last = items[-1]
            nxt = last.get(self._cursor_field) if isinstance(last, dict) else None
            if not isinstance(nxt, str) or not nxt:
                raise self._malformed(
                    f"has_more is true but the last item has no {self._cursor_field!r} cursor"
                )
            if nxt in seen:
                raise PaginationError(
                    f"malformed response: the cursor {nxt!r} repeated after "
                    f"{self.pages_fetched} pages; pagination does not advance",
                    pages=self.pages_fetched,
                    method=self._method,
                    path=self._path,
                    hint="the server's listing is broken; retry later or report it to HeyMilo",
                )
            self._check_page_cap()
            seen.add(nxt)
            cursor = nxt

    def _check_page_cap(self) -> None:
        """Before fetching page ``pages_fetched + 1``: is the listing still plausible?"""
        pages = self.pages_fetched
        # A server may send shorter pages than asked for: count in the pages it really sends.
        per_page = min(self._page_size or self._largest_page, self._largest_page)
        if self.total_count is not None and per_page:
            expected = max(1, math.ceil(self.total_count / per_page))
            allowed = expected + page_slack(expected)
            if pages >= allowed:
                raise PaginationError(
                    f"malformed response: the listing does not end: {pages} pages of up to "
                    f"{per_page} records fetched, but the server's total_count="
                    f"{self.total_count} needs {expected}, and it still says has_more",
                    pages=pages,
                    method=self._method,
                    path=self._path,
                    hint="the server's pagination is broken; retry later or report it to "
                    "HeyMilo (the records listed so far were not lost)",
                )
        if self._max_pages is not None and pages >= self._max_pages:
            raise PaginationError(
                f"malformed response: the listing was stopped after {self._max_pages:,} pages "
                f"(and the server still says has_more"
                + ("" if self.total_count is not None else ", without a total_count")
                + ")",
                pages=pages,
                method=self._method,
                path=self._path,
                hint=f"if the listing really is that long, raise max_pages= on HeyMiloClient "
                f"(now {self._max_pages}); otherwise the server's pagination is broken",
                cli_hint=f"if the listing really is that long, set HEYMILO_MAX_PAGES="
                f"{2 * self._max_pages} (now {self._max_pages}); otherwise the server's "
                "pagination is broken",
            )

    def _items(self) -> Iterator[T]:
        for page in self.pages():
            yield from page
