import { lazy, Suspense, useEffect } from "react";
import { Navigate, Route, Routes } from "react-router";
import { EmailVerifyPage } from "../features/auth/EmailVerifyPage";
import { ForgotPasswordPage } from "../features/auth/ForgotPasswordPage";
import { LoginPage } from "../features/auth/LoginPage";
import { LogoutPage } from "../features/auth/LogoutPage";
import { RegisterPage } from "../features/auth/RegisterPage";
import { ResetPasswordPage } from "../features/auth/ResetPasswordPage";
import { selectAuthStatus } from "../features/auth/authSlice";
import { restoreSession } from "../features/auth/sessionThunks";
import { ChatPage } from "../features/chat/ChatPage";
import { selectTheme } from "./uiSlice";
import { FullPageSpinner } from "../components/Spinner";
import { t } from "../i18n";
import { GuestOnly, RequireAuth } from "./guards";
import { useAppDispatch, useAppSelector } from "./hooks";
import { AppShell } from "./layout/AppShell";
import { NotFoundPage } from "./NotFoundPage";
import { applyTheme } from "./preferences";

// Visited less often than the chats: their code loads when first opened.
const ProfilePage = lazy(() => import("../features/profile/ProfilePage"));
const SettingsPage = lazy(() => import("../features/settings/SettingsPage"));
const AgentsPage = lazy(() => import("../features/agents/AgentsPage"));
const UsagePage = lazy(() => import("../features/usage/UsagePage"));
const AdminPage = lazy(() => import("../features/admin/AdminPage"));

function useTheme() {
  const theme = useAppSelector(selectTheme);
  useEffect(() => {
    applyTheme(theme);
    if (theme !== "system" || typeof window.matchMedia !== "function") return;
    const media = window.matchMedia("(prefers-color-scheme: dark)");
    const onChange = () => applyTheme("system");
    media.addEventListener("change", onChange);
    return () => media.removeEventListener("change", onChange);
  }, [theme]);
}

function Offline() {
  const dispatch = useAppDispatch();
  return (
    <main className="auth" id="main">
      <div className="auth__card" role="alert" data-testid="offline">
        <h1 className="auth__title">{t.app.offlineTitle}</h1>
        <p className="auth__intro">{t.app.offlineBody}</p>
        <button type="button" className="btn btn--primary btn--block" onClick={() => void dispatch(restoreSession())}>
          {t.app.retry}
        </button>
      </div>
    </main>
  );
}

export function AppRoutes() {
  return (
    <Suspense fallback={<FullPageSpinner />}>
      <Routes>
        <Route element={<GuestOnly />}>
          <Route path="/login" element={<LoginPage />} />
          <Route path="/register" element={<RegisterPage />} />
        </Route>
        <Route path="/forget-password" element={<ForgotPasswordPage />} />
        <Route path="/password-reset/:token" element={<ResetPasswordPage />} />
        <Route path="/email-verify/:token" element={<EmailVerifyPage />} />
        <Route path="/logout" element={<LogoutPage />} />
        <Route element={<RequireAuth />}>
          <Route element={<AppShell />}>
            <Route path="/chats" element={<ChatPage />} />
            <Route path="/chats/:id" element={<ChatPage />} />
            <Route path="/profile" element={<ProfilePage />} />
            <Route path="/settings" element={<SettingsPage />} />
            <Route path="/agents" element={<AgentsPage />} />
            <Route path="/usage" element={<UsagePage />} />
            <Route path="/admin" element={<AdminPage />} />
          </Route>
        </Route>
        <Route path="/" element={<Navigate to="/chats" replace />} />
        <Route path="*" element={<NotFoundPage />} />
      </Routes>
    </Suspense>
  );
}

/** Restores the session once (refresh cookie), then shows the routes. */
export function App() {
  const dispatch = useAppDispatch();
  const status = useAppSelector(selectAuthStatus);
  useTheme();

  useEffect(() => {
    void dispatch(restoreSession());
  }, [dispatch]);

  if (status === "unknown") return <FullPageSpinner />;
  if (status === "offline") return <Offline />;
  return <AppRoutes />;
}
