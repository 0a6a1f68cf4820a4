import { useEffect } from "react";
import { t } from "../i18n";

export function useDocumentTitle(title: string | null | undefined): void {
  useEffect(() => {
    document.title = title ? `${title} · ${t.app.name}` : t.app.name;
  }, [title]);
}
