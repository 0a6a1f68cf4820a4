"""One error shape: problem+json for our errors, validation, routing errors and crashes."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from fastapi import FastAPI, Query
from prometheus_client.parser import text_string_to_metric_families
from pydantic import BaseModel, Field
from starlette.responses import JSONResponse

from kit.app import create_app
from kit.errors import FieldErrors, NotFound, TooManyRequests, Unauthorized
from kit.logging import JsonFormatter

SERVICE = "kit-errors-test"
PROBLEM = "application/problem+json"
SECRET = "password=hunter2 at db.internal"
GENERATED_ID = re.compile(r"^[0-9a-f]{32}$")


class ItemIn(BaseModel):
    name: str = Field(min_length=1, max_length=10)
    count: int = Field(ge=0)


class SearchIn(BaseModel):
    query: str = Field(min_length=1)


def build_app() -> FastAPI:
    app = create_app(service=SERVICE, title="kit errors test")

    @app.get("/items/{item_id}")
    async def get_item(item_id: str) -> dict[str, str]:
        if item_id != "known":
            raise NotFound(f"There is no item {item_id}.")
        return {"id": item_id}

    @app.post("/items", status_code=201)
    async def create_item(item: ItemIn) -> dict[str, str | int]:
        return {"name": item.name, "count": item.count}

    @app.post("/accounts")
    async def create_account() -> None:
        raise FieldErrors(
            {"email": ["An account with this email already exists."]}, code="email_taken"
        )

    @app.get("/limited")
    async def limited() -> None:
        raise TooManyRequests("Slow down.", retry_after=7)

    @app.get("/private")
    async def private() -> None:
        raise Unauthorized()

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError(SECRET)

    @app.get("/noted")
    async def noted() -> dict[str, bool]:
        logging.getLogger("kit.tests.route").warning("noted", extra={"event_id": "e-1"})
        return {"ok": True}

    @app.get("/pages")
    async def pages(limit: int = Query(20, ge=1, le=100)) -> dict[str, int]:
        return {"limit": limit}

    @app.post("/search")
    async def search(body: SearchIn) -> dict[str, str]:
        return {"query": body.query}

    return app


@pytest.fixture(scope="module")
async def client() -> AsyncIterator[httpx.AsyncClient]:
    # the app answers unhandled errors itself; the transport must not re-raise them at the test
    transport = httpx.ASGITransport(app=build_app(), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://kit") as http:
        yield http


def assert_problem(response: httpx.Response, status: int, code: str) -> dict[str, object]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    body = response.json()
    assert body["type"] == "about:blank"
    assert body["status"] == status
    assert body["code"] == code
    assert isinstance(body["title"], str)
    assert isinstance(body["detail"], str)
    assert body["title"]
    assert body["detail"]
    return body  # type: ignore[no-any-return]


class TestAppErrors:
    async def test_not_found(self, client: httpx.AsyncClient) -> None:
        body = assert_problem(await client.get("/items/42"), 404, "not_found")
        assert body == {
            "type": "about:blank",
            "title": "Not Found",
            "status": 404,
            "detail": "There is no item 42.",
            "code": "not_found",
        }

    async def test_success_is_plain_json(self, client: httpx.AsyncClient) -> None:
        response = await client.get("/items/known")
        assert response.status_code == 200
        assert response.headers["content-type"] == "application/json"
        assert response.json() == {"id": "known"}

    async def test_field_errors(self, client: httpx.AsyncClient) -> None:
        body = assert_problem(await client.post("/accounts"), 422, "email_taken")
        assert body["errors"] == {"email": ["An account with this email already exists."]}

    async def test_too_many_requests_says_when_to_retry(self, client: httpx.AsyncClient) -> None:
        response = await client.get("/limited")
        body = assert_problem(response, 429, "rate_limited")
        assert response.headers["retry-after"] == "7"
        assert body["detail"] == "Slow down."

    async def test_unauthorized_names_the_scheme(self, client: httpx.AsyncClient) -> None:
        response = await client.get("/private")
        assert_problem(response, 401, "not_authenticated")
        assert response.headers["www-authenticate"] == "Bearer"

    async def test_unexpected_error_is_a_generic_500(self, client: httpx.AsyncClient) -> None:
        response = await client.get("/boom")
        body = assert_problem(response, 500, "internal_error")
        assert body["detail"] == "Something went wrong on our side."
        assert "hunter2" not in response.text
        assert "RuntimeError" not in response.text
        assert "Traceback" not in response.text


class TestValidation:
    async def test_invalid_fields_are_named(self, client: httpx.AsyncClient) -> None:
        response = await client.post("/items", json={"name": "", "count": -1})
        body = assert_problem(response, 422, "validation_error")
        errors = body["errors"]
        assert isinstance(errors, dict)
        assert set(errors) == {"name", "count"}
        assert all(isinstance(m, str) and m for msgs in errors.values() for m in msgs)
        assert "at least 1 character" in errors["name"][0]

    async def test_missing_field(self, client: httpx.AsyncClient) -> None:
        body = assert_problem(
            await client.post("/items", json={"count": 1}), 422, "validation_error"
        )
        assert body["errors"] == {"name": ["Field required"]}

    async def test_malformed_json_is_a_body_error(self, client: httpx.AsyncClient) -> None:
        response = await client.post(
            "/items", content=b'{"name": "x", ', headers={"content-type": "application/json"}
        )
        body = assert_problem(response, 422, "validation_error")
        errors = body["errors"]
        assert isinstance(errors, dict)
        assert list(errors) == ["body"]

    async def test_missing_body(self, client: httpx.AsyncClient) -> None:
        body = assert_problem(await client.post("/items"), 422, "validation_error")
        assert list(body["errors"]) == ["body"]  # type: ignore[call-overload]

    async def test_query_parameter(self, client: httpx.AsyncClient) -> None:
        body = assert_problem(await client.get("/pages?limit=0"), 422, "validation_error")
        assert list(body["errors"]) == ["limit"]  # type: ignore[call-overload]

    async def test_body_field_named_like_a_location(self, client: httpx.AsyncClient) -> None:
        body = assert_problem(
            await client.post("/search", json={"query": ""}), 422, "validation_error"
        )
        assert list(body["errors"]) == ["query"]  # type: ignore[call-overload]


class TestRoutingErrors:
    async def test_unknown_route(self, client: httpx.AsyncClient) -> None:
        assert_problem(await client.get("/no/such/thing"), 404, "not_found")

    async def test_wrong_method(self, client: httpx.AsyncClient) -> None:
        response = await client.delete("/items/42")
        assert_problem(response, 405, "method_not_allowed")
        assert "GET" in response.headers["allow"]


class TestRequestId:
    async def test_valid_id_is_echoed(self, client: httpx.AsyncClient) -> None:
        response = await client.get("/items/known", headers={"X-Request-ID": "gw-1234.abc_DEF"})
        assert response.headers["x-request-id"] == "gw-1234.abc_DEF"

    async def test_echoed_on_error_responses(self, client: httpx.AsyncClient) -> None:
        response = await client.get("/items/42", headers={"X-Request-ID": "gw-err-1"})
        assert response.status_code == 404
        assert response.headers["x-request-id"] == "gw-err-1"

    @pytest.mark.parametrize(
        "incoming", ["has spaces", "x" * 65, "new\\line", "<script>", "ümlaut"]
    )
    async def test_malformed_id_is_replaced(self, client: httpx.AsyncClient, incoming: str) -> None:
        response = await client.get("/items/known", headers=[(b"X-Request-ID", incoming.encode())])
        assert GENERATED_ID.match(response.headers["x-request-id"])

    async def test_missing_id_is_generated_fresh_per_request(
        self, client: httpx.AsyncClient
    ) -> None:
        first = (await client.get("/items/known")).headers["x-request-id"]
        second = (await client.get("/items/known")).headers["x-request-id"]
        assert GENERATED_ID.match(first)
        assert GENERATED_ID.match(second)
        assert first != second

    async def test_echoed_on_500(self, client: httpx.AsyncClient) -> None:
        response = await client.get("/boom", headers={"X-Request-ID": "gw-crash-1"})
        assert response.status_code == 500
        assert response.headers.get("x-request-id") == "gw-crash-1"


class LineCollector(logging.Handler):
    """Formats each record as it is emitted, while the request's context is still current."""

    def __init__(self) -> None:
        super().__init__()
        self.setFormatter(JsonFormatter())
        self.lines: list[dict[str, object]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(json.loads(self.format(record)))


@pytest.fixture
def log_lines() -> Iterator[list[dict[str, object]]]:
    collector = LineCollector()
    loggers = [logging.getLogger("kit.tests.route"), logging.getLogger("kit.errors")]
    for logger in loggers:
        logger.addHandler(collector)
    yield collector.lines
    for logger in loggers:
        logger.removeHandler(collector)


class TestRequestIdInLogs:
    async def test_log_lines_carry_the_request_id(
        self, client: httpx.AsyncClient, log_lines: list[dict[str, object]]
    ) -> None:
        await client.get("/noted", headers={"X-Request-ID": "gw-log-1"})
        [line] = [line for line in log_lines if line["message"] == "noted"]
        assert line["request_id"] == "gw-log-1"
        assert line["event_id"] == "e-1"
        assert line["level"] == "warning"

    async def test_crash_log_line_carries_the_request_id(
        self, client: httpx.AsyncClient, log_lines: list[dict[str, object]]
    ) -> None:
        await client.get("/boom", headers={"X-Request-ID": "gw-crash-2"})
        [line] = [line for line in log_lines if line["message"] == "unhandled error"]
        assert "hunter2" in str(line["exc"])  # the details go to the log, not to the client
        assert line.get("request_id") == "gw-crash-2"


def requests_counted(text: str) -> dict[tuple[str, str, str], float]:
    """`parley_http_requests_total` of this app's service: (method, route, status) -> count."""
    counts: dict[tuple[str, str, str], float] = {}
    for family in text_string_to_metric_families(text):
        if family.name != "parley_http_requests":
            continue
        for sample in family.samples:
            labels = sample.labels
            if sample.name.endswith("_total") and labels["service"] == SERVICE:
                counts[(labels["method"], labels["route"], labels["status"])] = sample.value
    return counts


class TestMetrics:
    async def test_requests_are_counted_by_route_template(self, client: httpx.AsyncClient) -> None:
        before = requests_counted((await client.get("/metrics")).text)

        await client.get("/items/rawid7731")
        await client.get("/items/rawid7732")
        await client.get("/items/known")
        await client.get("/no/such/rawid7733")

        response = await client.get("/metrics")
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/plain")
        after = requests_counted(response.text)

        def delta(key: tuple[str, str, str]) -> float:
            return after.get(key, 0.0) - before.get(key, 0.0)

        assert delta(("GET", "/items/{item_id}", "404")) == 2
        assert delta(("GET", "/items/{item_id}", "200")) == 1
        assert delta(("GET", "unmatched", "404")) == 1
        assert "rawid773" not in response.text
        assert not any(route == "/metrics" for _, route, _ in after)

    async def test_crashes_are_counted_as_500(self, client: httpx.AsyncClient) -> None:
        before = requests_counted((await client.get("/metrics")).text)
        await client.get("/boom")
        after = requests_counted((await client.get("/metrics")).text)
        key = ("GET", "/boom", "500")
        assert after.get(key, 0.0) - before.get(key, 0.0) == 1


def test_errors_under_v1_take_openais_shape_and_statuses() -> None:
    from kit.errors import error_response

    def body(response: JSONResponse) -> dict[str, object]:
        error: dict[str, object] = json.loads(bytes(response.body))["error"]
        return error

    invalid = error_response(
        "/v1/chat/completions", 422, "validation_error", "bad", errors={"messages": ["empty"]}
    )
    assert invalid.status_code == 400
    assert body(invalid) == {
        "message": "messages: empty",
        "type": "invalid_request_error",
        "param": "messages",
        "code": "validation_error",
    }
    spent = error_response("/v1/chat/completions", 429, "budget_exceeded", "spent", budget={})
    assert (spent.status_code, body(spent)["type"], body(spent)["code"]) == (
        429,
        "insufficient_quota",
        "insufficient_quota",
    )
    limited = error_response("/v1/models", 429, "rate_limited", "slow down")
    assert (body(limited)["type"], body(limited)["code"]) == (
        "rate_limit_error",
        "rate_limit_exceeded",
    )
    assert body(error_response("/v1/x", 503, "unavailable", "later"))["type"] == "server_error"
    assert body(error_response("/v1/x", 401, "invalid_api_key", "no"))["type"] == (
        "authentication_error"
    )
    # elsewhere, the problem documents of docs/DESIGN.md §2
    problem = error_response("/api/dialogs", 422, "validation_error", "bad", errors={"x": ["y"]})
    assert problem.status_code == 422
    assert problem.media_type == "application/problem+json"
