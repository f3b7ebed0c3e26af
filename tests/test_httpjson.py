"""The shared JSON-over-HTTP client: requests, credentials only in a header, no redirects, one line per failure."""

from __future__ import annotations

import base64
import json
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from finops import httpjson
from finops.errors import ConfigError, FinopsError, InputError
from tests.httpfake import Request, serve

TOKEN = "tok-3f9a1c77e2"
PASSWORD = "pw-8d2b6e41"
BASIC = base64.b64encode(f"bot:{PASSWORD}".encode()).decode()
ROUTE = ("GET", "/api/thing")
WHERE = "Example (GET /api/thing)"
LOGIN = "set FINOPS_EXAMPLE_TOKEN to a token the server accepts"


def service(**changes: Any) -> httpjson.Service:
    fields: dict[str, Any] = {"name": "Example", "option": "--example-url", "login": LOGIN, "timeout": 5.0}
    return httpjson.Service(**(fields | changes))


def answer(status: int, body: Any) -> dict[tuple[str, str], Any]:
    return {ROUTE: lambda request: (status, body)}


def failure(routes: dict[tuple[str, str], Any], **changes: Any) -> FinopsError:
    with serve(routes) as server, pytest.raises(FinopsError) as caught:
        service(**changes).get(server.url + ROUTE[1], WHERE)
    return caught.value


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def answering_once(response: bytes) -> Iterator[tuple[str, list[bytes]]]:
    """A server that reads one request, keeps its head, and sends `response` byte for byte."""
    heads: list[bytes] = []
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()

        def reply() -> None:
            connection, _ = listener.accept()
            with connection:
                head = b""
                while b"\r\n\r\n" not in head and (chunk := connection.recv(4096)):
                    head += chunk
                heads.append(head)
                connection.sendall(response)

        thread = threading.Thread(target=reply, daemon=True)
        thread.start()
        yield f"http://127.0.0.1:{listener.getsockname()[1]}", heads
        thread.join(5)


# --- requests that succeed ---------------------------------------------------------------------------------


def test_get_sends_params_and_a_bearer_token_in_the_header_only() -> None:
    with serve(answer(200, {"ok": [1, 2]})) as server:
        got = service(token=TOKEN).get(server.url + ROUTE[1], WHERE, {"query": "up{job='a b'}", "step": 60})
    assert got == {"ok": [1, 2]}
    [request] = server.requests
    assert (request.method, request.query) == ("GET", {"query": ["up{job='a b'}"], "step": ["60"]})
    assert request.headers["authorization"] == f"Bearer {TOKEN}"
    assert request.headers["accept"] == "application/json" and "content-type" not in request.headers
    assert TOKEN not in request.path + json.dumps(request.query)


def test_post_sends_a_json_body() -> None:
    def echo(request: Request) -> tuple[int, Any]:
        return 200, {"got": request.json()}

    with serve({("POST", "/hook"): echo}) as server:
        got = service().post(server.url + "/hook", WHERE, {"text": "budget exceeded", "n": 3})
    assert got == {"got": {"text": "budget exceeded", "n": 3}}
    [request] = server.requests
    assert request.headers["content-type"] == "application/json" and "authorization" not in request.headers


def test_post_sends_a_form_with_basic_auth_that_wins_over_a_token() -> None:
    with serve({("POST", "/form"): lambda request: (200, {"ok": True})}) as server:
        got = service(token=TOKEN, username="bot", password=PASSWORD).post(
            server.url + "/form", WHERE, form={"channel": "#finops", "text": "a&b=c"}
        )
    assert got == {"ok": True}
    [request] = server.requests
    assert request.form() == {"channel": ["#finops"], "text": ["a&b=c"]}
    assert request.headers["content-type"] == "application/x-www-form-urlencoded"
    assert request.headers["authorization"] == f"Basic {BASIC}"


# --- answers that are failures -----------------------------------------------------------------------------


def test_401_without_credentials_says_how_to_give_them() -> None:
    error = failure(answer(401, b"Unauthorized"))
    assert isinstance(error, ConfigError)
    assert str(error) == f"{WHERE}: HTTP 401 Unauthorized (no credentials were given): {LOGIN}"


def test_403_with_credentials_says_they_were_refused_without_echoing_them() -> None:
    error = failure(answer(403, {"message": f"token {TOKEN} may not read"}), token=TOKEN)
    assert isinstance(error, ConfigError)
    assert str(error) == f"{WHERE}: HTTP 403 Forbidden (the credentials were refused): {LOGIN}"


def test_500_quotes_the_servers_explanation_on_one_line_with_secrets_scrubbed() -> None:
    body = {"error_code": "INTERNAL", "message": f"database  is\nlocked by {PASSWORD} ({BASIC})"}
    error = failure(answer(500, body), username="bot", password=PASSWORD)
    assert isinstance(error, InputError)
    assert str(error) == (
        f"{WHERE}: HTTP 500 Internal Server Error: database is locked by *** (***); see the server's log"
    )


def test_500_without_json_and_404_say_what_to_check() -> None:
    assert str(failure(answer(500, b"oops"))) == f"{WHERE}: HTTP 500 Internal Server Error; see the server's log"
    assert str(failure({})) == f"{WHERE}: HTTP 404 Not Found; check --example-url"
    assert str(failure({}, not_found="is this the base URL?")) == f"{WHERE}: HTTP 404 Not Found; is this the base URL?"


def test_a_service_words_its_own_error_answers() -> None:
    seen: list[httpjson.Refusal] = []

    def explain(refusal: httpjson.Refusal) -> str | None:
        seen.append(refusal)
        return f"HTTP {refusal.status}, Example says {refusal.doc['error']}" if refusal.status == 422 else None

    error = failure(answer(422, {"error": f"bad query from {TOKEN}"}), token=TOKEN, explain=explain)
    assert str(error) == f"{WHERE}: HTTP 422, Example says bad query from ***"
    assert seen == [httpjson.Refusal(422, "Unprocessable Entity", {"error": "bad query from ***"}, True)]
    assert str(failure({}, explain=explain)) == f"{WHERE}: HTTP 404 Not Found; check --example-url"


def test_an_answer_that_is_not_json_is_quoted_scrubbed() -> None:
    error = failure(answer(200, f"<html>{TOKEN}</html>".encode()), token=TOKEN, kind="an Example server")
    assert isinstance(error, InputError)
    assert str(error) == f"{WHERE}: the answer is not JSON (starts '<html>***</html>'); is this an Example server?"


# --- no answer at all --------------------------------------------------------------------------------------


def test_a_closed_port_cannot_be_reached() -> None:
    url = f"http://127.0.0.1:{closed_port()}"
    with pytest.raises(InputError) as caught:
        service(token=TOKEN).get(url + ROUTE[1], WHERE)
    assert str(caught.value) == (
        f"{WHERE}: cannot reach Example (Connection refused); check --example-url and that the server is up"
    )


def test_a_silent_server_times_out() -> None:
    with socket.socket() as silent:  # accepts connections (the kernel's backlog) and never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        url = f"http://127.0.0.1:{silent.getsockname()[1]}"
        with pytest.raises(InputError) as caught:
            service(timeout=0.2).get(url + ROUTE[1], WHERE)
    assert str(caught.value) == (
        f"{WHERE}: Example did not answer (no answer within 0.2 s); check that it is up and try again"
    )


# --- redirects and credentials -----------------------------------------------------------------------------


def test_a_redirect_is_refused_and_the_authorization_never_reaches_its_target() -> None:
    with serve(answer(200, {"stolen": True})) as elsewhere:
        moved = f"HTTP/1.1 302 Found\r\nLocation: {elsewhere.url}{ROUTE[1]}\r\nContent-Length: 0\r\n\r\n"
        with answering_once(moved.encode()) as (url, heads), pytest.raises(ConfigError) as caught:
            service(token=TOKEN).get(url + ROUTE[1], WHERE)
    assert str(caught.value) == f"{WHERE}: HTTP 302 redirect refused; give the server's final address as --example-url"
    assert f"Authorization: Bearer {TOKEN}".encode() in heads[0]  # the server asked got the header
    assert elsewhere.requests == []  # nothing, with or without the header, went on to the new address


def test_credentials_in_a_url_are_refused_unseen() -> None:
    with pytest.raises(ValueError) as caught:
        service().get(f"http://bot:{PASSWORD}@127.0.0.1:1/api", WHERE)
    assert PASSWORD not in str(caught.value)


def test_no_message_holds_a_credential() -> None:
    def tell(request: Request) -> tuple[int, Any]:
        header = request.headers.get("authorization", "")
        return int(request.query["status"][0]), {"message": f"you sent {header!r}", "error": header}

    messages = []
    with serve({ROUTE: tell}) as server:
        for status in (400, 401, 404, 409, 500, 503):
            for credentials in ({"token": TOKEN}, {"username": "bot", "password": PASSWORD}):
                with pytest.raises(FinopsError) as caught:
                    service(**credentials).get(server.url + ROUTE[1], WHERE, {"status": status})
                messages.append(str(caught.value))
    assert len(messages) == 12 and all(m.startswith(WHERE) for m in messages)
    assert "you sent 'Bearer ***'" in messages[0] and "you sent 'Basic ***'" in messages[1]
    assert not [m for m in messages if TOKEN in m or PASSWORD in m or BASIC in m], messages
    shown = repr(service(token=TOKEN, username="bot", password=PASSWORD))
    assert TOKEN not in shown and PASSWORD not in shown


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://prom:9090/", "http://prom:9090"),
        (" https://bot:pw@mlflow.example.com/base/?x=1#top ", "https://mlflow.example.com/base"),
        ("http://[::1]:80/p", "http://[::1]:80/p"),
        ("http://host:port", ""),
        ("ftp://host/file", ""),
        ("prometheus:9090", ""),
        ("http:///path", ""),
    ],
)
def test_base_url_drops_credentials_query_and_trailing_slash(url: str, expected: str) -> None:
    assert httpjson.base_url(url) == expected
