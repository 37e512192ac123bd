"""The HTTP service, run for real: ``portfolio serve`` on 127.0.0.1, called with httpx.

Answers are compared with the command line's (a real ``portfolio solve --output`` and
``portfolio validate`` run), jobs run on the real local process pool, and schemathesis checks
every operation of ``/openapi.json`` for server errors and answers that break the document.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from serving import MAX_TIME_LIMIT, LiveServer, missing_service_packages

if missing_service_packages():
    pytest.skip(str(missing_service_packages()), allow_module_level=True)

import httpx  # noqa: E402
import schemathesis  # noqa: E402
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis.errors import Unsatisfiable  # noqa: E402
from schemathesis import GenerationMode  # noqa: E402
from schemathesis.checks import not_a_server_error  # noqa: E402
from schemathesis.specs.openapi.checks import (  # noqa: E402
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "instances" / "example_borough.yaml"
SMALL = ROOT / "instances" / "small"
PROBLEM = "application/problem+json"
SAME_ANSWER = ("status", "objective", "assignment", "options", "verified", "backend", "instance")


def cli_in_process(
    capsys: pytest.CaptureFixture[str], *args: str
) -> tuple[int, str, str]:
    """The command line's own code, in this process (quick commands that never solve)."""
    from portfolio.cli import main

    capsys.readouterr()
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "portfolio", *args],
        capture_output=True, text=True, cwd=cwd, timeout=300,
    )


@pytest.fixture(scope="module")
def client(live_server: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=live_server.url, timeout=120.0) as session:
        yield session


@pytest.fixture(scope="module")
def cli_example(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The example borough solved by ``portfolio solve --output``."""
    out = tmp_path_factory.mktemp("cli") / "result.json"
    proc = cli("solve", str(EXAMPLE), "--time-limit", "60", "--output", str(out))
    assert proc.returncode == 0, proc.stderr
    data: dict[str, Any] = json.loads(out.read_text())
    return data


@pytest.fixture(scope="module")
def cli_example_one_thread(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The example borough solved by ``portfolio solve --threads 1``: how a job's worker solves
    it (single-threaded, as ``portfolio batch`` does). The example has several plans of the
    optimal objective, and the thread count can decide which one HiGHS returns."""
    out = tmp_path_factory.mktemp("cli1") / "result.json"
    proc = cli("solve", str(EXAMPLE), "--time-limit", "60", "--threads", "1", "--output", str(out))
    assert proc.returncode == 0, proc.stderr
    data: dict[str, Any] = json.loads(out.read_text())
    return data


def problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert {"type", "title", "detail"} <= set(body)
    return body


def error_places(body: dict[str, Any]) -> set[tuple[str, str]]:
    return {(e["item"], e["field"]) for e in body.get("errors", [])}


# ---------------------------------------------------------------------- solve and validate
def test_upload_solves_to_the_cli_answer(
    client: httpx.Client, cli_example: dict[str, Any]
) -> None:
    with EXAMPLE.open("rb") as handle:
        response = client.post("/v1/solve", files={"file": (EXAMPLE.name, handle)})
    assert response.status_code == 200, response.text
    served = response.json()
    assert cli_example["status"] == "optimal"
    assert cli_example["objective"] == pytest.approx(2506.0)  # the documented optimum
    for key in SAME_ANSWER:
        assert served[key] == cli_example[key], key
    assert served["services"] == cli_example["services"]
    assert served["file"] == EXAMPLE.name
    assert set(served) == set(cli_example)  # the same result document as --output


def test_json_body_solves_to_the_cli_answer(
    client: httpx.Client, cli_example: dict[str, Any]
) -> None:
    data = yaml.safe_load(EXAMPLE.read_text())
    response = client.post("/v1/solve", json={"instance": data, "backend": "highs", "seed": 0})
    assert response.status_code == 200, response.text
    served = response.json()
    # Without a time limit the tie-break among equally good plans is limited by work (a node
    # limit), not time, so both solves end on the same plan on any machine.
    for key in SAME_ANSWER:
        assert served[key] == cli_example[key], key


def test_objective_override_from_query_and_form(client: httpx.Client, tmp_path: Path) -> None:
    source = SMALL / "budget_binds.yaml"
    data = yaml.safe_load(source.read_text())
    # By hand: the cheapest plan outsources waste (90 + 5) and hands libraries to the
    # voluntary sector (40 + 2): 137.
    changed = tmp_path / "budget_binds_cost.yaml"
    changed.write_text(yaml.safe_dump({**data, "objective": "minimise_cost"}))
    out = tmp_path / "cost.json"
    assert cli("solve", str(changed), "--output", str(out)).returncode == 0
    expected = json.loads(out.read_text())
    assert expected["objective"] == pytest.approx(137.0)

    by_query = client.post(
        "/v1/solve", params={"objective": "minimise_cost"},
        content=source.read_bytes(), headers={"content-type": "application/yaml"},
    ).json()
    with source.open("rb") as handle:
        by_form = client.post(
            "/v1/solve", data={"objective": "minimise_cost", "gap": "0"},
            files={"file": (source.name, handle)},
        ).json()
    for served in (by_query, by_form):
        assert served["objective"] == pytest.approx(137.0)
        assert served["assignment"] == expected["assignment"] == {
            "waste": "private", "libraries": "voluntary",
        }
    as_written = client.post("/v1/solve", json=data).json()
    assert as_written["objective"] == pytest.approx(128.0)  # 70 + 58: the file's objective


@pytest.fixture(scope="module")
def example_workbook(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example borough written as a workbook by ``portfolio convert``."""
    target = tmp_path_factory.mktemp("xlsx") / "example_borough.xlsx"
    proc = cli("convert", str(EXAMPLE), str(target))
    assert proc.returncode == 0, proc.stderr
    return target


def test_workbook_upload_solves_like_the_yaml(
    client: httpx.Client, cli_example: dict[str, Any], example_workbook: Path
) -> None:
    response = client.post(
        "/v1/solve", files={"file": (example_workbook.name, example_workbook.read_bytes())}
    )
    assert response.status_code == 200, response.text
    served = response.json()
    for key in SAME_ANSWER:
        assert served[key] == cli_example[key], key


def test_workbook_objective_override(client: httpx.Client, tmp_path: Path) -> None:
    small = tmp_path / "budget_binds.xlsx"
    assert cli("convert", str(SMALL / "budget_binds.yaml"), str(small)).returncode == 0
    cheapest = client.post(
        "/v1/solve", data={"objective": "minimise_cost"},
        files={"file": (small.name, small.read_bytes())},
    ).json()
    # By hand: waste outsourced (90 + 5) and libraries to the voluntary sector (40 + 2).
    assert cheapest["objective"] == pytest.approx(137.0)
    assert cheapest["assignment"] == {"waste": "private", "libraries": "voluntary"}
    as_written = client.post(
        "/v1/solve", files={"file": (small.name, small.read_bytes())}
    ).json()
    assert as_written["objective"] == pytest.approx(128.0)


def test_a_broken_workbook_names_sheet_cell_and_column(
    client: httpx.Client, example_workbook: Path, tmp_path: Path
) -> None:
    import openpyxl

    book = openpyxl.load_workbook(example_workbook)
    sheet = book["options"]
    headers = [cell.value for cell in sheet[1]]
    column = headers.index("annual_cost") + 1
    sheet.cell(row=3, column=column).value = "lots"
    broken = tmp_path / "broken.xlsx"
    book.save(broken)
    body = problem(
        client.post("/v1/validate", files={"file": (broken.name, broken.read_bytes())}), 422
    )
    letter = openpyxl.utils.get_column_letter(column)
    assert body["errors"] == [
        {
            "file": "broken.xlsx",
            "item": f"options!{letter}3 (annual_cost)",
            "field": "",
            "message": "expected a number, got text 'lots'",
        }
    ]
    garbage = problem(
        client.post("/v1/validate", files={"file": ("x.xlsx", b"not a zip")}), 422
    )
    assert ("file", "") in error_places(garbage)


def test_report_and_workbook_of_a_result(
    client: httpx.Client, cli_example: dict[str, Any]
) -> None:
    import openpyxl

    files = {"file": (EXAMPLE.name, EXAMPLE.read_bytes())}
    data = {"result": json.dumps(cli_example)}
    report = client.post("/v1/report", data=data, files=files)
    assert report.status_code == 200, report.text
    assert report.headers["content-type"].startswith("text/html")
    html = report.text
    assert html.count('<tr data-service="') >= 38
    assert '<tr data-service="museums_arts"' in html

    workbook = client.post("/v1/workbook", data=data, files=files)
    assert workbook.status_code == 200, workbook.text
    assert "attachment" in workbook.headers["content-disposition"]
    book = openpyxl.load_workbook(io.BytesIO(workbook.content))
    assert "plan" in book.sheetnames
    plan_rows = [row for row in book["plan"].iter_rows(values_only=True) if any(row)]
    assert len(plan_rows) >= 38

    as_json = client.post("/v1/report", json={"result": cli_example})
    assert as_json.status_code == 200  # without the instance: what the result alone says

    other = yaml.safe_load((SMALL / "budget_binds.yaml").read_text())
    mismatch = problem(
        client.post("/v1/report", json={"result": cli_example, "instance": other}), 422
    )
    assert ("result", "assignment") in error_places(mismatch)
    bad = problem(client.post("/v1/workbook", json={"result": {"status": "great"}}), 422)
    assert ("result", "status") in error_places(bad)
    # Found by schemathesis: text a workbook cannot hold was a 500.
    control = {**cli_example, "instance": "Example\x0bBorough"}
    unwritable = problem(client.post("/v1/workbook", json={"result": control}), 422)
    assert "control character" in unwritable["errors"][0]["message"]


def test_infeasible_instance_is_an_answer_not_an_error(client: httpx.Client) -> None:
    source = SMALL / "infeasible_budget.yaml"
    with source.open("rb") as handle:
        response = client.post("/v1/solve", files={"file": (source.name, handle)})
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "infeasible"
    assert body["assignment"] is None
    assert body["explanation"]


def test_concurrent_solves_with_different_thread_counts(live_server: LiveServer) -> None:
    """Solves run side by side in the server; HiGHS's process-wide scheduler stays sound."""
    from concurrent.futures import ThreadPoolExecutor

    text = (SMALL / "budget_binds.yaml").read_bytes()

    def post(threads: int) -> Any:
        with httpx.Client(base_url=live_server.url, timeout=120.0) as session:
            return session.post(
                "/v1/solve", params={"threads": threads},
                content=text, headers={"content-type": "application/yaml"},
            ).json()

    with ThreadPoolExecutor(6) as pool:
        answers = list(pool.map(post, [1, 2, 1, 3, 2, 1]))
    assert [a["objective"] for a in answers] == [128.0] * 6
    assert all(a["status"] == "optimal" and a["verified"] for a in answers)


def test_validate_matches_the_cli(
    client: httpx.Client, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(EXAMPLE.parent)
    code, stdout, _ = cli_in_process(capsys, "validate", EXAMPLE.name)
    assert code == 0
    with EXAMPLE.open("rb") as handle:
        response = client.post("/v1/validate", files={"file": (EXAMPLE.name, handle)})
    assert response.status_code == 200
    body = response.json()
    assert body["message"] + "\n" == stdout
    assert (body["services"], body["modes"], body["options"]) == (38, 9, 152)


def test_invalid_instance_names_item_and_field_like_the_cli(
    client: httpx.Client,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    data = yaml.safe_load((SMALL / "budget_binds.yaml").read_text())
    data["services"][0]["options"][1]["annual_cost"] = -90
    data["services"][1]["current_mode"] = "nowhere"
    data["modes"][2]["sector"] = "galactic"
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(data))
    monkeypatch.chdir(tmp_path)
    code, _, stderr = cli_in_process(capsys, "validate", bad.name)
    assert code == 2
    cli_lines = [
        line.strip()[2:] for line in stderr.splitlines() if line.strip().startswith("- ")
    ]
    assert len(cli_lines) == 3  # field and reference errors, all at once
    with bad.open("rb") as handle:
        body = problem(client.post("/v1/validate", files={"file": (bad.name, handle)}), 422)
    assert body["type"].endswith("invalid-instance")
    served_lines = [
        f"{e['file']}: {e['item']}" + (f", field '{e['field']}'" if e["field"] else "")
        + f": {e['message']}"
        for e in body["errors"]
    ]
    assert served_lines == cli_lines
    assert ("service 'waste'", "options[1].annual_cost") in error_places(body)
    assert ("mode 'voluntary'", "sector") in error_places(body)
    assert ("service 'libraries'", "current_mode") in error_places(body)
    # The same problem from /v1/solve: nothing is solved.
    with bad.open("rb") as handle:
        again = problem(client.post("/v1/solve", files={"file": (bad.name, handle)}), 422)
    assert again["errors"] == body["errors"]


@pytest.mark.parametrize(
    ("request_args", "place"),
    [
        ({"params": {"time_limit": "-1"}}, ("parameters", "time_limit")),
        ({"params": {"gap": "1.5"}}, ("parameters", "gap")),
        ({"params": {"backend": "gurobi"}}, ("parameters", "backend")),
        ({"params": {"seed": "x"}}, ("parameters", "seed")),
        ({"params": {"objective": "{not json"}}, ("parameters", "objective")),
        ({"params": {"objective": "maximise_happiness"}}, ("objective", "")),
        ({"data": {"threads": "0"}}, ("parameters", "threads")),
        ({"data": {"colour": "red"}}, ("parameters", "colour")),
        ({"params": {"colour": "red"}}, ("parameters", "colour")),
        ({"files": {"backend": ("b.txt", b"highs")}}, ("parameters", "backend")),
    ],
)
def test_bad_parameters_get_422(
    client: httpx.Client, request_args: dict[str, Any], place: tuple[str, str]
) -> None:
    source = SMALL / "budget_binds.yaml"
    files = {"file": (source.name, source.read_bytes()), **request_args.get("files", {})}
    others = {k: v for k, v in request_args.items() if k != "files"}
    body = problem(client.post("/v1/solve", files=files, **others), 422)
    assert place in error_places(body), body


@pytest.mark.parametrize(
    ("kwargs", "place"),
    [
        ({"files": {"file": ("plan.txt", b"modes: []")}}, ("file", "")),
        ({"files": {"file": ("x.yaml", b"modes: [\n  - {id: a")}}, ("file", "")),
        ({"files": {"file": ("x.json", b"\xff\xfe")}}, ("file", "")),
        ({"files": {"file": ("x.toml", b"name = ")}}, ("file", "")),
        ({"files": {"other": ("x.yaml", b"name: x")}}, ("parameters", "other")),
        ({"data": {"backend": "highs"}}, ("parameters", "file")),
        ({"json": [1, 2, 3]}, ("instance", "")),
        ({"content": b"{\"modes\": [", "headers": {"content-type": "application/json"}},
         ("file", "")),
    ],
)
def test_unreadable_inputs_get_422(
    client: httpx.Client, kwargs: dict[str, Any], place: tuple[str, str]
) -> None:
    body = problem(client.post("/v1/solve", **kwargs), 422)
    assert place in error_places(body), body


def test_unsupported_media_type(client: httpx.Client) -> None:
    response = client.post("/v1/solve", content=b"x", headers={"content-type": "image/png"})
    problem(response, 415)


def test_oversize_bodies_get_413(client: httpx.Client, live_server: LiveServer) -> None:
    payload = b" " * (live_server.max_body_bytes + 1)
    declared = client.post(
        "/v1/solve", content=payload, headers={"content-type": "application/json"}
    )
    assert problem(declared, 413)["type"].endswith("body-too-large")

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted as it arrives
        for _ in range(live_server.max_body_bytes // 65536 + 2):
            yield b" " * 65536

    streamed = client.post(
        "/v1/solve", content=chunks(), headers={"content-type": "application/json"}
    )
    problem(streamed, 413)
    streamed_job = client.post(
        "/v1/jobs", content=chunks(), headers={"content-type": "application/json"}
    )
    problem(streamed_job, 413)
    just_under = client.post(
        "/v1/validate",
        content=b" " * 1000 + (SMALL / "budget_binds.yaml").read_bytes(),
        headers={"content-type": "application/yaml"},
    )
    assert just_under.status_code == 200


def test_schema_and_backends_match_the_cli(
    client: httpx.Client, capsys: pytest.CaptureFixture[str]
) -> None:
    assert client.get("/v1/schema").json() == json.loads(cli_in_process(capsys, "schema")[1])
    served = client.get("/v1/backends").json()
    listed = json.loads(cli_in_process(capsys, "backends", "--json")[1])
    assert served == listed
    assert any(row["name"] == "highs" and row["default"] for row in served)


def test_openapi_document(client: httpx.Client) -> None:
    document = client.get("/openapi.json").json()
    assert document["openapi"].startswith("3.")
    for path in ("/v1/solve", "/v1/validate", "/v1/schema", "/v1/backends", "/v1/jobs",
                 "/v1/jobs/{job_id}"):
        assert path in document["paths"], path
    schemas = document["components"]["schemas"]
    assert {"Instance", "Problem", "SolveResult", "JobState", "Service", "Option"} <= set(schemas)
    solve = document["paths"]["/v1/solve"]["post"]
    assert {"application/json", "multipart/form-data"} <= set(solve["requestBody"]["content"])
    assert PROBLEM in solve["responses"]["422"]["content"]


def test_unknown_route_is_problem_json(client: httpx.Client) -> None:
    problem(client.get("/v1/nothing"), 404)


# ---------------------------------------------------------------------- jobs
def wait_for(client: httpx.Client, job_id: str, until: tuple[str, ...], seconds: float) -> Any:
    deadline = time.monotonic() + seconds
    while True:
        state = client.get(f"/v1/jobs/{job_id}").json()
        if state["status"] in until or time.monotonic() > deadline:
            return state
        time.sleep(0.25)


def test_jobs_run_to_completion(
    client: httpx.Client, cli_example_one_thread: dict[str, Any]
) -> None:
    example = yaml.safe_load(EXAMPLE.read_text())
    solve = client.post("/v1/jobs", json={"kind": "solve", "instance": example})
    assert solve.status_code == 202, solve.text
    assert solve.headers["location"] == f"/v1/jobs/{solve.json()['id']}"
    budget = yaml.safe_load((SMALL / "budget_binds.yaml").read_text())
    infeasible = (SMALL / "infeasible_budget.yaml").read_text()
    batch = client.post(
        "/v1/jobs",
        json={
            "kind": "batch",
            "instances": [
                {"name": "binds", "instance": budget},
                {"name": "broke", "content": infeasible, "format": "yaml"},
            ],
            "parameters": {"time_limit": 20},
        },
    )
    sweep = client.post(
        "/v1/jobs",
        json={"kind": "sweep", "instance": budget, "sets": ["constraints.budget=130,140,150"]},
    )
    for response in (batch, sweep):
        assert response.status_code == 202, response.text

    state = wait_for(client, solve.json()["id"], ("succeeded", "failed"), 120)
    assert state["status"] == "succeeded", state
    assert state["progress"] == {"done": 1, "total": 1, "fraction": 1.0}
    for key in SAME_ANSWER:
        assert state["result"][key] == cli_example_one_thread[key], key

    state = wait_for(client, batch.json()["id"], ("succeeded", "failed"), 120)
    assert state["status"] == "succeeded", state
    assert state["result"]["counts"] == {"infeasible": 1, "optimal": 1}
    items = state["result"]["items"]
    assert [item["name"] for item in items] == ["binds", "broke"]
    assert items[0]["objective"] == pytest.approx(128.0)
    assert items[0]["assignment"] == {"waste": "in_house", "libraries": "voluntary"}

    state = wait_for(client, sweep.json()["id"], ("succeeded", "failed"), 120)
    assert state["status"] == "succeeded", state
    curve = state["result"]["curve"]
    # Budget 130 forces both savings (66 + 58 = 124), 140 one (70 + 58), 150 none (70 + 60).
    assert [row["constraints.budget"] for row in curve] == [130, 140, 150]
    assert [row["objective"] for row in curve] == [124.0, 128.0, 130.0]
    assert [row["changes"] for row in curve] == [2, 1, 0]


def test_a_running_job_cancels(client: httpx.Client) -> None:
    example = yaml.safe_load(EXAMPLE.read_text())
    many = [{"name": f"copy-{k}", "instance": example} for k in range(60)]
    started = client.post("/v1/jobs", json={"kind": "batch", "instances": many})
    assert started.status_code == 202
    job_id = started.json()["id"]
    state = wait_for(client, job_id, ("running",), 60)
    assert state["status"] == "running"
    t0 = time.monotonic()
    cancelled = client.delete(f"/v1/jobs/{job_id}")
    assert cancelled.status_code == 200
    assert time.monotonic() - t0 < 15
    body = cancelled.json()
    assert body["status"] == "cancelled"
    assert body["result"] is None
    assert body["progress"]["done"] < 60
    time.sleep(1.0)
    later = client.get(f"/v1/jobs/{job_id}").json()
    assert later["status"] == "cancelled"  # and it stays so: no result appears afterwards
    assert later["result"] is None


def test_job_inputs_are_checked_before_queueing(client: httpx.Client) -> None:
    data = yaml.safe_load((SMALL / "budget_binds.yaml").read_text())
    broken = json.loads(json.dumps(data))
    broken["services"][1]["options"][0]["outcome"] = "high"
    body = problem(
        client.post(
            "/v1/jobs",
            json={"kind": "batch", "instances": [
                {"name": "fine", "instance": data}, {"name": "broken", "instance": broken},
            ]},
        ),
        422,
    )
    assert body["errors"][0]["file"] == "broken"
    assert ("service 'libraries'", "options[0].outcome") in error_places(body)
    kind = problem(client.post("/v1/jobs", json={"kind": "frontier", "instance": data}), 422)
    assert ("job", "kind") in error_places(kind)
    missing = problem(client.post("/v1/jobs", json={"kind": "sweep", "instance": data}), 422)
    assert ("job", "sets") in error_places(missing)
    limit = problem(
        client.post("/v1/jobs", json={"instance": data, "parameters": {"time_limit": 0}}), 422
    )
    assert ("body", "parameters.time_limit") in error_places(limit)
    problem(client.get("/v1/jobs/no-such-job"), 404)
    problem(client.delete("/v1/jobs/no-such-job"), 404)


# ---------------------------------------------------------------------- the OpenAPI document
EXAMPLES_PER_OPERATION = {GenerationMode.POSITIVE: 20, GenerationMode.NEGATIVE: 10}
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


def test_api_conforms_to_its_openapi_document(live_server: LiveServer) -> None:
    """Schemathesis: generated requests (valid and invalid) to every documented operation get
    no 5xx, only documented status codes and media types, and bodies that match the schemas."""
    api = schemathesis.openapi.from_url(live_server.url + "/openapi.json")
    operations = [result.ok() for result in api.get_all_operations()]
    assert len(operations) >= 10
    for operation in operations:
        for mode, examples in EXAMPLES_PER_OPERATION.items():

            @given(case=operation.as_strategy(generation_mode=mode))
            @settings(
                max_examples=examples,
                deadline=None,
                suppress_health_check=list(HealthCheck),
                derandomize=True,
                database=None,
            )
            def check(case: Any) -> None:
                case.call_and_validate(checks=CHECKS, timeout=120)

            t0 = time.monotonic()
            try:
                check()
            except Unsatisfiable:
                # Nothing to make invalid (an operation without parameters or body).
                assert mode is GenerationMode.NEGATIVE, operation.label
            print(f"{operation.label} {mode.value}: {time.monotonic() - t0:.1f}s")


# ---------------------------------------------------------------------- funding scenarios
D1, D2 = 1 / 1.035, 1 / 1.035**2


def test_a_plan_under_scenarios_is_served_with_its_report(client: httpx.Client) -> None:
    from test_scenarios import one_service

    # A two-year private contract procured two years ahead: the 2029 contract that 'cuts'
    # (budget 85 in 2029) needs is committed in 2027, before the scenarios part; both take it.
    data = one_service(lead=2)
    response = client.post("/v1/solve", json={"instance": data, "gap": 1e-9})
    assert response.status_code == 200, response.text
    served = response.json()
    assert served["status"] == "optimal"
    assert served["objective"] == pytest.approx(10 + 10 * D1 + 9 * D2, rel=1e-9)
    assert served["first_split"] == 2029
    assert "let a to private for 2 years from 2029: procure now" in [
        d["words"] for d in served["here_and_now"]
    ]
    assert [(s["name"], s["schedule"]["a"]) for s in served["scenarios"]] == [
        ("holds", ["in_house", "in_house", "private"]),
        ("cuts", ["in_house", "in_house", "private"]),
    ]
    page = client.post("/v1/report", json={"result": served, "instance": data})
    assert page.status_code == 200, page.text
    html = page.text
    assert html.index('id="commit-now"') < html.index('id="scenarios"')
    assert "let a to private for 2 years from 2029: procure now" in html
    assert 'id="scenario-schedule-1"' in html
    book = client.post("/v1/workbook", json={"result": served, "instance": data})
    assert book.status_code == 200, book.text
    import openpyxl

    sheets = openpyxl.load_workbook(io.BytesIO(book.content)).sheetnames
    assert {"commit now", "scenarios", "scenario schedules"} <= set(sheets)


def test_appraise_gives_the_hand_derived_figures(client: httpx.Client) -> None:
    from test_scenarios import one_service

    # As tests/test_scenarios.py derives by hand: the recourse plan takes the private contract
    # in 2029 in both scenarios (it is decided in 2028); knowing the funding, 'holds' would keep
    # in house: EVPI = 0.5 * (10 - 9) discounted two years.
    response = client.post("/v1/appraise", json={"instance": one_service(), "gap": 1e-9})
    assert response.status_code == 200, response.text
    figures = response.json()
    rp = 10 + 10 * D1 + 9 * D2
    assert figures["recourse_problem"] == pytest.approx(rp, rel=1e-9)
    assert figures["wait_and_see"] == pytest.approx(0.5 * (10 + 10 * D1 + 10 * D2) + 0.5 * rp,
                                                    rel=1e-9)
    assert figures["evpi"] == pytest.approx(0.5 * D2, rel=1e-6)
    assert figures["vss"] == pytest.approx(0.0, abs=1e-9)
    assert figures["file"] == "<request body>"
    # The server's time limit is shared by the appraisal's solves: the recourse problem, the
    # 2 scenarios alone, the mean-data problem, EEV and long contracts only.
    assert figures["time_limit_per_solve"] == pytest.approx(MAX_TIME_LIMIT / 6)


def test_appraise_refuses_an_instance_without_scenarios(client: httpx.Client) -> None:
    with EXAMPLE.open("rb") as handle:
        response = client.post("/v1/appraise", files={"file": (EXAMPLE.name, handle)})
    body = problem(response, 422)
    assert error_places(body) == {(EXAMPLE.name, "scenarios")}
    assert "no funding scenarios" in body["errors"][0]["message"]
