from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Response, status

from chat_service.dependencies import Caller, OwnedWebhook, RuntimeDep, SessionDep
from chat_service.webhooks import repository as repo
from chat_service.webhooks import service
from chat_service.webhooks.schemas import (
    DeliveryList,
    SecretRotated,
    WebhookCreate,
    WebhookCreated,
    WebhookList,
    WebhookPublic,
    WebhookUpdate,
)
from kit.dependencies import costly_write

router = APIRouter(prefix="/api/webhooks", tags=["webhooks"])
NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"description": "No such webhook (or not yours)."}
}


@router.get("", response_model=WebhookList)
async def list_webhooks(caller: Caller, session: SessionDep) -> WebhookList:
    """The caller's webhook endpoints."""
    return WebhookList(
        data=[service.public(e) for e in await repo.list_for(session, caller.user_id)]
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


@router.patch(
    "/{webhook_id}",
    response_model=WebhookPublic,
    responses={**NOT_FOUND, 422: {"description": "A URL that may not receive webhooks"}},
)
async def update_webhook(
    endpoint: OwnedWebhook, data: WebhookUpdate, runtime: RuntimeDep, session: SessionDep
) -> WebhookPublic:
    """Change the URL or events, or enable a disabled endpoint again (`{"disabled": false}`)."""
    return service.public(await service.update(runtime, session, endpoint, data))


@router.post("/{webhook_id}/rotate-secret", response_model=SecretRotated, responses=NOT_FOUND)
async def rotate_secret(
    endpoint: OwnedWebhook, runtime: RuntimeDep, session: SessionDep
) -> SecretRotated:
    """A new signing secret, shown once; the old one keeps signing beside it for 24 hours."""
    return await service.rotate_secret(runtime, session, endpoint)


@router.post(
    "/{webhook_id}/deliveries/{delivery_id}/retry",
    status_code=status.HTTP_202_ACCEPTED,
    responses={**NOT_FOUND, 409: {"description": "Not failed, or the webhook is disabled"}},
    dependencies=[costly_write("webhook-tests")],
)
async def retry_delivery(
    endpoint: OwnedWebhook,
    delivery_id: Annotated[str, Path(max_length=40)],
    session: SessionDep,
) -> dict[str, str]:
    """Send a failed delivery again, with the same `webhook-id`."""
    delivery = await service.retry_delivery(session, endpoint, delivery_id)
    return {"delivery_id": delivery.id, "status": delivery.status}


@router.delete("/{webhook_id}", status_code=status.HTTP_204_NO_CONTENT, responses=NOT_FOUND)
async def delete_webhook(endpoint: OwnedWebhook, session: SessionDep) -> Response:
    """Remove an endpoint and its delivery log."""
    await session.delete(endpoint)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/{webhook_id}/deliveries", response_model=DeliveryList, responses=NOT_FOUND)
async def list_deliveries(endpoint: OwnedWebhook, session: SessionDep) -> DeliveryList:
    """The latest deliveries to this endpoint, each with its attempts."""
    return DeliveryList(data=await service.deliveries(session, endpoint))


@router.post(
    "/{webhook_id}/test",
    status_code=status.HTTP_202_ACCEPTED,
    responses=NOT_FOUND,
    dependencies=[costly_write("webhook-tests")],
)
async def send_test(endpoint: OwnedWebhook, session: SessionDep) -> dict[str, str]:
    """Queue a `webhook.test` delivery to this endpoint."""
    delivery = await service.queue_test(session, endpoint)
    return {"delivery_id": delivery.id, "status": delivery.status}
