import { api } from "../../api/api";
import { listOf } from "../../api/list";
import type { SecretRotated, Session, Webhook, WebhookDelivery, WebhookEvent } from "../../api/types";

export const settingsApi = api.injectEndpoints({
  endpoints: (build) => ({
    changePassword: build.mutation<null, { current_password: string; new_password: string }>({
      query: (body) => ({ url: "auth/password/change", method: "POST", body }),
      invalidatesTags: ["Sessions"],
    }),
    getSessions: build.query<Session[], void>({
      query: () => "auth/sessions",
      transformResponse: listOf<Session>,
      providesTags: ["Sessions"],
    }),
    revokeSession: build.mutation<null, string>({
      query: (id) => ({ url: `auth/sessions/${encodeURIComponent(id)}`, method: "DELETE" }),
      invalidatesTags: ["Sessions"],
    }),
    logoutAll: build.mutation<null, void>({
      query: () => ({ url: "auth/logout-all", method: "POST" }),
    }),
    deleteAccount: build.mutation<null, { password: string }>({
      query: (body) => ({ url: "users/me", method: "DELETE", body }),
    }),
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
  useChangePasswordMutation,
  useGetSessionsQuery,
  useRevokeSessionMutation,
  useLogoutAllMutation,
  useDeleteAccountMutation,
  useGetWebhooksQuery,
  useCreateWebhookMutation,
  useDeleteWebhookMutation,
  useGetDeliveriesQuery,
  useTestWebhookMutation,
  useUpdateWebhookMutation,
  useRotateWebhookSecretMutation,
  useRetryDeliveryMutation,
} = settingsApi;
