import { useEffect } from "react";
import { Outlet, useLocation } from "react-router";
import { useGetMeQuery } from "../../features/auth/authApi";
import { selectUser } from "../../features/auth/authSlice";
import { preloadMarkdown } from "../../features/markdown/LazyMarkdown";
import { drawerToggled, selectDrawerOpen } from "../uiSlice";
import { useMediaQuery } from "../../components/useMediaQuery";
import { t } from "../../i18n";
import { DRAWER_MEDIA_QUERY } from "../config";
import { useAppDispatch, useAppSelector } from "../hooks";
import { Sidebar } from "./Sidebar";

/** The signed-in layout: sidebar (a drawer below 768 px) and the page. */
export function AppShell() {
  const dispatch = useAppDispatch();
  const drawer = useMediaQuery(DRAWER_MEDIA_QUERY);
  const open = useAppSelector(selectDrawerOpen);
  const user = useAppSelector(selectUser);
  const location = useLocation();

  // While the email is unconfirmed, re-read the user when the tab regains focus: confirming in
  // another tab then removes the banner here.
  useGetMeQuery(undefined, { skip: !user || user.is_email_confirmed, refetchOnFocus: true });

  useEffect(preloadMarkdown, []);

  useEffect(() => {
    dispatch(drawerToggled(false));
  }, [location.pathname, dispatch]);

  const drawerOpen = drawer && open;
  return (
    <div className={`shell${drawerOpen ? " shell--drawer-open" : ""}`}>
      <a className="skip-link" href="#main">
        {t.app.skipToContent}
      </a>
      <Sidebar drawer={drawer} open={open} />
      {drawerOpen && (
        <button
          type="button"
          className="shell__backdrop"
          aria-label={t.nav.closeMenu}
          tabIndex={-1}
          onClick={() => dispatch(drawerToggled(false))}
        />
      )}
      <main id="main" className="shell__main" tabIndex={-1} inert={drawerOpen}>
        <Outlet />
      </main>
    </div>
  );
}
