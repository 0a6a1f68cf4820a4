import type { ReactNode } from "react";
import { Link } from "react-router";
import { t } from "../../i18n";
import { useDocumentTitle } from "../../components/useDocumentTitle";

/** The centred card used by the sign-in, registration and password pages. */
export function AuthLayout({ title, children, footer }: { title: string; children: ReactNode; footer?: ReactNode }) {
  useDocumentTitle(title);
  return (
    <main className="auth" id="main">
      <div className="auth__card">
        <Link to="/" className="brand brand--center" aria-label={t.app.name}>
          <img src="/favicon.svg" alt="" className="brand__logo" width="36" height="36" />
          <span className="brand__name">{t.app.name}</span>
        </Link>
        <h1 className="auth__title">{title}</h1>
        {children}
        {footer && <div className="auth__footer">{footer}</div>}
      </div>
    </main>
  );
}
