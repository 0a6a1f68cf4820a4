import { useEffect, useRef } from "react";
import { useNavigate } from "react-router";
import { useAppDispatch, useAppSelector } from "../../app/hooks";
import { t } from "../../i18n";
import { FullPageSpinner } from "../../components/Spinner";
import { selectIsAuthenticated } from "./authSlice";
import { logout } from "./sessionThunks";

/** `/logout`: ends the session on the server and locally, then shows the sign-in page. */
export function LogoutPage() {
  const dispatch = useAppDispatch();
  const navigate = useNavigate();
  const signedIn = useAppSelector(selectIsAuthenticated);
  const started = useRef(false);

  useEffect(() => {
    if (started.current) return;
    started.current = true;
    if (!signedIn) {
      void navigate("/login", { replace: true });
      return;
    }
    void dispatch(logout()).then(() => navigate("/login", { replace: true }));
  }, [dispatch, navigate, signedIn]);

  return (
    <div aria-label={t.auth.logoutBusy}>
      <FullPageSpinner />
    </div>
  );
}
