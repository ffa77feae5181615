"""Redaction of candidate PII and secrets from every string a report holds.

:class:`Redactor` removes candidate names, emails and phone numbers from free text and the API
key (``HEYMILO_API_KEY`` and any ``secrets`` given) from everything, even with redaction off.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from typing import Any

import pandas as pd

from ..frames import InterviewData

__all__ = ["PII_COLUMNS", "REDACTED", "Redactor"]

#: Columns never shown when PII is redacted.
PII_COLUMNS = frozenset(
    {
        "name",
        "email",
        "phone",
        "phone_number",
        "candidate_name",
        "first_name",
        "last_name",
        "full_name",
        "mobile",
        "telephone",
    }
)
REDACTED = "[redacted]"
_EMAIL_RE = re.compile(r"[\w.+'-]+@[\w-]+(?:\.[\w-]+)+", re.UNICODE)  # what _redact_emails finds
_LOCAL_PART_BACKWARDS = re.compile(r"[\w.+'-]*", re.UNICODE)  # run on the reversed text
_DOMAIN_RE = re.compile(r"[\w-]+(?:\.[\w-]+)+", re.UNICODE)
_PHONE_RE = re.compile(
    r"(?<![\w])(?:\+\d{1,3}[\s.-]?)?(?:\(\d{2,4}\)|\d{3})[\s.-]?\d{3}[\s.-]?\d{3,4}(?![\w])"
    r"|(?<![\w])\+\d[\d\s.-]{7,}\d(?![\w])"
)
_CHUNK_RE = re.compile(r"[^\s,;<>()\[\]\"'`]+")
_DIGITS_RE = re.compile(r"\+?\d[\d\s().-]{5,}\d")
_WORD_RE = re.compile(r"[^\W\d_](?:[^\W\d_]|['’-](?=[^\W\d_]))*", re.UNICODE)


class Redactor:
    """Remove candidate names, emails and phone numbers from free text.

    Names are matched word by word against every token of the candidates' names (whole
    words of two letters or more, in any case, possessives included: "Luis's", "LUIS JONES";
    an initial right before a name goes too: "L. Jones"), emails and phone numbers by pattern
    and by the exact values in the candidates frame. The API key (``HEYMILO_API_KEY`` and any
    ``secrets`` given) is always scrubbed, even when ``enabled`` is False.

    Parameters
    ----------
    names, emails, phones
        Known values from the data.
    enabled
        When False only secrets are scrubbed.
    secrets
        Strings that must never be shown (API keys).

    Examples
    --------
    >>> r = Redactor(names=["Zebedee Quackenbush"])
    >>> r("Zebedee said: mail zq@example.org or call 555-867-5309.")
    '[redacted] said: mail [redacted] or call [redacted].'
    """

    def __init__(
        self,
        names: Iterable[Any] = (),
        emails: Iterable[Any] = (),
        phones: Iterable[Any] = (),
        *,
        enabled: bool = True,
        secrets: Iterable[str] = (),
    ) -> None:
        self.enabled = enabled
        # one regex pass over all names (a word never spans the newline), then each distinct
        # word once: 100,000 candidates share far fewer name words
        words = set(_WORD_RE.findall("\n".join(n for n in names if isinstance(n, str))))
        tokens: set[str] = set()
        for t in words:
            parts = [t, *t.replace("’", "-").replace("'", "-").split("-")]
            tokens.update(_fold(p) for p in parts if len(p) >= 2)
        self._tokens = frozenset(tokens)
        # Known contact values, matched per chunk (set lookups: cost independent of how many
        # candidates there are); phone numbers also by their digits whatever the formatting.
        literals = [str(v).strip() for v in [*emails, *phones] if isinstance(v, str)]
        self._literals = frozenset(v.lower() for v in literals if len(v) >= 5)
        self._phone_digits = frozenset(
            d
            for d in (re.sub(r"\D", "", str(v)) for v in phones if isinstance(v, str))
            if len(d) >= 7
        )
        key = os.environ.get("HEYMILO_API_KEY", "")
        self._secrets = sorted(
            {s for s in [*secrets, key] if s and len(s) >= 6}, key=len, reverse=True
        )

    def __call__(self, value: Any) -> Any:
        """Redact one value of candidate free text (non-strings are returned unchanged)."""
        return self._apply(value, names=True)

    def light(self, value: Any) -> Any:
        """Redact emails, phone numbers, known contact values and secrets, but not name words.

        For text the toolkit wrote itself (analysis notes, category labels such as "White"),
        where matching every name word of every candidate would blank out ordinary words.
        """
        return self._apply(value, names=False)

    def _apply(self, value: Any, *, names: bool) -> Any:
        if not isinstance(value, str) or not value:
            return value
        text = value
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, REDACTED)
        if not self.enabled:
            return text
        if self._literals:
            text = _CHUNK_RE.sub(lambda m: _replace_chunk(m.group(0), self._literals), text)
        if self._phone_digits:
            text = _DIGITS_RE.sub(
                lambda m: (
                    REDACTED if re.sub(r"\D", "", m.group(0)) in self._phone_digits else m.group(0)
                ),
                text,
            )
        text = _redact_emails(text)
        text = _PHONE_RE.sub(REDACTED, text)
        if names and self._tokens:
            text = _WORD_RE.sub(lambda m: _replace_name(m.group(0), self._tokens), text)
            # an initial right before a redacted name ("L. Jones") goes with it
            text = _INITIAL_RE.sub(REDACTED + " ", text)
        return text

    def scrub_secrets(self, text: str) -> str:
        """``text`` with every secret replaced (a last pass over a whole rendered page)."""
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, REDACTED)
        return text

    def frame(self, frame: pd.DataFrame, *, free_text: bool = False) -> pd.DataFrame:
        """A copy of ``frame`` with PII columns dropped (when enabled) and text redacted.

        ``free_text=True`` also removes name words (for candidate-written text).
        """
        fn = self if free_text else self.light
        out = frame.copy()
        if self.enabled:
            drop = [c for c in out.columns if str(c).lower() in PII_COLUMNS]
            out = out.drop(columns=drop)
        for col in out.columns:
            if out[col].dtype == object or pd.api.types.is_string_dtype(out[col].dtype):
                out[col] = out[col].map(fn, na_action="ignore")
        if not isinstance(out.index, pd.RangeIndex):
            out.index = out.index.map(lambda v: fn(v) if isinstance(v, str) else v)
        # headers too: a column may be named after a posting title or a category
        out.columns = [fn(c) if isinstance(c, str) else c for c in out.columns]
        return out

    @classmethod
    def for_data(
        cls,
        data: InterviewData,
        *,
        enabled: bool = True,
        extra_frames: Iterable[pd.DataFrame | None] = (),
        secrets: Iterable[str] = (),
    ) -> Redactor:
        """Build a redactor from the names, emails and phones found in ``data`` (and frames)."""
        names: list[Any] = []
        emails: list[Any] = []
        phones: list[Any] = []
        for frame in [data.candidates, *extra_frames]:
            if frame is None or not isinstance(frame, pd.DataFrame):
                continue
            for col in frame.columns:
                low = str(col).lower()
                if low in {"name", "candidate_name", "first_name", "last_name", "full_name"}:
                    names.extend(frame[col].dropna().astype(str).tolist())
                elif "email" in low:
                    emails.extend(frame[col].dropna().astype(str).tolist())
                elif "phone" in low or low in {"mobile", "telephone"}:
                    phones.extend(frame[col].dropna().astype(str).tolist())
        return cls(names, emails, phones, enabled=enabled, secrets=secrets)


def _redact_emails(text: str) -> str:
    """``_EMAIL_RE.sub(REDACTED, text)`` in linear time.

    The regex tries every start inside a run of local-part characters and scans the rest of
    the run from each: quadratic, so a long run in candidate text (16,000 characters: 0.6 s;
    a megabyte: hours) stalls a report. Here each ``@`` is found once, its local part read
    backwards in one scan that stops at the previous ``@`` (an ``@`` ends any local part; so
    each character is read backwards at most once) and is cut at the previous match's end
    (matches do not overlap), and its domain matched forwards — the same matches, in the same
    order (a test holds the two to each other on random strings).

    Examples
    --------
    >>> _redact_emails("mail ann.lee+hr@example.co.uk or bob@x (no domain)")
    'mail [redacted] or bob@x (no domain)'
    """
    at = text.find("@")
    if at < 0:
        return text
    backwards = text[::-1]
    out: list[str] = []
    done = 0  # the end of the previous match
    while at >= 0:
        local = _LOCAL_PART_BACKWARDS.match(backwards, len(text) - at).end() - (len(text) - at)
        start = max(at - local, done)
        domain = _DOMAIN_RE.match(text, at + 1) if start < at else None
        if domain is None:
            at = text.find("@", at + 1)
            continue
        out.append(text[done:start])
        out.append(REDACTED)
        done = domain.end()
        at = text.find("@", done)
    out.append(text[done:])
    return "".join(out)


_INITIAL_RE = re.compile(r"(?<![\w.])[^\W\d_]\.\s+(?=" + re.escape(REDACTED) + ")")
_POSSESSIVE = ("'s", "'")


def _fold(word: str) -> str:
    """Case- and apostrophe-insensitive form of a name word."""
    return word.replace("’", "'").casefold()


def _replace_name(word: str, tokens: frozenset[str]) -> str:
    """``word`` redacted when it is a name word in any case, possessive kept ("Luis's")."""
    folded = _fold(word)
    if folded in tokens:
        return REDACTED
    for suffix in _POSSESSIVE:
        if folded.endswith(suffix) and folded[: -len(suffix)] in tokens:
            return REDACTED + word[len(word) - len(suffix) :]
    return word


def _replace_chunk(chunk: str, literals: frozenset[str]) -> str:
    core = chunk.rstrip(".:!?")
    if core.lower() in literals:
        return REDACTED + chunk[len(core) :]
    return chunk
