import { Link } from "react-router";
import { t } from "../i18n";
import { useDocumentTitle } from "../components/useDocumentTitle";

export function NotFoundPage() {
  useDocumentTitle(t.app.notFoundTitle);
  return (
    <main className="auth" id="main">
      <div className="auth__card">
        <h1 className="auth__title">{t.app.notFoundTitle}</h1>
        <p className="auth__intro">{t.app.notFoundBody}</p>
        <Link to="/chats" className="btn btn--primary btn--block">
          {t.app.goHome}
        </Link>
      </div>
    </main>
  );
}
