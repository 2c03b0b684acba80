"""HTTP plumbing of the fake REST API: routing, auth, recording, failure injection, responses.

The endpoint logic lives in ``endpoints.py``; this module decides *how* a request is answered:
every request is recorded (method, path, query, headers, JSON body, uploaded files), the bot
token is checked where Discord checks it, injected failures (429/5xx) are served with the exact
headers discord.py's retry logic reads, and unknown routes get a Discord-style 404 and are kept
aside so tests can assert that the client only used endpoints the fake implements.
"""

from __future__ import annotations

import json
import logging
import math
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web

from tests.fakediscord import payloads
from tests.fakediscord.state import FakeFile

_log = logging.getLogger(__name__)

API_PREFIX = "/api/v10"
JSON_HEADERS = {"Content-Type": "application/json"}


@dataclass
class RecordedRequest:
    """One REST request as the fake received it (``path`` is relative to ``/api/v10``)."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    json: Any
    files: list[FakeFile] = field(default_factory=list)
    status: int = 0
    route: str | None = None
    injected_failure: bool = False
    at: float = field(default_factory=time.monotonic)


@dataclass
class FailureRule:
    """Answer the next ``times`` requests matching method and path (fullmatch) with an error."""

    method: str
    path: re.Pattern[str]
    status: int
    retry_after: float
    times: int = 1
    is_global: bool = False
    served: int = 0

    def matches(self, method: str, path: str) -> bool:
        return (
            self.served < self.times
            and self.method in ("*", method)
            and self.path.fullmatch(path) is not None
        )


class RestError(Exception):
    """Raised by endpoint handlers to answer with a Discord JSON error."""

    def __init__(self, status: int, message: str, code: int = 0, errors: Any = None) -> None:
        super().__init__(f"{status} {message} (code {code})")
        self.status = status
        self.payload = payloads.error(message, code, errors)

    @classmethod
    def from_payload(cls, status: int, payload: dict[str, Any]) -> RestError:
        error = cls(status, str(payload.get("message", "")), int(payload.get("code", 0)))
        error.payload = payload
        return error


@dataclass
class RestCall:
    """What a handler gets: the parsed request, its path parameters and its record."""

    request: web.Request
    params: dict[str, str]
    record: RecordedRequest

    @property
    def json(self) -> Any:
        return self.record.json

    @property
    def body(self) -> dict[str, Any]:
        """The JSON object body (``{}`` when absent), for endpoints that require an object."""
        value = self.record.json
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise RestError(400, "Invalid Form Body", 50035)
        return value

    @property
    def files(self) -> list[FakeFile]:
        return self.record.files

    def snowflake(self, name: str) -> int:
        try:
            return int(self.params[name])
        except ValueError:
            raise RestError(
                400, "Invalid Form Body", 50035, {name: {"_errors": ["Value is not snowflake."]}}
            ) from None

    def query_flag(self, name: str) -> bool:
        return self.request.query.get(name, "").lower() in ("1", "true")


Handler = Callable[[RestCall], Awaitable[web.StreamResponse]]


@dataclass(frozen=True)
class Route:
    method: str
    template: str
    pattern: re.Pattern[str]
    handler: Handler
    bot_auth: bool


def json_response(
    data: Any, status: int = 200, headers: dict[str, str] | None = None
) -> web.Response:
    """A JSON response with exactly ``Content-Type: application/json``.

    discord.py only decodes JSON when the header equals that string; aiohttp's ``json_response``
    appends ``; charset=utf-8`` and would make every body look like text to the client.
    """
    return web.Response(
        body=json.dumps(data).encode(), status=status, headers={**JSON_HEADERS, **(headers or {})}
    )


def no_content() -> web.Response:
    return web.Response(status=204)


class RestRouter:
    """Dispatches ``/api/v10/...`` requests to registered handlers."""

    def __init__(self, token: str, notify: Callable[[], None]) -> None:
        self._token = token
        self._notify = notify
        self._routes: list[Route] = []
        self.requests: list[RecordedRequest] = []
        self.unknown_requests: list[RecordedRequest] = []
        self.failures: list[FailureRule] = []
        self.internal_errors: list[str] = []

    def add(self, method: str, template: str, handler: Handler, *, bot_auth: bool = True) -> None:
        """Register ``handler`` for ``template`` like ``/channels/{channel_id}/messages``."""
        regex = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", template)
        self._routes.append(Route(method, template, re.compile(regex), handler, bot_auth))

    def fail_next(
        self,
        method: str,
        path_regex: str,
        *,
        status: int = 429,
        retry_after: float = 0.1,
        times: int = 1,
        is_global: bool = False,
    ) -> FailureRule:
        rule = FailureRule(
            method=method.upper(),
            path=re.compile(path_regex),
            status=status,
            retry_after=retry_after,
            times=times,
            is_global=is_global,
        )
        self.failures.append(rule)
        return rule

    async def handle(self, request: web.Request) -> web.StreamResponse:
        path = request.path[len(API_PREFIX) :] or "/"
        record = RecordedRequest(
            method=request.method,
            path=path,
            query=dict(request.query),
            headers=dict(request.headers),
            json=None,
        )
        self.requests.append(record)
        try:
            response = await self._answer(request, path, record)
        except Exception as exc:  # noqa: BLE001 - a crash of the fake must fail the test
            _log.exception("fake Discord REST handler crashed on %s %s", request.method, path)
            self.internal_errors.append(f"{request.method} {path}: {exc!r}")
            # 400, not 500: discord.py would retry a 500 for ~15 s before the test could fail
            response = json_response(payloads.error(f"fake Discord crashed: {exc!r}"), 400)
        record.status = response.status
        self._notify()
        return response

    async def _answer(
        self, request: web.Request, path: str, record: RecordedRequest
    ) -> web.StreamResponse:
        try:
            await _read_body(request, record)
        except ValueError:
            return json_response(
                payloads.error("The request body contains invalid JSON.", 50109), 400
            )
        route, params = self._match(request.method, path)
        if route is None:
            self.unknown_requests.append(record)
            _log.warning("fake Discord: unknown route %s %s", request.method, path)
            return json_response(payloads.error("404: Not Found"), 404)
        record.route = route.template
        if route.bot_auth and request.headers.get("Authorization") != f"Bot {self._token}":
            return json_response(payloads.error("401: Unauthorized"), 401)
        failure = self._take_failure(request.method, path)
        if failure is not None:
            record.injected_failure = True
            return _failure_response(failure, route.template)
        try:
            response = await route.handler(RestCall(request, params, record))
        except RestError as err:
            return json_response(err.payload, err.status)
        response.headers.update(_ratelimit_headers(route.template))
        return response

    def _match(self, method: str, path: str) -> tuple[Route | None, dict[str, str]]:
        for route in self._routes:
            if route.method != method:
                continue
            found = route.pattern.fullmatch(path)
            if found is not None:
                return route, found.groupdict()
        return None, {}

    def _take_failure(self, method: str, path: str) -> FailureRule | None:
        for rule in self.failures:
            if rule.matches(method, path):
                rule.served += 1
                return rule
        return None


async def _read_body(request: web.Request, record: RecordedRequest) -> None:
    """Parse JSON or discord.py's multipart form (``payload_json`` plus ``files[n]``)."""
    if not request.can_read_body:
        return
    content_type = request.content_type
    if content_type == "application/json":
        raw = await request.read()
        record.json = json.loads(raw) if raw else None
    elif content_type == "multipart/form-data":
        reader = await request.multipart()
        async for part in reader:
            if not isinstance(part, aiohttp.BodyPartReader):
                continue
            data = await part.read(decode=False)
            if part.name == "payload_json":
                record.json = json.loads(data)
            elif part.filename is not None:
                record.files.append(
                    FakeFile(
                        filename=part.filename,
                        data=bytes(data),
                        content_type=part.headers.get("Content-Type", "application/octet-stream"),
                    )
                )
    else:
        await request.read()
    _attach_descriptions(record)


def _attach_descriptions(record: RecordedRequest) -> None:
    """Copy ``attachments[i].description`` from the JSON onto the uploaded files."""
    if not record.files or not isinstance(record.json, dict):
        return
    for meta in record.json.get("attachments") or []:
        try:
            index = int(meta.get("id"))
        except (TypeError, ValueError):
            continue
        if 0 <= index < len(record.files) and meta.get("description"):
            record.files[index].description = meta["description"]


def _bucket(template: str) -> str:
    return f"fake{abs(hash(template)) % 10**10:010d}"


def _ratelimit_headers(template: str) -> dict[str, str]:
    """Headers of an unexhausted bucket, so discord.py never pre-emptively sleeps."""
    return {
        "X-RateLimit-Limit": "50",
        "X-RateLimit-Remaining": "49",
        "X-RateLimit-Reset": f"{time.time() + 1:.3f}",
        "X-RateLimit-Reset-After": "1.000",
        "X-RateLimit-Bucket": _bucket(template),
        "Via": "1.1 google",
    }


def _failure_response(rule: FailureRule, template: str) -> web.Response:
    """A 429 exactly as Discord sends it, or a 5xx.

    discord.py treats a 429 without a ``Via`` header (or with a non-JSON body) as a Cloudflare
    ban and raises instead of retrying, so both are always present.
    """
    if rule.status == 429:
        body: dict[str, Any] = {
            "message": "You are being rate limited.",
            "retry_after": rule.retry_after,
            "global": rule.is_global,
        }
        headers = {
            "Retry-After": str(max(1, math.ceil(rule.retry_after))),
            "X-RateLimit-Limit": "5",
            "X-RateLimit-Remaining": "0",
            "X-RateLimit-Reset": f"{time.time() + rule.retry_after:.3f}",
            "X-RateLimit-Reset-After": f"{rule.retry_after:.3f}",
            "X-RateLimit-Bucket": _bucket(template),
            "X-RateLimit-Scope": "global" if rule.is_global else "user",
            "Via": "1.1 google",
        }
        if rule.is_global:
            headers["X-RateLimit-Global"] = "true"
        return json_response(body, 429, headers)
    message = {500: "500: Internal Server Error", 502: "502: Bad Gateway"}.get(
        rule.status, f"{rule.status}: Server Error"
    )
    return json_response(payloads.error(message), rule.status, {"Via": "1.1 google"})
