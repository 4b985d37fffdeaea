"""Shared CLI assertions for the error-path tests."""


def one_line_error(res, *needles) -> str:
    """The result is a click error: exit != 0, no exception but SystemExit, the last line names every needle."""
    assert res.exit_code != 0, res.output
    assert res.exception is None or isinstance(res.exception, SystemExit), repr(res.exception)
    assert "Traceback" not in res.output
    last = res.output.strip().splitlines()[-1]
    assert last.startswith("Error:"), res.output
    for needle in needles:
        assert needle in last, last
    return last
