"""The error tree of DESIGN.md: one root, the documented parents, readable messages."""

import pickle

import pytest

from milo_analytics import errors as E


@pytest.mark.parametrize(
    ("cls", "parent"),
    [
        (E.ConfigError, E.MiloError),
        (E.APIError, E.MiloError),
        (E.APIConnectionError, E.APIError),
        (E.APIStatusError, E.APIError),
        (E.AuthenticationError, E.APIStatusError),
        (E.NotFoundError, E.APIStatusError),
        (E.ValidationError, E.APIStatusError),
        (E.RateLimitError, E.APIStatusError),
        (E.ServerError, E.APIStatusError),
        (E.DataError, E.MiloError),
        (E.InsufficientDataError, E.DataError),
        (E.WeightConflictError, E.MiloError),
        (E.PushError, E.MiloError),
    ],
)
def test_hierarchy(cls, parent):
    assert issubclass(cls, parent)
    assert cls.__name__ in E.__all__


def test_status_error_message_names_request_and_hint():
    err = E.AuthenticationError(
        "Invalid or missing API key.",
        status_code=401,
        method="GET",
        path="/api/v2/postings",
        request_id="req_123",
        hint="check HEYMILO_API_KEY",
    )
    text = str(err)
    assert text.startswith("[401] GET /api/v2/postings:")
    assert "req_123" in text and "check HEYMILO_API_KEY" in text


def test_status_error_survives_pickling():
    # errors cross thread/process pools in the loader and joblib
    err = E.NotFoundError("posting 'X' not found", status_code=404, method="GET", path="/p/X")
    back = pickle.loads(pickle.dumps(err))
    assert type(back) is E.NotFoundError
    assert back.status_code == 404 and str(back) == str(err)


def test_data_errors_are_value_errors():
    # so generic `except ValueError` code in notebooks still catches bad input
    with pytest.raises(ValueError):
        raise E.InsufficientDataError("too few", shortfalls={"events": (3, 50)})
