import { api } from "../../api/api";
import type { TokenResponse, User } from "../../api/types";
import { announceUserChanged } from "./accountChannel";
import { credentialsReceived, userUpdated } from "./authSlice";

export interface LoginBody {
  email: string;
  password: string;
}

export interface RegisterBody {
  email: string;
  username: string;
  password: string;
}

async function storeCredentials(
  queryFulfilled: Promise<{ data: TokenResponse }>,
  dispatch: (action: ReturnType<typeof credentialsReceived>) => unknown,
): Promise<void> {
  try {
    const { data } = await queryFulfilled;
    dispatch(credentialsReceived(data));
  } catch {
    // The form shows the error.
  }
}

export const authApi = api.injectEndpoints({
  endpoints: (build) => ({
    login: build.mutation<TokenResponse, LoginBody>({
      query: (body) => ({ url: "auth/login", method: "POST", body, credentials: "include" }),
      onQueryStarted: (_arg, { dispatch, queryFulfilled }) => storeCredentials(queryFulfilled, dispatch),
    }),
    register: build.mutation<TokenResponse, RegisterBody>({
      query: (body) => ({ url: "auth/register", method: "POST", body, credentials: "include" }),
      onQueryStarted: (_arg, { dispatch, queryFulfilled }) => storeCredentials(queryFulfilled, dispatch),
    }),
    forgotPassword: build.mutation<null, { email: string }>({
      query: (body) => ({ url: "auth/password/forgot", method: "POST", body }),
    }),
    resetPassword: build.mutation<null, { token: string; password: string }>({
      query: (body) => ({ url: "auth/password/reset", method: "POST", body }),
    }),
    confirmEmail: build.mutation<User, { token: string }>({
      query: (body) => ({ url: "auth/email/confirm", method: "POST", body }),
      async onQueryStarted(_arg, { dispatch, queryFulfilled }) {
        try {
          const { data } = await queryFulfilled;
          // Updates the signed-in user if it is the same account (the reducer checks the id),
          // here and in the app's other tabs.
          dispatch(userUpdated(data));
          announceUserChanged(data);
        } catch {
          // Shown by the page.
        }
      },
    }),
    resendConfirmation: build.mutation<null, void>({
      query: () => ({ url: "auth/email/resend", method: "POST" }),
    }),
    getMe: build.query<User, void>({
      query: () => "users/me",
      providesTags: ["Me"],
      async onQueryStarted(_arg, { dispatch, queryFulfilled }) {
        try {
          const { data } = await queryFulfilled;
          dispatch(userUpdated(data));
        } catch {
          // Handled by the base query (401) or ignored.
        }
      },
    }),
  }),
});

export const {
  useLoginMutation,
  useRegisterMutation,
  useForgotPasswordMutation,
  useResetPasswordMutation,
  useConfirmEmailMutation,
  useResendConfirmationMutation,
  useGetMeQuery,
} = authApi;
