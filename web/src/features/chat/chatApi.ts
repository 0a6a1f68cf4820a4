import type { InfiniteData } from "@reduxjs/toolkit/query";
import { api } from "../../api/api";
import type { Dialog, Message, Model, Page } from "../../api/types";

export const DIALOG_PAGE_SIZE = 30;
export const MESSAGE_PAGE_SIZE = 20;

export interface NewDialog {
  message_text: string;
  model?: string | undefined;
  name?: string | undefined;
  agent_id?: string | undefined;
}

export interface NewMessage {
  dialogId: string;
  message_text: string;
  model?: string | undefined;
  /** Sent as `Idempotency-Key`: a retried send creates nothing new. */
  idempotencyKey: string;
}

type DialogPages = InfiniteData<Page<Dialog>, string | null>;
type MessagePages = InfiniteData<Page<Message>, string | null>;

/** The dialog without the first message(s) that `POST /api/dialogs` may include. */
export function withoutMessages(dialog: Dialog): Dialog {
  const { messages: _messages, message: _message, ...plain } = dialog;
  return plain;
}

/** Puts a dialog first in the list (it is the most recently updated), replacing an older copy. */
export function upsertDialogFirst(draft: DialogPages, dialog: Dialog): void {
  const plain = withoutMessages(dialog);
  for (const page of draft.pages) page.data = page.data.filter((d) => d.id !== dialog.id);
  if (draft.pages.length === 0) {
    draft.pages.push({ data: [plain], next_cursor: null });
    draft.pageParams.push(null);
  } else {
    draft.pages[0]?.data.unshift(plain);
  }
}

export function patchDialogInList(draft: DialogPages, id: string, patch: Partial<Dialog>): void {
  for (const page of draft.pages) {
    const found = page.data.find((d) => d.id === id);
    if (found) Object.assign(found, patch);
  }
}

export function removeDialogFromList(draft: DialogPages, id: string): void {
  for (const page of draft.pages) page.data = page.data.filter((d) => d.id !== id);
}

/** Adds or replaces a message; new messages go to the end of the newest page. */
export function upsertMessage(draft: MessagePages, message: Message): void {
  for (const page of draft.pages) {
    const index = page.data.findIndex((m) => m.id === message.id);
    if (index !== -1) {
      page.data[index] = message;
      return;
    }
  }
  if (draft.pages.length === 0) {
    draft.pages.push({ data: [message], next_cursor: null });
    draft.pageParams.push(null);
  } else {
    draft.pages[0]?.data.push(message);
  }
}

export function patchMessageInPages(draft: MessagePages, id: string, patch: Partial<Message>): void {
  for (const page of draft.pages) {
    const found = page.data.find((m) => m.id === id);
    if (found) Object.assign(found, patch);
  }
}

/** Messages of all loaded pages, oldest first (page 0 is the newest page). */
export function flattenMessages(data: MessagePages | undefined): Message[] {
  if (!data) return [];
  const out: Message[] = [];
  for (let i = data.pages.length - 1; i >= 0; i--) out.push(...(data.pages[i]?.data ?? []));
  return out;
}

export function flattenDialogs(data: DialogPages | undefined): Dialog[] {
  if (!data) return [];
  const seen = new Set<string>();
  const out: Dialog[] = [];
  for (const page of data.pages) {
    for (const dialog of page.data) {
      if (seen.has(dialog.id)) continue;
      seen.add(dialog.id);
      out.push(dialog);
    }
  }
  return out;
}

export const chatApi = api.injectEndpoints({
  endpoints: (build) => ({
    /** No argument: the sidebar's list (updated in place). A string: server-side search by name. */
    getDialogs: build.infiniteQuery<Page<Dialog>, string | void, string | null>({
      infiniteQueryOptions: {
        initialPageParam: null,
        getNextPageParam: (lastPage) => lastPage.next_cursor,
        refetchCachedPages: false,
      },
      query: ({ queryArg, pageParam }) => ({
        url: "dialogs",
        params: { cursor: pageParam, limit: DIALOG_PAGE_SIZE, q: queryArg || undefined },
      }),
      providesTags: (_result, _error, q) => [{ type: "Dialog", id: q ? "SEARCH" : "LIST" }],
    }),

    getDialog: build.query<Dialog, string>({
      query: (id) => `dialogs/${encodeURIComponent(id)}`,
      providesTags: (_result, _error, id) => [{ type: "Dialog", id }],
    }),

    createDialog: build.mutation<Dialog, NewDialog>({
      query: (body) => ({ url: "dialogs", method: "POST", body }),
      async onQueryStarted(_arg, { dispatch, queryFulfilled }) {
        const { data: dialog } = await queryFulfilled.catch(() => ({ data: null }));
        if (!dialog) return;
        dispatch(chatApi.util.updateQueryData("getDialogs", undefined, (draft) => upsertDialogFirst(draft, dialog)));
        void dispatch(chatApi.util.upsertQueryData("getDialog", dialog.id, withoutMessages(dialog)));
        const messages = dialog.messages ?? (dialog.message ? [dialog.message] : null);
        if (messages) {
          void dispatch(
            chatApi.util.upsertQueryData("getMessages", dialog.id, {
              pages: [{ data: messages, next_cursor: null }],
              pageParams: [null],
            }),
          );
        }
      },
    }),

    renameDialog: build.mutation<Dialog, { id: string; name: string }>({
      query: ({ id, name }) => ({ url: `dialogs/${encodeURIComponent(id)}`, method: "PATCH", body: { name } }),
      invalidatesTags: [{ type: "Dialog", id: "SEARCH" }],
      async onQueryStarted({ id, name }, { dispatch, queryFulfilled }) {
        const list = dispatch(
          chatApi.util.updateQueryData("getDialogs", undefined, (draft) => patchDialogInList(draft, id, { name })),
        );
        const one = dispatch(
          chatApi.util.updateQueryData("getDialog", id, (draft) => {
            draft.name = name;
          }),
        );
        try {
          const { data } = await queryFulfilled;
          dispatch(chatApi.util.updateQueryData("getDialogs", undefined, (draft) => patchDialogInList(draft, id, data)));
          void dispatch(chatApi.util.upsertQueryData("getDialog", id, data));
        } catch {
          list.undo();
          one.undo();
        }
      },
    }),

    setDialogAgent: build.mutation<Dialog, { id: string; agent_id: string }>({
      query: ({ id, agent_id }) => ({ url: `dialogs/${encodeURIComponent(id)}`, method: "PATCH", body: { agent_id } }),
      async onQueryStarted({ id }, { dispatch, queryFulfilled }) {
        const { data } = await queryFulfilled.catch(() => ({ data: null }));
        if (data) void dispatch(chatApi.util.upsertQueryData("getDialog", id, data));
      },
    }),

    setDialogInstructions: build.mutation<Dialog, { id: string; instructions: string }>({
      query: ({ id, instructions }) => ({ url: `dialogs/${encodeURIComponent(id)}`, method: "PATCH", body: { instructions } }),
      async onQueryStarted({ id }, { dispatch, queryFulfilled }) {
        const { data } = await queryFulfilled.catch(() => ({ data: null }));
        if (data) void dispatch(chatApi.util.upsertQueryData("getDialog", id, data));
      },
    }),

    deleteDialog: build.mutation<null, string>({
      query: (id) => ({ url: `dialogs/${encodeURIComponent(id)}`, method: "DELETE" }),
      invalidatesTags: [{ type: "Dialog", id: "SEARCH" }],
      async onQueryStarted(id, { dispatch, queryFulfilled }) {
        try {
          await queryFulfilled;
          dispatch(chatApi.util.updateQueryData("getDialogs", undefined, (draft) => removeDialogFromList(draft, id)));
        } catch {
          // The error is shown by the caller.
        }
      },
    }),

    getMessages: build.infiniteQuery<Page<Message>, string, string | null>({
      infiniteQueryOptions: {
        initialPageParam: null,
        getNextPageParam: (lastPage) => lastPage.next_cursor,
        refetchCachedPages: false,
      },
      query: ({ queryArg, pageParam }) => ({
        url: `dialogs/${encodeURIComponent(queryArg)}/messages`,
        params: { before: pageParam, limit: MESSAGE_PAGE_SIZE },
      }),
      keepUnusedDataFor: 300,
    }),

    sendMessage: build.mutation<Message, NewMessage>({
      query: ({ dialogId, idempotencyKey, ...body }) => ({
        url: `dialogs/${encodeURIComponent(dialogId)}/messages`,
        method: "POST",
        body,
        headers: { "Idempotency-Key": idempotencyKey },
      }),
      async onQueryStarted({ dialogId }, lifecycle) {
        const { dispatch, queryFulfilled } = lifecycle;
        const { data: message } = await queryFulfilled.catch(() => ({ data: null }));
        if (!message) return;
        dispatch(chatApi.util.updateQueryData("getMessages", dialogId, (draft) => upsertMessage(draft, message)));
        const dialog = chatApi.endpoints.getDialog.select(dialogId)(lifecycle.getState() as never).data;
        if (dialog) {
          const touched = { ...dialog, updated_at: message.created_at };
          dispatch(chatApi.util.updateQueryData("getDialogs", undefined, (draft) => upsertDialogFirst(draft, touched)));
        }
      },
    }),

    getMessage: build.query<Message, string>({
      query: (id) => `messages/${encodeURIComponent(id)}`,
      keepUnusedDataFor: 0,
    }),

    cancelMessage: build.mutation<unknown, string>({
      query: (id) => ({ url: `messages/${encodeURIComponent(id)}/cancel`, method: "POST" }),
    }),

    regenerateMessage: build.mutation<Message | null, string>({
      query: (id) => ({ url: `messages/${encodeURIComponent(id)}/regenerate`, method: "POST" }),
    }),

    getModels: build.query<Model[], void>({
      query: () => "models",
      transformResponse: (response: { data?: Model[] } | Model[]) =>
        Array.isArray(response) ? response : (response.data ?? []),
      providesTags: ["Models"],
      keepUnusedDataFor: 3600,
    }),
  }),
});

export const {
  useGetDialogsInfiniteQuery,
  useGetDialogQuery,
  useCreateDialogMutation,
  useRenameDialogMutation,
  useSetDialogAgentMutation,
  useSetDialogInstructionsMutation,
  useDeleteDialogMutation,
  useGetMessagesInfiniteQuery,
  useSendMessageMutation,
  useCancelMessageMutation,
  useRegenerateMessageMutation,
  useGetModelsQuery,
} = chatApi;
