import type { ReactNode } from "react";
import { useAppDispatch, useAppSelector } from "../app/hooks";
import { t } from "../i18n";
import { Icon } from "./Icon";
import { drawerToggled, selectDrawerOpen } from "../app/uiSlice";

/** The top bar of a page; on narrow screens it carries the button that opens the sidebar drawer. */
export function PageHeader({ title, children, testId }: { title: ReactNode; children?: ReactNode; testId?: string }) {
  const dispatch = useAppDispatch();
  const open = useAppSelector(selectDrawerOpen);
  return (
    <header className="page-header">
      <button
        type="button"
        className="btn btn--ghost btn--icon page-header__menu"
        aria-label={t.nav.openMenu}
        aria-expanded={open}
        aria-controls="sidebar"
        onClick={() => dispatch(drawerToggled(true))}
        data-testid="open-sidebar"
        id="open-sidebar"
      >
        <Icon name="menu" />
      </button>
      <h1 className="page-header__title" data-testid={testId}>
        {title}
      </h1>
      {children && <div className="page-header__actions">{children}</div>}
    </header>
  );
}
