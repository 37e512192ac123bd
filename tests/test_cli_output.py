"""``portfolio solve --json`` prints exactly ``json.dumps(result, indent=2)`` (written by
``json_text``), writes the same text to ``--output``, and leaves the garbage collector as it
found it (the command pauses it)."""

from __future__ import annotations

import gc
import json
from pathlib import Path

import pytest

from portfolio.cli import main

INSTANCES = Path(__file__).resolve().parents[1] / "instances"


@pytest.mark.parametrize("name", ["example_borough.yaml", "small/same_mode_bundle.yaml"])
def test_printed_and_written_json_are_the_standard_text(
    name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "result.json"
    assert gc.isenabled()
    code = main(["solve", str(INSTANCES / name), "--json", "--prefer", "none", "-o", str(out)])
    assert code == 0
    assert gc.isenabled()
    printed = capsys.readouterr().out
    data = json.loads(printed)
    assert data["status"] == "optimal"
    assert data["verified"] is True
    assert printed == json.dumps(data, indent=2, allow_nan=False) + "\n"
    assert out.read_text(encoding="utf-8") == printed
