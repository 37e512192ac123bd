"""Options built lazily from the columns of an instance read by the fast reader.

An instance read by :func:`portfolio.columnar.read_json` holds each service's options as
columns until something asks for them. Every way of reading the options (attribute access,
pydantic's C serializer, ``==``, copies, pickling, ``repr``, iteration, the writers) must give
exactly what the full pydantic path gives, or fail loudly: never a silently empty list.
"""

from __future__ import annotations

import copy
import json
import pickle
import threading
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import pydantic
import pydantic_core
import pytest

import portfolio.io as pio
from portfolio.columnar import columns_of
from portfolio.domain import Instance, Option, Service, UnbuiltOptions
from portfolio.generate import random_instance_data
from portfolio.io import dump_instance, load_instance
from portfolio.multiyear.generate import random_multi_year_data
from test_columnar import _rich


def _richer(data: dict[str, Any]) -> dict[str, Any]:
    """test_columnar's rich data, plus null labels, lead times, an explicit empty ``metrics``,
    no ``metrics`` at all, and metrics in two key orders."""
    data = _rich(data)
    for number, service in enumerate(data["services"]):
        for index, option in enumerate(service["options"]):
            if (number + index) % 7 == 3:
                option.pop("metrics", None)
            if (number + index) % 3 == 0 and index % 2 == 0:
                option["label"] = None
            if (number + index) % 4 == 1:
                option["lead_time_years"] = 0
            if (number + index) % 5 == 2 and number % 2:
                option["metrics"] = dict(reversed(option.get("metrics", {}).items()))
            if (number + index) % 11 == 4:
                option["metrics"] = {}
    return data


def _data(kind: str) -> dict[str, Any]:
    if kind == "multi_year":
        data = _richer(random_multi_year_data(20, seed=5))
        for number, service in enumerate(data["services"]):  # yearly cost lists on some options
            for index, option in enumerate(service["options"]):
                if (number + index) % 3 == 1 and not option.get("indexation"):
                    option["annual_cost"] = [float(option["annual_cost"]) + t
                                             for t in range(data["horizon"]["years"])]
                    option["annual_cost"][1] = int(option["annual_cost"][1])
        return data
    return _richer(random_instance_data(30, seed=4, setup_costs=True, sector_shares=True,
                                        bundles=True))


KINDS = ["single_period", "multi_year"]


@pytest.fixture(params=KINDS)
def files(request: pytest.FixtureRequest, tmp_path: Path,
          monkeypatch: pytest.MonkeyPatch) -> tuple[Callable[[], Instance], Instance]:
    """(a reader of fresh fast instances, the instance the full pydantic path gives)."""
    path = tmp_path / "case.json"
    path.write_text(json.dumps(_data(request.param), indent=1))
    with monkeypatch.context() as patch:
        patch.setattr(pio, "read_json", lambda raw, source: None)
        full = load_instance(path)
    assert columns_of(full) is None

    def fast() -> Instance:
        instance = load_instance(path)
        assert columns_of(instance) is not None, "the fast reader refused the file"
        assert _unbuilt(instance) == len(instance.services)
        return instance

    return fast, full


def _unbuilt(instance: Instance) -> int:
    return sum(type(s.__dict__["options"]) is UnbuiltOptions for s in instance.services)


PATHS: dict[str, Callable[[Instance], Any]] = {
    "model_dump": lambda i: i.model_dump(),
    "model_dump_unset": lambda i: i.model_dump(exclude_unset=True),
    "model_dump_json_mode": lambda i: i.model_dump(mode="json", exclude_none=True),
    "model_dump_json": lambda i: i.model_dump_json(),
    "model_dump_json_unset": lambda i: i.model_dump_json(exclude_unset=True, indent=1),
    "repr": repr,
    "str": str,
    "deepcopy_dump": lambda i: copy.deepcopy(i).model_dump_json(),
    "pickle_dump": lambda i: pickle.loads(pickle.dumps(i)).model_dump_json(),
    "model_copy_deep": lambda i: i.model_copy(deep=True).model_dump_json(exclude_unset=True),
    "revalidated": lambda i: Instance.model_validate(dict(i)).model_dump_json(),
    "copy_with_other_services": lambda i: i.model_copy(
        update={"services": i.services[2:]}).model_dump_json(),
    "dump_instance_json": lambda i: dump_instance(i, "json"),
    "dump_instance_yaml": lambda i: dump_instance(i, "yaml"),
    "service_dump": lambda i: [s.model_dump(exclude_unset=True) for s in i.services],
    "service_dump_json": lambda i: [s.model_dump_json() for s in i.services],
    "service_repr": lambda i: [repr(s) for s in i.services],
    "service_iter": lambda i: [dict(s) for s in i.services],
    "service_copy": lambda i: [copy.copy(s).options for s in i.services],
    "service_deepcopy": lambda i: [copy.deepcopy(s).model_dump_json() for s in i.services],
    "service_model_copy": lambda i: [s.model_copy().model_dump_json() for s in i.services],
    "service_pickle": lambda i: [pickle.loads(pickle.dumps(s)) for s in i.services],
    "options": lambda i: [s.options for s in i.services],
    "fields_set": lambda i: [[o.model_fields_set for o in s.options] for s in i.services],
    "option_dump_unset": lambda i: [[o.model_dump_json(exclude_unset=True) for o in s.options]
                                    for s in i.services],
}


@pytest.mark.parametrize("name", sorted(PATHS))
def test_every_way_of_reading_a_fast_instance_gives_what_the_full_path_gives(
    name: str, files: tuple[Callable[[], Instance], Instance]
) -> None:
    fast, full = files
    instance = fast()
    got = PATHS[name](instance)
    assert got == PATHS[name](full)
    assert got  # not trivially empty
    assert instance == full


def test_equality_each_way_and_between_two_fast_reads(
        files: tuple[Callable[[], Instance], Instance]) -> None:
    fast, full = files
    assert fast() == full
    assert full == fast()
    assert fast() == fast()
    one, other = fast(), fast()
    assert one.services[2] == other.services[2]
    assert one.services[2] != other.services[3]
    assert _unbuilt(one) == len(one.services) - 1  # only the services compared were built
    assert _unbuilt(other) == len(other.services) - 2


def test_a_service_builds_only_its_own_options(
        files: tuple[Callable[[], Instance], Instance]) -> None:
    fast, full = files
    instance = fast()
    options = instance.services[4].options
    assert _unbuilt(instance) == len(instance.services) - 1
    assert options is instance.services[4].options  # built once
    assert all(type(o) is Option for o in options)
    assert options == full.services[4].options
    assert [o.model_fields_set for o in options] == [
        o.model_fields_set for o in full.services[4].options]


def test_hash_and_assignment_fail_as_on_the_full_path(
        files: tuple[Callable[[], Instance], Instance]) -> None:
    fast, full = files
    service = fast().services[0]
    for target in (service, full.services[0]):
        with pytest.raises(TypeError, match="unhashable"):
            hash(target)
        with pytest.raises(pydantic.ValidationError, match="frozen"):
            target.options = []  # type: ignore[misc]


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_a_serializer_that_bypasses_the_models_fails_loudly(
        files: tuple[Callable[[], Instance], Instance]) -> None:
    """pydantic's serializer called from outside the models' methods (a TypeAdapter) reads the
    services' ``__dict__`` in C: an unbuilt service raises rather than dumping no options."""
    fast, full = files
    adapter = pydantic.TypeAdapter(list[Service])
    with pytest.raises((RuntimeError, pydantic_core.PydanticSerializationError)):
        adapter.dump_python(fast().services)
    with pytest.raises((RuntimeError, pydantic_core.PydanticSerializationError)):
        adapter.dump_json(fast().services)
    built = fast()
    built.model_dump()  # builds every service
    assert adapter.dump_json(built.services) == adapter.dump_json(full.services)


def test_the_stand_in_refuses_every_other_reader(
        files: tuple[Callable[[], Instance], Instance]) -> None:
    stand_in = fast_stand_in = files[0]().services[0].__dict__["options"]
    assert type(fast_stand_in) is UnbuiltOptions
    for read in (len, list, bool, copy.copy, copy.deepcopy, pickle.dumps,
                 lambda s: s == [], lambda s: s[0]):
        with pytest.raises((RuntimeError, TypeError)):
            read(stand_in)


def test_threads_asking_at_once_get_the_same_list(
        files: tuple[Callable[[], Instance], Instance]) -> None:
    instance = files[0]()
    got: list[list[Any]] = [[] for _ in range(4)]

    def ask(slot: int) -> None:
        got[slot] = [s.options for s in instance.services]

    threads = [threading.Thread(target=ask, args=(slot,)) for slot in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for other in got[1:]:
        assert all(a is b for a, b in zip(got[0], other, strict=True))


def _dump_in_worker(instance: Instance) -> str:
    return instance.model_dump_json(exclude_unset=True)


def test_a_fast_instance_pickles_to_a_process_pool(
        files: tuple[Callable[[], Instance], Instance]) -> None:
    fast, full = files
    with ProcessPoolExecutor(max_workers=1) as pool:
        dumped = pool.submit(_dump_in_worker, fast()).result(timeout=120)
    assert dumped == full.model_dump_json(exclude_unset=True)


def test_the_workbook_writer_writes_a_fast_instance_as_the_full_one(
        tmp_path: Path, files: tuple[Callable[[], Instance], Instance]) -> None:
    pytest.importorskip("openpyxl", reason="workbooks need the 'spreadsheet' extra (openpyxl)")
    from portfolio.spreadsheet import read_workbook, write_instance_workbook

    fast, full = files
    if full.horizon is not None:
        pytest.skip("the workbook holds single-period instances here")
    write_instance_workbook(fast(), tmp_path / "fast.xlsx")
    write_instance_workbook(full, tmp_path / "full.xlsx")
    assert read_workbook(tmp_path / "fast.xlsx") == read_workbook(tmp_path / "full.xlsx")
