import { api } from "../../api/api";
import type { Profile, User } from "../../api/types";
import { profileUpdated, userUpdated } from "../auth/authSlice";

export const profileApi = api.injectEndpoints({
  endpoints: (build) => ({
    updateMe: build.mutation<User, { username: string }>({
      query: (body) => ({ url: "users/me", method: "PATCH", body }),
      async onQueryStarted(_arg, { dispatch, queryFulfilled }) {
        try {
          dispatch(userUpdated((await queryFulfilled).data));
        } catch {
          // Shown by the form.
        }
      },
    }),
    updateProfile: build.mutation<Profile, { first_name: string; last_name: string }>({
      query: (body) => ({ url: "users/me/profile", method: "PATCH", body }),
      async onQueryStarted(_arg, { dispatch, queryFulfilled }) {
        try {
          dispatch(profileUpdated((await queryFulfilled).data));
        } catch {
          // Shown by the form.
        }
      },
    }),
    uploadAvatar: build.mutation<Profile, File>({
      query: (file) => {
        const body = new FormData();
        body.append("file", file, file.name);
        return { url: "users/me/avatar", method: "PUT", body };
      },
      async onQueryStarted(_arg, { dispatch, queryFulfilled }) {
        try {
          dispatch(profileUpdated((await queryFulfilled).data));
        } catch {
          // Shown by the form.
        }
      },
    }),
    deleteAvatar: build.mutation<Profile | null, void>({
      query: () => ({ url: "users/me/avatar", method: "DELETE" }),
      async onQueryStarted(_arg, lifecycle) {
        const { dispatch, queryFulfilled } = lifecycle;
        try {
          const { data } = await queryFulfilled;
          const current = (lifecycle.getState() as unknown as { auth: { user: User | null } }).auth.user?.profile;
          if (data) dispatch(profileUpdated(data));
          else if (current) dispatch(profileUpdated({ ...current, avatar_url: null }));
        } catch {
          // Shown by the form.
        }
      },
    }),
  }),
});

export const { useUpdateMeMutation, useUpdateProfileMutation, useUploadAvatarMutation, useDeleteAvatarMutation } = profileApi;
