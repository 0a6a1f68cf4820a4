import { createApi } from "@reduxjs/toolkit/query/react";
import { baseQueryWithReauth } from "./baseQuery";

/**
 * The one RTK Query API of the app. Features add their endpoints with `injectEndpoints`
 * (see `features/<feature>/*Api.ts`), so this file stays small and knows no feature.
 */
export const api = createApi({
  reducerPath: "api",
  baseQuery: baseQueryWithReauth,
  tagTypes: ["Me", "Profile", "Dialog", "Models", "Agents", "Sessions", "Webhooks", "Deliveries", "Keys", "Usage", "AdminUsers", "Budget"],
  refetchOnReconnect: true,
  endpoints: () => ({}),
});
