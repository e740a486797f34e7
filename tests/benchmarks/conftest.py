"""Shared fixture: run one benchmark at smoke size into the test's tmp_path."""

import contextlib
import io
import json

import pytest

from benchmarks._runner import run


@pytest.fixture
def smoke_records(tmp_path):
    """`smoke_records(name)` runs benchmark `name` at smoke size into `tmp_path` (the
    test's own) and returns its records; a failed case fails the test with the log."""

    def records(name):
        buf = io.StringIO()
        with contextlib.redirect_stdout(buf):
            rc = run([name], "smoke", tmp_path, progress=False)
        assert rc == 0, buf.getvalue()
        return json.loads((tmp_path / "results.json").read_text())["records"]

    return records
