import { api } from "../../api/api";
import type { AdminUser, Page } from "../../api/types";

export const adminApi = api.injectEndpoints({
  endpoints: (build) => ({
    getUsers: build.query<Page<AdminUser>, { q: string; cursor?: string | null }>({
      query: ({ q, cursor }) => ({ url: "admin/users", params: { ...(q ? { q } : {}), ...(cursor ? { cursor } : {}), limit: 50 } }),
      providesTags: ["AdminUsers"],
    }),
    updateUser: build.mutation<AdminUser, { id: string; is_active?: boolean; is_staff?: boolean }>({
      query: ({ id, ...body }) => ({ url: `admin/users/${encodeURIComponent(id)}`, method: "PATCH", body }),
      invalidatesTags: ["AdminUsers"],
    }),
  }),
});

export const { useGetUsersQuery, useUpdateUserMutation } = adminApi;
