import { api } from "../../api/api";
import { listOf } from "../../api/list";
import type { Agent, AgentInput } from "../../api/types";

export const agentsApi = api.injectEndpoints({
  endpoints: (build) => ({
    getAgents: build.query<Agent[], void>({
      query: () => "agents",
      transformResponse: listOf<Agent>,
      providesTags: ["Agents"],
    }),
    createAgent: build.mutation<Agent, AgentInput>({
      query: (body) => ({ url: "agents", method: "POST", body }),
      invalidatesTags: ["Agents"],
    }),
    updateAgent: build.mutation<Agent, { id: string } & Partial<AgentInput>>({
      query: ({ id, ...body }) => ({ url: `agents/${encodeURIComponent(id)}`, method: "PATCH", body }),
      invalidatesTags: ["Agents"],
    }),
    deleteAgent: build.mutation<null, string>({
      query: (id) => ({ url: `agents/${encodeURIComponent(id)}`, method: "DELETE" }),
      invalidatesTags: ["Agents"],
    }),
  }),
});

export const { useGetAgentsQuery, useCreateAgentMutation, useUpdateAgentMutation, useDeleteAgentMutation } = agentsApi;

/** The agent a draft starts with: `@handle` and the rest of the text, when it names one. */
export function mentionAt(text: string): { query: string } | null {
  const match = /^@([a-z0-9_-]{0,32})$/.exec(text.split(/\s/, 1)[0] ?? "");
  if (!match || /\s/.test(text)) return null;
  return { query: match[1] ?? "" };
}
