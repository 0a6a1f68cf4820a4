import { api } from "../../api/api";
import type { AdminUsage, BudgetState, Usage } from "../../api/types";

export interface Period {
  from: string;
  to: string;
}

export const usageApi = api.injectEndpoints({
  endpoints: (build) => ({
    getUsage: build.query<Usage, Period>({
      query: ({ from, to }) => ({ url: "usage", params: { from, to } }),
      providesTags: ["Usage"],
    }),
    getAdminUsage: build.query<AdminUsage, Period & { user_id?: string }>({
      query: ({ from, to, user_id }) => ({ url: "admin/usage", params: { from, to, ...(user_id ? { user_id } : {}) } }),
      providesTags: ["Usage"],
    }),
    getBudget: build.query<BudgetState, string>({
      query: (userId) => `admin/users/${encodeURIComponent(userId)}/budget`,
      providesTags: (_result, _error, userId) => [{ type: "Budget", id: userId }],
    }),
    setBudget: build.mutation<BudgetState, { userId: string; monthly_tokens: number | null }>({
      query: ({ userId, monthly_tokens }) => ({
        url: `admin/users/${encodeURIComponent(userId)}/budget`,
        method: "PUT",
        body: { monthly_tokens },
      }),
      invalidatesTags: (_result, _error, { userId }) => [{ type: "Budget", id: userId }],
    }),
  }),
});

export const { useGetUsageQuery, useGetAdminUsageQuery, useGetBudgetQuery, useSetBudgetMutation } = usageApi;

/** The last `days` days up to today (UTC), as the API's `from`/`to` dates. */
export function lastDays(days: number, now = new Date()): Period {
  const to = now.toISOString().slice(0, 10);
  const from = new Date(now.getTime() - (days - 1) * 86_400_000).toISOString().slice(0, 10);
  return { from, to };
}
