import { useEffect, useRef } from "react";
import { Link, NavLink } from "react-router";
import { t } from "../../i18n";
import { selectUser } from "../../features/auth/authSlice";
import { DialogList } from "../../features/chat/DialogList";
import { drawerToggled } from "../uiSlice";
import { Avatar } from "../../components/Avatar";
import { Icon } from "../../components/Icon";
import { useAppDispatch, useAppSelector } from "../hooks";

/** Chats and account links. On narrow screens it is a drawer (see AppShell). */
export function Sidebar({ drawer, open }: { drawer: boolean; open: boolean }) {
  const dispatch = useAppDispatch();
  const user = useAppSelector(selectUser);
  const newChatRef = useRef<HTMLAnchorElement>(null);
  const returnFocus = useRef(false);
  const close = () => dispatch(drawerToggled(false));

  useEffect(() => {
    if (!drawer || !open) return;
    newChatRef.current?.focus();
    const onKey = (event: KeyboardEvent) => {
      if (event.key !== "Escape" || event.defaultPrevented) return;
      returnFocus.current = true;
      dispatch(drawerToggled(false));
    };
    document.addEventListener("keydown", onKey);
    return () => {
      document.removeEventListener("keydown", onKey);
      // runs after the closed drawer is rendered, when <main> is no longer inert
      if (returnFocus.current) {
        returnFocus.current = false;
        document.getElementById("open-sidebar")?.focus();
      }
    };
  }, [drawer, open, dispatch]);

  const displayName = user ? [user.profile.first_name, user.profile.last_name].filter(Boolean).join(" ") || user.username : "";
  return (
    <aside
      id="sidebar"
      className={`sidebar${drawer ? " sidebar--drawer" : ""}${drawer && open ? " sidebar--open" : ""}`}
      aria-label={t.nav.sidebar}
      data-testid="sidebar"
    >
      <div className="sidebar__top">
        <Link to="/chats" className="brand" aria-label={t.app.name}>
          <img src="/favicon.svg" alt="" className="brand__logo" width="28" height="28" />
          <span className="brand__name">{t.app.name}</span>
        </Link>
        {drawer && (
          <button type="button" className="btn btn--ghost btn--icon" aria-label={t.nav.closeMenu} onClick={close} data-testid="close-sidebar">
            <Icon name="close" />
          </button>
        )}
      </div>
      <Link to="/chats" className="btn btn--primary sidebar__new" ref={newChatRef} data-testid="new-chat">
        <Icon name="plus" /> {t.nav.newChat}
      </Link>
      <DialogList />
      {user && (
        <div className="sidebar__account" aria-label={t.nav.accountMenu} role="group">
          <div className="sidebar__user" data-testid="current-user">
            <Avatar user={user} size="sm" />
            <span className="sidebar__username">{displayName}</span>
          </div>
          <ul className="sidebar__links">
            <li>
              <NavLink to="/agents" className="sidebar__link" data-testid="nav-agents">
                <Icon name="agents" /> {t.nav.agents}
              </NavLink>
            </li>
            <li>
              <NavLink to="/usage" className="sidebar__link" data-testid="nav-usage">
                <Icon name="chart" /> {t.nav.usage}
              </NavLink>
            </li>
            {user.is_staff && (
              <li>
                <NavLink to="/admin" className="sidebar__link" data-testid="nav-admin">
                  <Icon name="shield" /> {t.nav.admin}
                </NavLink>
              </li>
            )}
            <li>
              <NavLink to="/profile" className="sidebar__link" data-testid="nav-profile">
                <Icon name="user" /> {t.nav.profile}
              </NavLink>
            </li>
            <li>
              <NavLink to="/settings" className="sidebar__link" data-testid="nav-settings">
                <Icon name="settings" /> {t.nav.settings}
              </NavLink>
            </li>
            <li>
              <Link to="/logout" className="sidebar__link" data-testid="nav-logout">
                <Icon name="logout" /> {t.nav.logout}
              </Link>
            </li>
          </ul>
        </div>
      )}
    </aside>
  );
}
