import { api } from "../../api/api";
import { listOf } from "../../api/list";
import type { Session } from "../../api/types";

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
  }),
});

export const {
  useChangePasswordMutation,
  useGetSessionsQuery,
  useRevokeSessionMutation,
  useLogoutAllMutation,
  useDeleteAccountMutation,
} = settingsApi;
