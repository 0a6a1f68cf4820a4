import { t } from "../i18n";

export function Spinner({ label = t.common.loading, inline = false }: { label?: string; inline?: boolean }) {
  return (
    <span className={inline ? "spinner spinner--inline" : "spinner"} role="status">
      <span className="spinner__dot" aria-hidden="true" />
      <span className="visually-hidden">{label}</span>
    </span>
  );
}

export function FullPageSpinner() {
  return (
    <div className="full-page-center" data-testid="app-loading">
      <Spinner />
    </div>
  );
}
