from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Response, status

from chat_service.dependencies import Caller, RuntimeDep, SessionDep
from chat_service.webhooks import service
from chat_service.webhooks.schemas import DeliveryList, WebhookCreate, WebhookCreated, WebhookList
from kit.dependencies import costly_write

router = APIRouter(prefix="/api/webhooks", tags=["webhooks"])
NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"description": "No such webhook (or not yours)."}
}


@router.get("", response_model=WebhookList)
async def list_webhooks(caller: Caller, session: SessionDep) -> WebhookList:
    """The caller's webhook endpoints."""
    return WebhookList(
        data=[service.public(e) for e in await service.list_for(session, caller.user_id)]
    )


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=WebhookCreated,
    responses={409: {}, 422: {}},
)
async def create_webhook(
    data: WebhookCreate, caller: Caller, runtime: RuntimeDep, session: SessionDep
) -> WebhookCreated:
    """Register an endpoint; the signing secret (`whsec_…`) is returned only here."""
    return await service.create(runtime, session, caller.user_id, data)


@router.delete("/{webhook_id}", status_code=status.HTTP_204_NO_CONTENT, responses=NOT_FOUND)
async def delete_webhook(webhook_id: uuid.UUID, caller: Caller, session: SessionDep) -> Response:
    """Remove an endpoint and its delivery log."""
    await session.delete(await service.owned(session, webhook_id, caller.user_id))
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/{webhook_id}/deliveries", response_model=DeliveryList, responses=NOT_FOUND)
async def list_deliveries(
    webhook_id: uuid.UUID, caller: Caller, session: SessionDep
) -> DeliveryList:
    """The latest deliveries to this endpoint, each with its attempts."""
    endpoint = await service.owned(session, webhook_id, caller.user_id)
    return DeliveryList(data=await service.deliveries(session, endpoint))


@router.post(
    "/{webhook_id}/test",
    status_code=status.HTTP_202_ACCEPTED,
    responses=NOT_FOUND,
    dependencies=[costly_write("webhook-tests")],
)
async def send_test(webhook_id: uuid.UUID, caller: Caller, session: SessionDep) -> dict[str, str]:
    """Queue a `webhook.test` delivery to this endpoint."""
    endpoint = await service.owned(session, webhook_id, caller.user_id)
    delivery = await service.queue_test(session, endpoint)
    return {"delivery_id": delivery.id, "status": delivery.status}
