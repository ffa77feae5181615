"""Lazy cursor pagination over HeyMilo list endpoints.

HeyMilo lists answer ``{"data": [...], "pagination": {"has_more", "total_count", "url"}}`` and
take ``limit`` (≤ 100) and ``starting_after`` (the id of the last item of the previous page —
``interview_id`` for candidates, ``id`` for postings and questions, ``webhook_id`` for
webhooks). :class:`CursorIterator` fetches one page at a time, only when iterated.

Examples
--------
>>> pages = {None: {"data": [{"id": "a"}, {"id": "b"}], "pagination": {"has_more": True}},
...          "b": {"data": [{"id": "c"}], "pagination": {"has_more": False}}}
>>> it = CursorIterator(lambda params: pages[params.get("starting_after")], cursor_field="id")
>>> [item["id"] for item in it]
['a', 'b', 'c']
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, Generic, TypeVar

from .errors import MalformedResponseError

__all__ = ["MAX_PAGE_SIZE", "CursorIterator"]

#: HeyMilo's maximum page size.
MAX_PAGE_SIZE = 100

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

    Attributes
    ----------
    total_count : int or None
        The server's ``pagination.total_count`` after the first page, when sent.
    pages_fetched : int
        How many pages were requested so far.
    """

    def __init__(
        self,
        fetch: Callable[[dict[str, Any]], Any],
        *,
        cursor_field: str,
        parse: Callable[[dict[str, Any]], T] | None = None,
        method: str = "GET",
        path: str = "",
    ) -> None:
        self._fetch = fetch
        self._cursor_field = cursor_field
        self._parse = parse
        self._method = method
        self._path = path
        self.total_count: int | None = None
        self.pages_fetched = 0
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
            if self.total_count is None and isinstance(pagination.get("total_count"), int):
                self.total_count = pagination["total_count"]
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
                raise self._malformed(f"the cursor {nxt!r} repeated; pagination does not advance")
            seen.add(nxt)
            cursor = nxt

    def _items(self) -> Iterator[T]:
        for page in self.pages():
            yield from page
