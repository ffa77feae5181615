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


# ----------------------------------------------------------------------------- two renderings


def test_one_message_two_hints_python_by_str_cli_by_cli_message():
    err = E.DataError(
        "no race/ethnicity column; did you mean 'Ethnic Group'?",
        python_hint="pass race_ethnicity='Ethnic Group'",
        cli_hint="pass --race-column 'Ethnic Group'",
    )
    assert str(err) == (
        "no race/ethnicity column; did you mean 'Ethnic Group'? pass race_ethnicity='Ethnic Group'"
    )
    assert err.cli_message() == (
        "no race/ethnicity column; did you mean 'Ethnic Group'? pass --race-column 'Ethnic Group'"
    )
    assert err.detail == "no race/ethnicity column; did you mean 'Ethnic Group'?"
    assert isinstance(err, ValueError)  # DataError stays a ValueError


def test_hints_are_optional_and_join_with_a_semicolon():
    assert str(E.DataError("bad", python_hint="pass x=1")) == "bad; pass x=1"
    assert E.DataError("bad", python_hint="pass x=1").cli_message() == "bad; pass x=1"
    assert E.DataError("bad", cli_hint="pass --x 1").cli_message() == "bad; pass --x 1"
    assert str(E.DataError("bad", cli_hint="pass --x 1")) == "bad"
    plain = E.ConfigError("no key")
    assert str(plain) == plain.cli_message() == "no key"
    assert E.with_hint("it broke.", "Fix it") == "it broke. Fix it"


def test_hints_survive_pickling_and_subclasses():
    err = E.InsufficientDataError(
        "too few", shortfalls={"n": (3, 50)}, python_hint="pass a=1", cli_hint="pass --a 1"
    )
    back = pickle.loads(pickle.dumps(err))
    assert type(back) is E.InsufficientDataError and back.shortfalls == {"n": (3, 50)}
    assert str(back) == "too few; pass a=1" and back.cli_message() == "too few; pass --a 1"
    api = E.NotFoundError("posting 'X' not found", status_code=404, hint="list the postings")
    assert api.cli_message() == str(api)  # API errors keep their own composition


def test_the_cli_prints_the_cli_hint(capsys, monkeypatch):
    from milo_analytics import cli

    def fail(*args, **kwargs):
        raise E.DataError("broken input", python_hint="pass x=1", cli_hint="pass --x 1")

    monkeypatch.setattr(cli, "load_data", fail)
    code = cli.main(["audit", "P", "-d", __file__])
    assert code == 1
    assert capsys.readouterr().err == "milo-analytics: error: broken input; pass --x 1\n"
