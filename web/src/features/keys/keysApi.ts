import { api } from "../../api/api";
import { listOf } from "../../api/list";
import type { ApiKey, ApiKeyCreated, KeyScope } from "../../api/types";

export const keysApi = api.injectEndpoints({
  endpoints: (build) => ({
    getKeys: build.query<ApiKey[], void>({
      query: () => "keys",
      transformResponse: listOf<ApiKey>,
      providesTags: ["Keys"],
    }),
    createKey: build.mutation<ApiKeyCreated, { name: string; scopes: KeyScope[]; expires_at: string | null }>({
      query: (body) => ({ url: "keys", method: "POST", body }),
      invalidatesTags: ["Keys"],
    }),
    revokeKey: build.mutation<null, string>({
      query: (id) => ({ url: `keys/${encodeURIComponent(id)}`, method: "DELETE" }),
      invalidatesTags: ["Keys"],
    }),
  }),
});

export const { useGetKeysQuery, useCreateKeyMutation, useRevokeKeyMutation } = keysApi;
