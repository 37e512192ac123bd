"""The fast JSON reader (portfolio.columnar) against the full pydantic path.

Every accepted file must give an instance equal to the one the full path gives, with option
columns equal to the option objects' figures; every bad file must give exactly the error the full
path gives (file, item, field, message), whichever route reports it.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import portfolio.io as pio
from portfolio.columnar import OptionColumns, columns_of, option_columns, read_json
from portfolio.compile import compile_instance
from portfolio.domain import OPTION_FIGURES, Instance, current_option_index
from portfolio.errors import PortfolioError
from portfolio.generate import random_instance_data
from portfolio.io import dump_instance, load_instance
from portfolio.multiyear.compile import compile_multi_year
from portfolio.multiyear.generate import random_multi_year_data
from portfolio.multiyear.table import YearTable
from portfolio.table import OptionTable

INSTANCES = Path(__file__).resolve().parents[1] / "instances"
BUNDLED = sorted(p for p in INSTANCES.rglob("*") if p.suffix in (".yaml", ".json", ".toml"))


def _full_path(path: Path, monkeypatch: pytest.MonkeyPatch) -> Instance:
    """load_instance with the fast reader switched off."""
    with monkeypatch.context() as patch:
        patch.setattr(pio, "read_json", lambda raw, source: None)
        patch.setattr(pio, "read_parsed", lambda data, source: None)
        return load_instance(path)


def _outcome(load: Callable[[], Instance]) -> tuple[str, Any]:
    try:
        return "ok", load()
    except PortfolioError as exc:
        return type(exc).__name__, str(exc)


def _write(tmp_path: Path, data: Any, name: str = "case.json", indent: int | None = 2) -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(data, indent=indent, ensure_ascii=False, allow_nan=True))
    return path


def _assert_columns_match(instance: Instance) -> None:
    """The option columns hold exactly the option objects' figures."""
    stored = columns_of(instance)
    assert stored is not None
    options = [o for s in instance.services for o in s.options]
    assert stored.num_options == len(options)
    mode_ids = [m.id for m in instance.modes]
    assert [mode_ids[i] for i in stored.mode] == [o.mode for o in options]
    names = set(OPTION_FIGURES) | {k for o in options for k in o.metrics}
    for name in sorted(names - {"annual_cost"} if any(
            isinstance(o.annual_cost, list) for o in options) else names):
        expected = np.array([o.figure(name) for o in options])
        assert np.array_equal(stored.figure(name), expected), name
    assert [bool(c) for c in stored.current] == [o.current for o in options]
    counts = [len(s.options) for s in instance.services]
    assert np.diff(stored.first_option).tolist() == counts


def _rich(data: dict[str, Any]) -> dict[str, Any]:
    """Labels, current flags, whole numbers, social value and several metrics on some options."""
    data = copy.deepcopy(data)
    for number, service in enumerate(data["services"]):
        for index, option in enumerate(service["options"]):
            if (number + index) % 3 == 0:
                option["label"] = f"{index + 2}-year contract"
            if (number + index) % 4 == 1:
                option["social_value"] = float(number % 7)
                option["risk"] = -1.5
                option["staff_transferred"] = number % 5
            if (number + index) % 5 == 2:
                option["metrics"] = {**option.get("metrics", {}), "carbon": index, "jobs": 0.5}
            if index == 0:
                option["annual_cost"] = int(option["annual_cost"])
        modes = [o["mode"] for o in service["options"]]
        marked = any(o.get("current") for o in service["options"])
        if number % 2 and service["current_mode"] in modes and not marked:
            service["options"][modes.index(service["current_mode"])]["current"] = True
            service["statutory"] = number % 4 == 1
            service["weight"] = 2
            service["group"] = "Adults"
    return data


def _cases() -> list[tuple[str, dict[str, Any]]]:
    plain = random_instance_data(40, seed=3)
    full = random_instance_data(40, seed=4, setup_costs=True, sector_shares=True, bundles=True)
    multi = random_multi_year_data(25, seed=5)
    return [("plain", plain), ("full", full), ("rich", _rich(full)),
            ("multi_year", multi), ("multi_year_rich", _rich(multi))]


@pytest.mark.parametrize(("name", "data"), _cases(), ids=[name for name, _ in _cases()])
def test_generated_instances_are_equal_both_ways(
    name: str, data: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for indent in (None, 2):
        path = _write(tmp_path, data, indent=indent)
        fast = load_instance(path)
        assert columns_of(fast) is not None, "the fast reader refused a valid generated file"
        full = _full_path(path, monkeypatch)
        assert columns_of(full) is None
        assert fast == full
        assert fast.model_dump_json() == full.model_dump_json()
        assert repr(fast) == repr(full)
        assert fast.services[3].options[1].model_fields_set == \
            full.services[3].options[1].model_fields_set
        _assert_columns_match(fast)


@pytest.mark.parametrize("path", BUNDLED, ids=[str(p.relative_to(INSTANCES)) for p in BUNDLED])
def test_bundled_instances_are_equal_both_ways(
    path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each bundled instance, written as JSON, reads the same by both routes (and the one with
    every field written out too)."""
    try:
        original = load_instance(path)
    except PortfolioError:
        pytest.skip(f"{path.name} is a bad-input example")
    assert columns_of(original) is not None, "the fast reader refused a bundled file"
    assert original == _full_path(path, monkeypatch)
    assert original.model_dump_json() == _full_path(path, monkeypatch).model_dump_json()
    _assert_columns_match(original)
    for text in (dump_instance(original, "json"), original.model_dump_json()):
        json_path = tmp_path / "bundled.json"
        json_path.write_text(text)
        fast = load_instance(json_path)
        assert fast == original
        assert fast == _full_path(json_path, monkeypatch)
        if columns_of(fast) is not None:
            _assert_columns_match(fast)


def test_the_table_is_the_same_from_columns_and_from_objects(tmp_path: Path) -> None:
    data = _rich(random_instance_data(60, seed=8, setup_costs=True, sector_shares=True))
    data["services"][0]["options"][0]["indexation"] = 0.03
    fast = load_instance(_write(tmp_path, data))
    assert columns_of(fast) is not None
    slow = Instance.from_data(data)
    a, b = OptionTable.from_instance(fast), OptionTable.from_instance(slow)
    for name in ("service", "position", "mode", "first_option", "cost", "transition_cost",
                 "outcome", "flexibility", "changes", "current_mode"):
        assert np.array_equal(getattr(a, name), getattr(b, name), equal_nan=True), name
    for figure in ("carbon", "jobs", "social_value", "risk", "contract_years", "fte", "nothing"):
        assert np.array_equal(a.figure(figure), b.figure(figure)), figure
    model_a, model_b = compile_instance(fast).model, compile_instance(slow).model
    assert (model_a.matrix != model_b.matrix).nnz == 0
    for name in ("objective", "row_lower", "row_upper", "col_lower", "col_upper"):
        assert np.array_equal(getattr(model_a, name), getattr(model_b, name)), name


def test_the_multi_year_table_is_the_same_from_columns_and_from_objects(tmp_path: Path) -> None:
    data = _rich(random_multi_year_data(30, seed=9))
    for index, service in enumerate(data["services"]):
        service["options"][-1]["indexation"] = 0.01 * (index % 4)
        service["options"][-1]["lead_time_years"] = index % 3
        if index % 5 == 2:  # a list of yearly costs (whole numbers among them)
            service["options"][0]["annual_cost"] = [
                100.5 + t if t % 2 else 100 + t for t in range(data["horizon"]["years"])]
            service["options"][0].pop("indexation", None)
    fast = load_instance(_write(tmp_path, data))
    assert columns_of(fast) is not None, "the fast reader refused yearly cost lists"
    slow = Instance.from_data(data)
    a, b = YearTable.from_instance(fast), YearTable.from_instance(slow)
    for name in ("cost", "length", "lead", "current_option", "lock_end", "mode"):
        assert np.array_equal(getattr(a, name), getattr(b, name)), name
    # ... and both are what the option objects' own accessors give.
    options = [o for s in slow.services for o in s.options]
    years = range(a.years)
    assert np.array_equal(a.cost, [[o.annual_cost_in_year(t) for t in years] for o in options])
    assert a.current_option.tolist() == [
        int(a.first_option[i]) + (current_option_index(s) or 0)
        for i, s in enumerate(slow.services)]
    assert fast == slow
    model_a = compile_multi_year(fast).model
    model_b = compile_multi_year(slow).model
    assert (model_a.matrix != model_b.matrix).nnz == 0
    for name in ("objective", "row_lower", "row_upper", "col_lower", "col_upper"):
        assert np.array_equal(getattr(model_a, name), getattr(model_b, name)), name


def test_a_copy_with_other_services_does_not_use_the_columns(tmp_path: Path) -> None:
    data = random_instance_data(10, seed=1)
    fast = load_instance(_write(tmp_path, data))
    assert columns_of(fast) is not None
    other = fast.model_copy(update={"services": fast.services[:5]})
    assert columns_of(other) is None
    assert OptionTable.from_instance(other).num_options == sum(
        len(s.options) for s in fast.services[:5])


def _small() -> dict[str, Any]:
    return {
        "name": "small",
        "modes": [{"id": "in_house", "sector": "public"},
                  {"id": "private", "sector": "private"},
                  {"id": "closed", "sector": "public", "ceases_service": True}],
        "services": [
            {"id": "parks", "current_mode": "in_house", "options": [
                {"mode": "in_house", "annual_cost": 100.0, "outcome": 5.0, "flexibility": 0.5},
                {"mode": "private", "annual_cost": 80.0, "outcome": 4.0, "flexibility": 0.2,
                 "metrics": {"carbon": 3.0}},
            ]},
            {"id": "roads", "current_mode": "private", "options": [
                {"mode": "private", "annual_cost": 50.0, "outcome": 2.0, "flexibility": 0.9},
                {"mode": "closed", "annual_cost": 0.0, "outcome": 0.0, "flexibility": 1.0},
            ]},
        ],
        "constraints": {"budget": 200.0, "limits": [{"metric": "carbon", "max": 10}]},
    }


def _option(data: dict[str, Any]) -> dict[str, Any]:
    option: dict[str, Any] = data["services"][1]["options"][0]
    return option


def _service(data: dict[str, Any]) -> dict[str, Any]:
    service: dict[str, Any] = data["services"][1]
    return service


BAD: dict[str, Callable[[dict[str, Any]], Any]] = {
    "negative_cost": lambda d: _option(d).update(annual_cost=-1.0),
    "text_cost": lambda d: _option(d).update(annual_cost="50"),
    "bool_cost": lambda d: _option(d).update(annual_cost=True),
    "nan_cost": lambda d: _option(d).update(annual_cost=math.nan),
    "infinite_outcome": lambda d: _option(d).update(outcome=math.inf),
    "huge_outcome": lambda d: _option(d).update(outcome=1e16),
    "null_outcome": lambda d: _option(d).update(outcome=None),
    "missing_outcome": lambda d: _option(d).pop("outcome"),
    "unknown_field": lambda d: _option(d).update(colour="red"),
    "unknown_mode": lambda d: _option(d).update(mode="privat"),
    "empty_mode": lambda d: _option(d).update(mode=""),
    "newline_in_mode": lambda d: _option(d).update(mode="pri\nvate"),
    "flexibility_above_one": lambda d: _option(d).update(flexibility=1.5),
    "flexibility_missing": lambda d: (_option(d).pop("flexibility"),
                                      d["constraints"].update(min_flexibility=0.1)),
    "zero_contract_years": lambda d: _option(d).update(contract_years=0),
    "fractional_contract_years": lambda d: _option(d).update(contract_years=1.5),
    "negative_lead_time": lambda d: _option(d).update(lead_time_years=-1),
    "indexation_minus_one": lambda d: _option(d).update(indexation=-1.0),
    "label_number": lambda d: _option(d).update(label=5),
    "current_text": lambda d: _option(d).update(current="yes"),
    "two_current": lambda d: [o.update(current=True) for o in _service(d)["options"]],
    "current_in_wrong_mode": lambda d: _service(d)["options"][1].update(current=True),
    "metric_shadows_field": lambda d: _option(d).update(metrics={"outcome": 1.0}),
    "metric_text": lambda d: _option(d).update(metrics={"carbon": "3"}),
    "metric_null": lambda d: _option(d).update(metrics={"carbon": None}),
    "metric_empty_name": lambda d: _option(d).update(metrics={"": 1.0}),
    "metrics_not_mapping": lambda d: _option(d).update(metrics=[1.0]),
    "cost_list_without_horizon": lambda d: _option(d).update(annual_cost=[1.0, 2.0]),
    "no_options": lambda d: _service(d).update(options=[]),
    "option_not_mapping": lambda d: _service(d)["options"].append(3),
    "duplicate_service": lambda d: _service(d).update(id="parks"),
    "service_id_tab": lambda d: _service(d).update(id="ro\tads"),
    "negative_weight": lambda d: _service(d).update(weight=-1.0),
    "unknown_service_field": lambda d: _service(d).update(colour="red"),
    "current_mode_without_option": lambda d: _service(d).update(current_mode="in_house"),
    "current_mode_unknown": lambda d: _service(d).update(current_mode="nowhere"),
    "statutory_only_ceases": lambda d: (_service(d).update(statutory=True),
                                        _service(d)["options"].pop(0),
                                        _service(d).update(current_mode="closed")),
    "contract_end_without_horizon": lambda d: _service(d).update(current_contract_end=2030),
    "termination_without_horizon": lambda d: _service(d).update(termination_cost=5.0),
    "unknown_limit_metric": lambda d: d["constraints"]["limits"][0].update(metric="carbn"),
    "fixed_unknown_service": lambda d: d["constraints"].update(fixed={"rods": "private"}),
    "fixed_to_missing_mode": lambda d: d["constraints"].update(fixed={"roads": "in_house"}),
    "bad_sector": lambda d: d["modes"][0].update(sector="publik"),
    "services_not_list": lambda d: d.update(services={"parks": 1}),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_input_gives_the_same_error_by_both_routes(
    case: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = _small()
    BAD[case](data)
    path = _write(tmp_path, data)
    fast = _outcome(lambda: load_instance(path))
    full = _outcome(lambda: _full_path(path, monkeypatch))
    assert fast[0] != "ok", f"{case} was accepted"
    assert fast == full
    assert str(path) in fast[1]


def test_the_small_instance_itself_is_accepted_fast(tmp_path: Path) -> None:
    path = _write(tmp_path, _small())
    assert columns_of(load_instance(path)) is not None


def _duplicate_text(case: str) -> str:
    base = json.dumps(_small(), indent=2)
    if case == "top_level":
        return base.replace('"name": "small"', '"name": "small", "name": "other"')
    text = base.replace('"carbon": 3.0', '"carbon": 3.0, "carbon": 4.0')
    if case == "in_metrics":
        return text
    # A key with spaces before its colon too (the key count takes those as well).
    return text.replace('"budget":', '"budget"  :')


@pytest.mark.parametrize("case", ["top_level", "in_metrics", "spaced_key"])
def test_duplicate_keys_are_reported_as_before(
    case: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "dup.json"
    path.write_text(_duplicate_text(case))
    fast = _outcome(lambda: load_instance(path))
    full = _outcome(lambda: _full_path(path, monkeypatch))
    assert fast[0] == "InstanceFileError"
    assert "duplicate key" in fast[1]
    assert fast == full


def test_a_key_with_spaces_before_its_colon_is_read_fast(tmp_path: Path) -> None:
    path = tmp_path / "spaced.json"
    path.write_text(json.dumps(_small(), indent=2).replace('"budget":', '"budget"  :'))
    assert columns_of(load_instance(path)) is not None


def test_an_escaped_quote_before_a_colon_is_not_taken_for_a_key(tmp_path: Path) -> None:
    """A ``":`` inside a string makes the key count unequal: the full path decides (and
    accepts the file)."""
    data = _small()
    data["description"] = 'he said "a": yes'
    path = _write(tmp_path, data)
    instance = load_instance(path)
    assert instance.description == 'he said "a": yes'
    assert read_json(path.read_bytes(), str(path)) is None


def test_non_ascii_ids_are_left_to_the_full_path(tmp_path: Path) -> None:
    data = _small()
    data["services"][0]["id"] = "café"
    path = _write(tmp_path, data)
    assert read_json(path.read_bytes(), str(path)) is None
    assert load_instance(path).services[0].id == "café"


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_yaml_gives_the_same_error_by_both_routes(
    case: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    yaml = pytest.importorskip("yaml")
    data = _small()
    BAD[case](data)
    path = tmp_path / "case.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    fast = _outcome(lambda: load_instance(path))
    full = _outcome(lambda: _full_path(path, monkeypatch))
    assert fast[0] != "ok", f"{case} was accepted"
    assert fast == full


def test_yaml_aliases_that_repeat_an_option_are_left_to_the_full_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = """
modes: [{id: a, sector: public}, {id: b, sector: private}]
services:
  - id: s1
    current_mode: a
    options: [&opt {mode: a, annual_cost: 1, outcome: 2, metrics: {m: 1}}, *opt]
  - {id: s2, current_mode: a, options: [*opt]}
"""
    path = tmp_path / "alias.yaml"
    path.write_text(text)
    instance = load_instance(path)
    assert columns_of(instance) is None
    assert instance == _full_path(path, monkeypatch)
    first, second = instance.services[0].options
    assert first.metrics is not second.metrics


@pytest.mark.parametrize(("name", "data"), _cases(), ids=[name for name, _ in _cases()])
def test_option_columns_built_from_objects_equal_the_read_ones(
    name: str, data: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _write(tmp_path, data)
    fast = load_instance(path)
    read = columns_of(fast)
    assert read is not None
    full = _full_path(path, monkeypatch)
    assert columns_of(full) is None
    built = option_columns(full)
    assert built is not read
    assert columns_of(full) is built  # kept once built
    assert option_columns(fast) is read
    for item in dataclasses.fields(OptionColumns):
        mine, theirs = getattr(built, item.name), getattr(read, item.name)
        if item.name == "metrics":
            assert mine.keys() == theirs.keys()
            for key in mine:
                assert np.array_equal(mine[key], theirs[key], equal_nan=True), key
        elif isinstance(mine, np.ndarray):
            assert mine.dtype == theirs.dtype, item.name
            assert np.array_equal(mine, theirs, equal_nan=True), item.name
        else:
            assert mine == theirs, item.name


def _ticking_clock(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Make ``time.perf_counter`` a clock that moves one second each time it is read; the list
    holds how often it was read."""
    import time

    reads = [0]

    def clock() -> float:
        reads[0] += 1
        return float(reads[0])

    monkeypatch.setattr(time, "perf_counter", clock)
    return reads


def test_the_reader_looks_at_its_deadline_between_its_passes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A deadline that passes during the fast reader stops it at the next pass, whichever that
    is: a clock moving one second per look shows how many looks there are, and each deadline
    before the last look gives the time-limit error naming the file and the stage."""
    from portfolio.errors import ReadTimeLimitError

    data = _rich(random_instance_data(30, seed=6, setup_costs=True, sector_shares=True,
                                      bundles=True))
    path = _write(tmp_path, data)
    raw = path.read_bytes()
    expected = load_instance(path)
    reads = _ticking_clock(monkeypatch)
    assert read_json(raw, str(path), deadline=1e9) == expected
    looks = reads[0]
    assert looks >= 10, f"the reader looked at its deadline only {looks} times"
    stages = []
    for deadline in range(looks):
        reads[0] = 0
        with pytest.raises(ReadTimeLimitError) as caught:
            read_json(raw, str(path), deadline=float(deadline))
        assert caught.value.file == str(path)
        stages.append(caught.value.stage)
        assert reads[0] == deadline + 1  # it stopped at the first look past the deadline
    assert stages[0] == "parsing"
    assert set(stages[1:]) == {"validating"}
    reads[0] = 0
    assert read_json(raw, str(path), deadline=float(looks)) == expected


def test_load_instance_stops_reading_when_the_deadline_passes_in_the_fast_reader(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from portfolio.errors import ReadTimeLimitError

    path = _write(tmp_path, random_instance_data(20, seed=2, bundles=True))
    expected = load_instance(path)
    reads = _ticking_clock(monkeypatch)
    load_instance(path, deadline=1e9)
    looks = reads[0]
    outcomes = []
    for deadline in range(looks):
        reads[0] = 0
        with pytest.raises(ReadTimeLimitError) as caught:
            load_instance(path, deadline=float(deadline))
        outcomes.append(caught.value.stage)
        assert reads[0] <= deadline + 1
    # Reading the bytes, then parsing and validating a pass at a time.
    assert outcomes[0] == "reading"
    assert {"parsing", "validating"} <= set(outcomes)
    assert outcomes.count("validating") >= 8
    reads[0] = 0
    assert load_instance(path, deadline=float(looks)) == expected


def _msgspec_decode() -> Callable[[bytes], Any]:
    msgspec = pytest.importorskip("msgspec", reason="the `fast` extra (msgspec) is not installed")
    decode: Callable[[bytes], Any] = msgspec.json.decode
    return decode


def test_the_reader_parses_with_msgspec_when_it_is_installed() -> None:
    from portfolio import columnar

    assert columnar._decode is _msgspec_decode()


@pytest.fixture(params=["pydantic_core", "msgspec"])
def parser(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """The fast reader with each of its JSON parsers."""
    from portfolio import columnar

    name: str = request.param
    decode = _msgspec_decode() if name == "msgspec" else columnar._pydantic_decode
    monkeypatch.setattr(columnar, "_decode", decode)
    return name


@pytest.mark.parametrize(("name", "data"), _cases(), ids=[name for name, _ in _cases()])
def test_each_parser_gives_the_full_paths_instance(
    parser: str, name: str, data: dict[str, Any], tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    path = _write(tmp_path, data, indent=None)
    fast = load_instance(path)
    assert columns_of(fast) is not None, f"the fast reader ({parser}) refused a valid file"
    full = _full_path(path, monkeypatch)
    assert fast == full
    assert fast.model_dump_json() == full.model_dump_json()
    assert repr(fast) == repr(full)
    for service, expected in zip(fast.services, full.services, strict=True):
        assert service.model_fields_set == expected.model_fields_set
        assert [o.model_fields_set for o in service.options] == [
            o.model_fields_set for o in expected.options]
    _assert_columns_match(fast)


@pytest.mark.parametrize("case", sorted(BAD))
def test_each_parser_gives_the_full_paths_error(
    parser: str, case: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = _small()
    BAD[case](data)
    path = _write(tmp_path, data)
    fast = _outcome(lambda: load_instance(path))
    assert fast[0] != "ok", f"{case} was accepted"
    assert fast == _outcome(lambda: _full_path(path, monkeypatch))


# Texts that one parser takes and the other refuses, or that only one route takes.
ODD_TEXTS = {
    "nan": '"annual_cost": NaN',
    "infinity": '"annual_cost": Infinity',
    "beyond_doubles": '"annual_cost": 1e999',
    "huge_integer": '"annual_cost": 123456789012345678901234567890',
    "integer_cost": '"annual_cost": 50',
    "exponent": '"annual_cost": 5E1',
    "negative_zero": '"annual_cost": -0.0',
}


@pytest.mark.parametrize("case", sorted(ODD_TEXTS))
def test_each_parser_agrees_with_the_full_path_on_odd_numbers(
    parser: str, case: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = json.dumps(_small(), indent=2)
    assert '"annual_cost": 50.0' in text
    path = tmp_path / "odd.json"
    path.write_text(text.replace('"annual_cost": 50.0', ODD_TEXTS[case]))
    fast = _outcome(lambda: load_instance(path))
    full = _outcome(lambda: _full_path(path, monkeypatch))
    assert fast == full
    if fast[0] == "ok":
        assert fast[1].model_dump_json() == full[1].model_dump_json()


@pytest.mark.parametrize("swapped", ["fields", "metrics", "both"])
def test_options_with_as_many_keys_as_the_first_but_other_ones_are_read_right(
    swapped: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The reader guesses that options giving as many keys as the first give the first's keys
    (and metrics mappings as many names as the first, its names): options that swap one field
    for another, and mappings that swap one name for another, prove the guess wrong, and the
    file is still read fast, and right."""
    data = random_instance_data(30, seed=11)
    for number, service in enumerate(data["services"]):
        for index, option in enumerate(service["options"]):
            name = "carbon" if (number + index) % 2 or swapped == "fields" else "jobs"
            option["metrics"] = {**option["metrics"], name: float(index)}
            if (number + index) % 3 == 1 and swapped != "metrics":  # a label, no transition cost
                option.pop("transition_cost")
                option["label"] = f"option {index}"
    counts = {len(o) for s in data["services"] for o in s["options"]}
    first = data["services"][0]["options"][0]
    assert counts == {len(first)}, "the case needs options with equally many keys"
    keys = [(set(o), set(o["metrics"])) for s in data["services"] for o in s["options"]]
    assert any(k[0] != set(first) for k in keys) == (swapped != "metrics")
    assert any(k[1] != set(first["metrics"]) for k in keys) == (swapped != "fields")
    path = _write(tmp_path, data)
    fast = load_instance(path)
    assert columns_of(fast) is not None, "the fast reader refused the file"
    full = _full_path(path, monkeypatch)
    assert fast == full
    assert fast.model_dump_json() == full.model_dump_json()
    for service, expected in zip(fast.services, full.services, strict=True):
        assert [o.model_fields_set for o in service.options] == [
            o.model_fields_set for o in expected.options]
        assert [list(o.metrics) for o in service.options] == [
            list(o.metrics) for o in expected.options]
    _assert_columns_match(fast)
