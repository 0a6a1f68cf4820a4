import { api } from "../../api/api";
import { listOf } from "../../api/list";
import type { SecretRotated, Webhook, WebhookDelivery, WebhookEvent } from "../../api/types";

export const webhooksApi = api.injectEndpoints({
  endpoints: (build) => ({
    getWebhooks: build.query<Webhook[], void>({
      query: () => "webhooks",
      transformResponse: listOf<Webhook>,
      providesTags: ["Webhooks"],
    }),
    createWebhook: build.mutation<Webhook, { url: string; events: WebhookEvent[] }>({
      query: (body) => ({ url: "webhooks", method: "POST", body }),
      invalidatesTags: ["Webhooks"],
    }),
    deleteWebhook: build.mutation<null, string>({
      query: (id) => ({ url: `webhooks/${encodeURIComponent(id)}`, method: "DELETE" }),
      invalidatesTags: ["Webhooks"],
    }),
    getDeliveries: build.query<WebhookDelivery[], string>({
      query: (id) => `webhooks/${encodeURIComponent(id)}/deliveries`,
      transformResponse: listOf<WebhookDelivery>,
      providesTags: (_result, _error, id) => [{ type: "Deliveries", id }],
    }),
    updateWebhook: build.mutation<Webhook, { id: string; disabled?: boolean }>({
      query: ({ id, ...body }) => ({ url: `webhooks/${encodeURIComponent(id)}`, method: "PATCH", body }),
      invalidatesTags: ["Webhooks"],
    }),
    rotateWebhookSecret: build.mutation<SecretRotated, string>({
      query: (id) => ({ url: `webhooks/${encodeURIComponent(id)}/rotate-secret`, method: "POST" }),
      invalidatesTags: ["Webhooks"],
    }),
    retryDelivery: build.mutation<unknown, { webhookId: string; deliveryId: string }>({
      query: ({ webhookId, deliveryId }) => ({
        url: `webhooks/${encodeURIComponent(webhookId)}/deliveries/${encodeURIComponent(deliveryId)}/retry`,
        method: "POST",
      }),
      invalidatesTags: (_result, _error, { webhookId }) => [{ type: "Deliveries", id: webhookId }],
    }),
    testWebhook: build.mutation<unknown, string>({
      query: (id) => ({ url: `webhooks/${encodeURIComponent(id)}/test`, method: "POST" }),
      invalidatesTags: (_result, _error, id) => [{ type: "Deliveries", id }],
    }),
  }),
});

export const {
  useGetWebhooksQuery,
  useCreateWebhookMutation,
  useDeleteWebhookMutation,
  useGetDeliveriesQuery,
  useTestWebhookMutation,
  useUpdateWebhookMutation,
  useRotateWebhookSecretMutation,
  useRetryDeliveryMutation,
} = webhooksApi;
