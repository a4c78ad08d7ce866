"""HTTP API columns: one request per row from a template, a value extracted from the JSON answer.

```json
{"name": "Employees", "type": "number", "kind": "http",
 "config": {"method": "GET", "url": "https://api.example.com/companies/{{Domain}}",
            "headers": {"Authorization": "Bearer {{secret:example-key}}"},
            "extract": "$.data.employees", "rate_limit_per_second": 5, "timeout_s": 10}}
```

- `{{Column}}` are column names, resolved when the column is saved and stored by id (`refs`),
  so renaming a column does not break the template. In the URL a value is percent-encoded; in a
  header it is inserted as text; in the JSON body a string that is exactly `{{Column}}` becomes
  the cell's value (its JSON type kept), any other string gets the value as text.
- `{{secret:name}}` is a secret of the credential vault (provider `http`, that name), allowed in
  headers only, resolved when the request is made. The config stores the reference, never the
  secret; headers that carry credentials (Authorization, *key*, *token*, *secret*, Cookie...)
  must take their value from the vault.
- `extract` is a small JSON path (`$`, `.name`, `['name']`, `[0]`, `[-1]`, `[*]`): enough to
  pick a value out of an API answer, parsed at save time with errors pointing at the position.
  Why not jsonpath-ng: filters and functions are not needed to pick a field, every extra syntax
  is something users can get wrong, and this is forty lines with no dependency.
- Outbound requests follow the webhooks' rules (`core/netsafety.py`): public addresses only
  (loopback ports only where WEBHOOK_ALLOW_LOOPBACK lists them, refused in production), DNS
  resolved once and the connection pinned to the checked address, redirects not followed.
- Never charged: nothing here touches credits.

Running rows is `columns/http_run.py`. docs/columns.md.
"""

from __future__ import annotations

import enum
import json
import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import httpx
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from sqlalchemy.ext.asyncio import AsyncSession

from morket.columns import template
from morket.columns.policy import WritePolicy
from morket.core.netsafety import (
    DestinationRefused,
    LoopbackAllowance,
    parse_destination,
    pinned_request_options,
    pinned_url,
    resolve_public,
)
from morket.core.text import json_problem, text_problem
from morket.models import ColumnKind, TableColumn
from morket.tables.query import FilterGroup

if TYPE_CHECKING:
    from morket.columns.kinds import KindContext

SECRET_PROVIDER = "http"  # the vault's provider slug of secrets for HTTP columns
MAX_URL = 2000
MAX_HEADERS = 30
MAX_BODY_JSON = 20_000
MAX_RESPONSE_BYTES = 1_048_576
_HEADER_NAME = re.compile(r"^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,100}$")
_SENSITIVE = ("authorization", "cookie", "key", "token", "secret", "password", "auth")
_FORBIDDEN_HEADERS = frozenset({"host", "content-length", "transfer-encoding", "connection"})


class HttpMethod(enum.StrEnum):
    GET = "GET"
    POST = "POST"
    PUT = "PUT"
    PATCH = "PATCH"
    DELETE = "DELETE"


class HttpConfig(BaseModel):
    """An HTTP API column: the request template, what to extract, how fast, when."""

    model_config = ConfigDict(extra="forbid")

    method: HttpMethod = HttpMethod.GET
    url: str = Field(min_length=1, max_length=MAX_URL, description="http(s) URL with {{Column}} references")
    headers: dict[str, str] = Field(default_factory=dict, max_length=MAX_HEADERS)
    body: Any = Field(default=None, description="JSON body with {{Column}} references (not for GET)")
    extract: str = Field(default="$", max_length=500, description="JSON path of the value in the answer")
    rate_limit_per_second: int = Field(default=5, ge=1, le=50)
    timeout_s: float = Field(default=10.0, ge=0.5, le=60.0)
    only_if: FilterGroup | None = None
    auto_run: bool = False
    write_policy: WritePolicy = WritePolicy.FILL_EMPTY

    @field_validator("url")
    @classmethod
    def _clean_url(cls, value: str) -> str:
        if problem := text_problem(value):
            raise ValueError(f"url {problem}")
        return value.strip()

    @field_validator("body")
    @classmethod
    def _small_body(cls, value: Any) -> Any:
        if value is None:
            return None
        if problem := json_problem(value):
            raise ValueError(f"body {problem}")
        try:
            encoded = json.dumps(value, allow_nan=False)
        except (TypeError, ValueError):
            raise ValueError("body must be JSON") from None
        if len(encoded) > MAX_BODY_JSON:
            raise ValueError(f"body must be at most {MAX_BODY_JSON} characters of JSON")
        return value


# -- the JSON path subset ----------------------------------------------------------------------


class PathError(ValueError):
    def __init__(self, message: str, offset: int) -> None:
        super().__init__(message)
        self.message = message
        self.offset = offset


WILDCARD = object()
_STEP = re.compile(
    r"\.([A-Za-z_][A-Za-z0-9_\-]*)|\[(-?\d+)\]|\[\*\]|\.\*|\['((?:[^'\\]|\\.)*)'\]|\[\"((?:[^\"\\]|\\.)*)\"\]"
)


def parse_path(path: str) -> list[Any]:
    """Steps of `path`: str (a key), int (an index) or WILDCARD; PathError with the offset."""
    text = path.strip()
    if not text.startswith("$"):
        raise PathError("a path starts with $", 0)
    steps: list[Any] = []
    position = 1
    while position < len(text):
        found = _STEP.match(text, position)
        if found is None:
            raise PathError("expected .name, ['name'], [index] or [*]", position)
        name, index, quoted, double = found.groups()
        if name is not None:
            steps.append(name)
        elif index is not None:
            steps.append(int(index))
        elif quoted is not None or double is not None:
            steps.append(re.sub(r"\\(.)", r"\1", quoted if quoted is not None else double))
        else:
            steps.append(WILDCARD)
        position = found.end()
    return steps


MISSING = object()


def extract(document: Any, steps: Sequence[Any]) -> Any:
    """The value at `steps` (MISSING if there is none); after a wildcard, the list of matches."""
    nodes = [document]
    many = False
    for step in steps:
        out: list[Any] = []
        for node in nodes:
            if step is WILDCARD:
                many = True
                if isinstance(node, list):
                    out.extend(node)
                elif isinstance(node, dict):
                    out.extend(node.values())
            elif isinstance(step, int):
                if isinstance(node, list) and -len(node) <= step < len(node):
                    out.append(node[step])
            elif isinstance(node, dict) and step in node:
                out.append(node[step])
        nodes = out
    if many:
        values = [n for n in nodes if n is not None]
        return values if values else MISSING
    return nodes[0] if nodes else MISSING


# -- templates -----------------------------------------------------------------------------------


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [s for item in value for s in _strings(item)]
    if isinstance(value, dict):
        return [s for key, item in value.items() for s in [str(key), *_strings(item)]]
    return []


def _is_secret(name: str) -> bool:
    return name.startswith("secret:")


def secret_refs(config: HttpConfig) -> set[str]:
    return {
        n.removeprefix("secret:").strip() for v in config.headers.values() for n in template.names(v) if _is_secret(n)
    }


def column_refs(config: HttpConfig) -> set[str]:
    texts = [config.url, *config.headers.values(), *_strings(config.body)]
    return {n for t in texts for n in template.names(t) if not _is_secret(n)}


def url_refs(config: HttpConfig) -> set[str]:
    return {n for n in template.names(config.url) if not _is_secret(n)}


def sample_url(url: str, value: str = "x") -> str:
    """The URL with every reference replaced by `value` (to check what can be checked before a row)."""
    return template.substitute(url, lambda _name: value)


class HttpKind:
    kind = ColumnKind.HTTP

    def validate(self, config: Mapping[str, Any], ctx: KindContext) -> dict[str, Any]:
        from morket.columns.kinds import _filter_problems, _invalid, auto_run_loop

        try:
            parsed = HttpConfig.model_validate({k: v for k, v in config.items() if k != "refs"})
        except ValidationError as exc:
            raise _invalid(
                [
                    {"field": ".".join(["config", *(str(p) for p in e["loc"])]), "message": e["msg"]}
                    for e in exc.errors(include_url=False, include_context=False, include_input=False)
                ]
            ) from None
        problems: list[dict[str, Any]] = []
        columns = template.Columns(ctx.columns)
        refs: dict[str, str] = {}
        for name in sorted(column_refs(parsed)):
            column = columns.get(name)
            if column is None:
                unknown = f"{template.reference(name)}: no such column in this table"
                problems.append({"field": "config", "message": unknown})
            elif column.id == ctx.column_id:
                problems.append(
                    {
                        "field": "config",
                        "message": f"{template.reference(name)} is this column: it cannot read itself",
                        "code": "run_loop",
                    }
                )
            else:
                refs[name] = str(column.id)
        for part, texts in (("config.url", [parsed.url]), ("config.body", _strings(parsed.body))):
            if any(_is_secret(n) for t in texts for n in template.names(t)):
                problems.append({"field": part, "message": "secrets go in headers only (URLs and bodies get logged)"})
        try:
            destination = parse_destination(sample_url(parsed.url))
        except DestinationRefused as exc:
            problems.append({"field": "config.url", "message": str(exc)})
        else:
            problems.extend(_literal_address_problems(destination.host))
        for header, value in parsed.headers.items():
            where = f"config.headers.{header}"
            if not _HEADER_NAME.match(header) or header.lower() in _FORBIDDEN_HEADERS:
                problems.append({"field": where, "message": "not a header this column may set"})
                continue
            if any(ch in value for ch in "\r\n\x00"):
                problems.append({"field": where, "message": "a header value is one line of text"})
            names = template.names(value)
            if any(s in header.lower() for s in _SENSITIVE) and not any(_is_secret(n) for n in names):
                problems.append(
                    {
                        "field": where,
                        "message": "credentials come from the vault: write {{secret:<name>}} "
                        "(a credential of provider 'http'), never the secret itself",
                    }
                )
            for name in names:
                secret = name.removeprefix("secret:").strip()
                if _is_secret(name) and secret not in ctx.secret_names:
                    problems.append({"field": where, "message": f"no 'http' credential named '{secret}' in the vault"})
        if parsed.body is not None and parsed.method is HttpMethod.GET:
            problems.append({"field": "config.body", "message": "a GET request has no body"})
        try:
            parse_path(parsed.extract)
        except PathError as exc:
            problems.append({"field": "config.extract", "message": exc.message, "offset": exc.offset})
        if parsed.only_if is not None:
            problems.extend(_filter_problems(parsed.only_if, ctx))
        places = [("config.url", parsed.url), *((f"config.headers.{h}", v) for h, v in parsed.headers.items())]
        for where, text in [*places, *(("config.body", t) for t in _strings(parsed.body))]:
            if (offset := template.unclosed(text)) is not None:
                problems.append({"field": where, "message": "'{{' is never closed with '}}'", "offset": offset})
        reads = {uuid.UUID(c) for c in refs.values()}
        if (
            parsed.auto_run
            and not problems
            and auto_run_loop(reads, {c for c in [ctx.column_id] if c is not None}, ctx)
        ):
            problems.append(
                {
                    "field": "config.auto_run",
                    "message": "auto-run columns would trigger each other in a loop",
                    "code": "autorun_cycle",
                }
            )
        if problems:
            raise _invalid(problems)
        stored = parsed.model_dump(mode="json", exclude_none=True)
        stored["refs"] = refs
        return stored


def _literal_address_problems(host: str) -> list[dict[str, Any]]:
    """A literal address that is never allowed, whatever the deployment (metadata, private
    networks). Loopback and names are checked when the run starts and before every request,
    with the deployment's allowance (validation has no settings)."""
    import ipaddress

    from morket.core.netsafety import is_public

    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return []
    if address.is_loopback or is_public(address):
        return []
    return [{"field": "config.url", "message": "the host is not a public internet address"}]


async def secret_names(session: AsyncSession, workspace_id: uuid.UUID) -> frozenset[str]:
    """Names of the workspace's vault secrets HTTP columns may reference."""
    from morket.credentials.service import credential_names

    return await credential_names(session, workspace_id, SECRET_PROVIDER)


# -- renames -------------------------------------------------------------------------------------


def rename_references(columns: Sequence[TableColumn], renamed: TableColumn) -> list[TableColumn]:
    """HTTP columns whose template reads `renamed`, rewritten with its new name (URL, headers,
    body and `refs`), as formulas and AI prompts are, so the stored template stays valid; returns
    the columns changed. Conflict (409) when a template cannot hold the new name: the rename is
    refused."""
    new = renamed.name
    changed = []
    for column in columns:
        if column.kind is not ColumnKind.HTTP or column.id == renamed.id:
            continue
        config = dict(column.config or {})
        refs = {name: uuid.UUID(str(c)) for name, c in (config.get("refs") or {}).items()}
        if renamed.id not in refs.values():
            continue

        def to(name: str, refs: Mapping[str, uuid.UUID] = refs) -> str | None:
            return new if refs.get(name) == renamed.id else None

        def body(value: Any, to: Any = to) -> Any:
            if isinstance(value, str):
                return template.rename(value, to)
            if isinstance(value, list):
                return [body(v) for v in value]
            if isinstance(value, dict):
                return {template.rename(str(k), to): body(v) for k, v in value.items()}
            return value

        config["url"] = template.rename(str(config.get("url", "")), to)
        config["headers"] = {k: template.rename(str(v), to) for k, v in (config.get("headers") or {}).items()}
        if "body" in config:
            config["body"] = body(config["body"])
        problem = None
        if any(ch in new for ch in "{}") or _is_secret(new) or new != new.strip():
            problem = "a column name in an HTTP template cannot contain { or }, nor start with 'secret:'"
        elif any(ch in v for v in config["headers"].values() for ch in "\r\n\x00"):
            problem = "a header value is one line of text"
        else:
            try:
                HttpConfig.model_validate({k: v for k, v in config.items() if k != "refs"})
            except ValidationError as exc:
                problem = "; ".join(e["msg"] for e in exc.errors(include_url=False))
        if problem is not None:
            from morket.core.errors import Conflict

            raise Conflict(
                f"The HTTP column {column.name!r} reads this column: {problem}.",
                code="column_name_in_template",
                details=[{"field": "name", "message": problem, "column_id": str(column.id)}],
            )
        config["refs"] = {(new if c == renamed.id else name): str(c) for name, c in refs.items()}
        column.config = config
        changed.append(column)
    return changed


# -- one request -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class RenderedRequest:
    method: str
    url: str
    headers: dict[str, str]
    body: Any


@dataclass(frozen=True)
class Outcome:
    """What one row's request gave: a value (state done), nothing (no_data) or an error."""

    state: str  # "done" | "no_data" | "error"
    value: Any = None
    reason: str | None = None
    status: int | None = None
    host: str | None = None


class RenderError(ValueError):
    pass


def _text_of(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value, separators=(",", ":"))
    return str(value)


def render(
    config: HttpConfig, refs: Mapping[str, uuid.UUID], cells: Mapping[uuid.UUID, Any], secrets: Mapping[str, str]
) -> RenderedRequest:
    """The request of one row: its cells (as the API renders them) in the template."""

    def cell(name: str) -> Any:
        column = refs.get(name)
        return None if column is None else cells.get(column)

    def fill(text: str, encode: bool) -> str:
        def one(name: str) -> str:
            if _is_secret(name):
                secret = secrets.get(name.removeprefix("secret:").strip())
                if secret is None:
                    raise RenderError(f"the secret '{name.removeprefix('secret:').strip()}' is not in the vault")
                return secret
            value = _text_of(cell(name))
            return quote(value, safe="") if encode else value

        return template.substitute(text, one)

    def body(value: Any) -> Any:
        if isinstance(value, str):
            whole = template.whole(value)
            if whole is not None and not _is_secret(whole):
                return cell(whole)
            return fill(value, False)
        if isinstance(value, list):
            return [body(v) for v in value]
        if isinstance(value, dict):
            return {fill(str(k), False): body(v) for k, v in value.items()}
        return value

    headers = {name: fill(value, False) for name, value in config.headers.items()}
    if any(ch in v for v in headers.values() for ch in "\r\n\x00"):
        raise RenderError("a header value would span lines")
    return RenderedRequest(config.method.value, fill(config.url, True), headers, body(config.body))


async def send(
    client: httpx.AsyncClient,
    request: RenderedRequest,
    steps: Sequence[Any],
    allowance: LoopbackAllowance,
    timeout: float,
) -> Outcome:
    """Make one request (checked destination, pinned address) and extract the value."""
    try:
        checked = await resolve_public(request.url, allowance)
    except DestinationRefused as exc:
        return Outcome("error", reason=f"refused: {exc}")
    host = checked.destination.host
    options = pinned_request_options(checked)
    headers = {**request.headers, **options["headers"]}
    content = None if request.body is None else json.dumps(request.body, separators=(",", ":")).encode()
    if content is not None:
        headers.setdefault("Content-Type", "application/json")
    try:
        async with client.stream(
            request.method,
            pinned_url(checked),
            headers=headers,
            content=content,
            timeout=timeout,
            extensions=options.get("extensions", {}),
        ) as response:
            raw = bytearray()
            async for part in response.aiter_bytes():
                raw += part
                if len(raw) > MAX_RESPONSE_BYTES:
                    too_large = "the response is larger than 1 MiB"
                    return Outcome("error", reason=too_large, status=response.status_code, host=host)
            status = response.status_code
    except httpx.TimeoutException:
        return Outcome("error", reason=f"timeout after {timeout:g} s", host=host)
    except httpx.HTTPError as exc:
        return Outcome("error", reason=f"request failed: {type(exc).__name__}", host=host)
    if status >= 300:
        return Outcome("error", reason=f"HTTP {status}", status=status, host=host)
    try:
        document = json.loads(bytes(raw)) if raw else None
    except ValueError:
        return Outcome("error", reason="the response is not JSON", status=status, host=host)
    value = extract(document, steps)
    if value is MISSING or value is None:
        return Outcome("no_data", reason="the extract path found nothing", status=status, host=host)
    return Outcome("done", value=value, status=status, host=host)
