"""`/v1/webhook_endpoints` as OpenAI's SDKs call them (`client.webhooks`, docs/DESIGN.md §12),
on the same endpoints, deliveries, retries, SSRF rules and delivery log as `/api/webhooks`
(§4): an endpoint made here receives OpenAI-shaped `response.*` events, signed so
`client.webhooks.unwrap()` accepts them, and is listed at `/api/webhooks` as well."""

from __future__ import annotations

import asyncio
import uuid
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import ConfigDict, Field
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from chat_service.dependencies import Caller, RuntimeDep, SessionDep
from chat_service.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from chat_service.openai_api.ids import openai_list
from chat_service.runtime import Runtime
from chat_service.webhooks import endpoint_health, sender, signing
from chat_service.webhooks import service as webhooks
from kit.db import utcnow
from kit.dependencies import costly_write
from kit.errors import FieldErrors, NotFound
from kit.jwt import AccessClaims
from kit.schemas import Input

router = APIRouter(prefix="/v1/webhook_endpoints", tags=["OpenAI-compatible"])

ResponseEvent = Literal[
    "response.completed", "response.failed", "response.cancelled", "response.incomplete"
]
Name = Annotated[str, Field(max_length=200)]
Url = Annotated[str, Field(min_length=1, max_length=2000)]
EventTypes = Annotated[list[ResponseEvent], Field(min_length=1)]


class EndpointCreate(Input):
    model_config = ConfigDict(extra="ignore")

    url: Url
    name: Name = ""
    event_types: EventTypes


class EndpointUpdate(Input):
    model_config = ConfigDict(extra="ignore")

    url: Url | None = None
    name: Name | None = None
    event_types: EventTypes | None = None


class SecretRotation(Input):
    model_config = ConfigDict(extra="ignore")

    keep_old_secret_active_for_24_hours: bool = False


class TestEvent(Input):
    model_config = ConfigDict(extra="ignore")

    event_type: ResponseEvent


class EndpointNotFound(NotFound):
    code = "webhook_endpoint_not_found"

    def __init__(self, endpoint_id: str) -> None:
        super().__init__(f"No webhook endpoint with id '{endpoint_id}' found.")


async def _owned(session: AsyncSession, caller: AccessClaims, endpoint_id: str) -> WebhookEndpoint:
    try:
        found = await session.get(WebhookEndpoint, uuid.UUID(endpoint_id))
    except ValueError:
        found = None
    if found is None or found.user_id != caller.user_id:
        raise EndpointNotFound(endpoint_id)
    return found


def _object(endpoint: WebhookEndpoint, *, with_secret: bool = False) -> dict[str, Any]:
    shown: dict[str, Any] = {
        "id": str(endpoint.id),
        "object": "webhook_endpoint",
        "created_at": int(endpoint.created_at.timestamp()),
        "updated_at": int((endpoint.updated_at or endpoint.created_at).timestamp()),
        "event_types": endpoint.events,
        "name": endpoint.name,
        "url": endpoint.url,
        "signing_secret_hint": f"{signing.PREFIX}…{endpoint.secret[-4:]}",
    }
    if with_secret:
        shown["signing_secret"] = endpoint.secret
    return shown


@router.post("", dependencies=[costly_write("webhooks")])
async def create_endpoint(
    data: EndpointCreate, caller: Caller, runtime: RuntimeDep, session: SessionDep
) -> dict[str, Any]:
    """Register a receiver of `response.*` events; its `signing_secret` is shown only here."""
    endpoint = await webhooks.add(
        runtime, session, caller.user_id, data.url, list(data.event_types), data.name
    )
    return _object(endpoint, with_secret=True)


@router.get("")
async def list_endpoints(
    caller: Caller,
    session: SessionDep,
    after: Annotated[str, Query(max_length=100)] | None = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> dict[str, Any]:
    """The caller's endpoints, newest first (those made at `/api/webhooks` too)."""
    query = select(WebhookEndpoint).where(WebhookEndpoint.user_id == caller.user_id)
    if after is not None:
        last = await _owned(session, caller, after)
        query = query.where(
            (col(WebhookEndpoint.created_at) < last.created_at)
            | (
                (col(WebhookEndpoint.created_at) == last.created_at)
                & (col(WebhookEndpoint.id) < last.id)
            )
        )
    query = query.order_by(col(WebhookEndpoint.created_at).desc(), col(WebhookEndpoint.id).desc())
    rows = list((await session.exec(query.limit(limit + 1))).all())
    return openai_list([_object(e) for e in rows[:limit]], len(rows) > limit)


@router.get("/{endpoint_id}")
async def retrieve_endpoint(
    endpoint_id: str, caller: Caller, session: SessionDep
) -> dict[str, Any]:
    return _object(await _owned(session, caller, endpoint_id))


@router.post("/{endpoint_id}")
async def update_endpoint(
    endpoint_id: str,
    data: EndpointUpdate,
    caller: Caller,
    runtime: RuntimeDep,
    session: SessionDep,
) -> dict[str, Any]:
    endpoint = await _owned(session, caller, endpoint_id)
    before = (endpoint.url, endpoint.name, list(endpoint.events))
    if data.url is not None and data.url != endpoint.url:
        await webhooks.check_url(runtime, data.url)
        endpoint.url = data.url
    if data.name is not None:
        endpoint.name = data.name
    if data.event_types is not None:
        endpoint.events = list(dict.fromkeys(data.event_types))
    if (endpoint.url, endpoint.name, endpoint.events) != before:
        endpoint.updated_at = utcnow()
    session.add(endpoint)
    return _object(endpoint)


@router.delete("/{endpoint_id}")
async def delete_endpoint(endpoint_id: str, caller: Caller, session: SessionDep) -> dict[str, Any]:
    await session.delete(await _owned(session, caller, endpoint_id))
    return {"id": endpoint_id, "object": "webhook_endpoint.deleted", "deleted": True}


@router.post("/{endpoint_id}/rotate_secret")
async def rotate_secret(
    endpoint_id: str,
    caller: Caller,
    runtime: RuntimeDep,
    session: SessionDep,
    data: SecretRotation | None = None,
) -> dict[str, Any]:
    """A new signing secret, shown once; the old one stops signing at once unless
    `keep_old_secret_active_for_24_hours`."""
    endpoint = await _owned(session, caller, endpoint_id)
    now = utcnow()
    endpoint_health.rotate(endpoint, signing.new_secret(), now, runtime.settings)
    if data is None or not data.keep_old_secret_active_for_24_hours:
        endpoint.previous_secret = endpoint.previous_secret_expires_at = None
    endpoint.updated_at = now
    session.add(endpoint)
    return _object(endpoint, with_secret=True)


@router.post("/{endpoint_id}/test", dependencies=[costly_write("webhook-tests")])
async def test_endpoint(
    endpoint_id: str, data: TestEvent, caller: Caller, runtime: RuntimeDep, session: SessionDep
) -> dict[str, Any]:
    """Send a sample event now and tell what the receiver answered (logged as a delivery)."""
    endpoint = await _owned(session, caller, endpoint_id)
    delivery = await _send_now(runtime, session, endpoint, data.event_type)
    return {
        "object": "webhook_endpoint.test",
        "event_type": data.event_type,
        "status_code": delivery,
        "success": True,
        "webhook_endpoint_id": endpoint_id,
    }


async def _send_now(
    runtime: Runtime, session: AsyncSession, endpoint: WebhookEndpoint, event_type: str
) -> int:
    """One attempt, made here (a test is not retried); the receiver's status code."""
    delivery_id = signing.new_message_id()
    payload = webhooks.openai_event(event_type, {"id": "resp_test"})
    settings = runtime.settings
    result = await asyncio.to_thread(
        sender.post,
        endpoint.url,
        endpoint_health.signing_secrets(endpoint, utcnow()),
        delivery_id,
        payload.encode(),
        timeout=settings.webhook_timeout,
        allow_private=settings.webhook_allow_private,
        extra_ports=settings.webhook_extra_ports,
    )
    session.add(
        WebhookDelivery(
            id=delivery_id,
            endpoint_id=endpoint.id,
            event_type=event_type,
            event_key=f"test:{delivery_id}",
            payload=payload,
            status="succeeded" if result.ok else "failed",
            attempts=1,
        )
    )
    await session.flush()
    session.add(
        WebhookAttempt(
            delivery_id=delivery_id,
            status_code=result.status_code,
            error=result.error,
            duration_ms=result.duration_ms,
            response_body=result.body,
        )
    )
    if result.status_code is None:
        await session.commit()  # the failed attempt stays in the delivery log
        raise FieldErrors(
            {"url": [result.error or "The endpoint could not be reached."]},
            code="webhook_unreachable",
        )
    return result.status_code
