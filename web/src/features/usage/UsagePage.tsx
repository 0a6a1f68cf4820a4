import { useState } from "react";
import { errorMessage } from "../../api/errors";
import type { BudgetState } from "../../api/types";
import { t } from "../../i18n";
import { Alert } from "../../components/Alert";
import { PageHeader } from "../../components/PageHeader";
import { Spinner } from "../../components/Spinner";
import { useDocumentTitle } from "../../components/useDocumentTitle";
import { UsageChart } from "./UsageChart";
import { UsageTable } from "./UsageTable";
import { lastDays, useGetUsageQuery } from "./usageApi";

export const PERIODS = [7, 30, 90];

/** Usage: what the signed-in user's answers cost in tokens, per day and model, and their budget. */
export default function UsagePage() {
  useDocumentTitle(t.usage.title);
  const [days, setDays] = useState(30);
  const period = lastDays(days);
  const usage = useGetUsageQuery(period, { refetchOnMountOrArgChange: true });
  return (
    <section className="page" aria-labelledby="usage-title">
      <PageHeader title={<span id="usage-title">{t.usage.title}</span>}>
        <PeriodPicker days={days} onChange={setDays} />
      </PageHeader>
      <div className="page__body">
        {usage.isLoading && <Spinner />}
        {usage.isError && <Alert tone="error">{errorMessage(usage.error)}</Alert>}
        {usage.data?.budget && <BudgetCard budget={usage.data.budget} />}
        {usage.data && (
          <section className="card" aria-labelledby="usage-chart-title">
            <h2 className="card__title" id="usage-chart-title">
              {t.usage.perDay}
            </h2>
            <UsageChart rows={usage.data.data} from={period.from} to={period.to} />
            <UsageTable rows={usage.data.data} totals={usage.data.totals} />
          </section>
        )}
      </div>
    </section>
  );
}

export function PeriodPicker({ days, onChange }: { days: number; onChange: (days: number) => void }) {
  return (
    <div className="segmented" role="group" aria-label={t.usage.period}>
      {PERIODS.map((n) => (
        <button
          key={n}
          type="button"
          className={`btn btn--small ${n === days ? "btn--primary" : "btn--ghost"}`}
          aria-pressed={n === days}
          onClick={() => onChange(n)}
          data-testid={`usage-period-${n}`}
        >
          {t.usage.lastDays(n)}
        </button>
      ))}
    </div>
  );
}

/** The day a month's count starts again (budgets follow UTC months). */
export function resetDay(iso: string): string {
  return new Date(iso).toLocaleDateString(undefined, { timeZone: "UTC", dateStyle: "long" });
}

function BudgetCard({ budget }: { budget: BudgetState }) {
  const limit = budget.monthly_tokens;
  const spent = limit !== null && budget.used >= limit;
  return (
    <section className="card" aria-labelledby="budget-title" data-testid="budget-card">
      <h2 className="card__title" id="budget-title">
        {t.usage.budget}
      </h2>
      {limit === null ? (
        <p className="card__intro">{t.usage.unlimited(budget.used.toLocaleString())}</p>
      ) : (
        <>
          <p className="card__intro" data-testid="budget-text">
            {t.usage.budgetUsed(budget.used.toLocaleString(), limit.toLocaleString())}
          </p>
          <progress className={`meter${spent ? " meter--full" : ""}`} max={Math.max(limit, 1)} value={Math.min(budget.used, limit)} aria-label={t.usage.budget} />
          {spent && <Alert tone="error">{t.usage.spent(resetDay(budget.resets_at))}</Alert>}
        </>
      )}
      {!spent && <p className="card__muted">{t.usage.resets(resetDay(budget.resets_at))}</p>}
    </section>
  );
}
