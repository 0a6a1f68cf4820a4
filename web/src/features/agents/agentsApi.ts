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
    uploadAgentAvatar: build.mutation<Agent, { id: string; file: File }>({
      query: ({ id, file }) => {
        const body = new FormData();
        body.append("file", file, file.name);
        return { url: `agents/${encodeURIComponent(id)}/avatar`, method: "PUT", body };
      },
      invalidatesTags: ["Agents"],
    }),
    removeAgentAvatar: build.mutation<Agent, string>({
      query: (id) => ({ url: `agents/${encodeURIComponent(id)}/avatar`, method: "DELETE" }),
      invalidatesTags: ["Agents"],
    }),
    deleteAgent: build.mutation<null, string>({
      query: (id) => ({ url: `agents/${encodeURIComponent(id)}`, method: "DELETE" }),
      invalidatesTags: ["Agents"],
    }),
  }),
});

export const {
  useGetAgentsQuery,
  useCreateAgentMutation,
  useUpdateAgentMutation,
  useDeleteAgentMutation,
  useUploadAgentAvatarMutation,
  useRemoveAgentAvatarMutation,
} = agentsApi;
