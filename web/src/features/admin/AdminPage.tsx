import { useState, type SyntheticEvent } from "react";
import { errorMessage, fieldErrors } from "../../api/errors";
import type { AdminUser } from "../../api/types";
import { t } from "../../i18n";
import { Alert } from "../../components/Alert";
import { PageHeader } from "../../components/PageHeader";
import { Spinner } from "../../components/Spinner";
import { useDocumentTitle } from "../../components/useDocumentTitle";
import { selectUser } from "../auth/authSlice";
import { useAppSelector } from "../../app/hooks";
import { formatDateTime } from "../chat/groupByDay";
import { UsageChart, formatTokens } from "../usage/UsageChart";
import { PeriodPicker } from "../usage/UsagePage";
import { lastDays, useGetAdminUsageQuery, useGetBudgetQuery, useSetBudgetMutation } from "../usage/usageApi";
import { useGetUsersQuery, useUpdateUserMutation } from "./adminApi";

/** Staff only: the users (search, deactivate, staff flag, budget) and usage across them. */
export default function AdminPage() {
  useDocumentTitle(t.admin.title);
  const me = useAppSelector(selectUser);
  if (!me?.is_staff) {
    return (
      <section className="page">
        <PageHeader title={t.admin.title} />
        <div className="page__body">
          <Alert tone="error">{t.admin.staffOnly}</Alert>
        </div>
      </section>
    );
  }
  return (
    <section className="page" aria-labelledby="admin-title">
      <PageHeader title={<span id="admin-title">{t.admin.title}</span>} />
      <div className="page__body page__body--wide">
        <UsersCard />
        <UsageAcrossUsers />
      </div>
    </section>
  );
}

function UsersCard() {
  const [search, setSearch] = useState("");
  const [query, setQuery] = useState("");
  const [cursor, setCursor] = useState<string | null>(null);
  const users = useGetUsersQuery({ q: query, cursor });
  const submit = (event: SyntheticEvent) => {
    event.preventDefault();
    setCursor(null);
    setQuery(search.trim());
  };
  return (
    <section className="card" aria-labelledby="admin-users-title">
      <h2 className="card__title" id="admin-users-title">
        {t.admin.users}
      </h2>
      <form className="search-row" role="search" onSubmit={submit}>
        <input
          className="input"
          type="search"
          value={search}
          onChange={(e) => setSearch(e.target.value)}
          placeholder={t.admin.searchPlaceholder}
          aria-label={t.admin.search}
          maxLength={254}
          data-testid="admin-search"
        />
        <button type="submit" className="btn btn--secondary">
          {t.admin.search}
        </button>
      </form>
      {users.isLoading && <Spinner />}
      {users.isError && <Alert tone="error">{errorMessage(users.error)}</Alert>}
      {users.data?.data.length === 0 && <p className="card__muted">{t.admin.noUsers}</p>}
      <ul className="rows" data-testid="admin-users">
        {users.data?.data.map((user) => (
          <UserRow key={user.id} user={user} />
        ))}
      </ul>
      {users.data?.next_cursor && (
        <button type="button" className="btn btn--ghost" onClick={() => setCursor(users.data?.next_cursor ?? null)}>
          {t.admin.more}
        </button>
      )}
    </section>
  );
}

function UserRow({ user }: { user: AdminUser }) {
  const me = useAppSelector(selectUser);
  const [update, updating] = useUpdateUserMutation();
  const [open, setOpen] = useState(false);
  const self = me?.id === user.id;
  return (
    <li className="row row--stacked" data-testid="admin-user">
      <div className="row__line">
        <div className="row__main">
          <p className="row__title">
            {user.username}{" "}
            {user.is_staff && <span className="badge badge--ok">{t.admin.staff}</span>}
            {!user.is_active && <span className="badge badge--error">{t.admin.inactive}</span>}
            {!user.is_email_confirmed && <span className="badge badge--warn">{t.admin.unconfirmed}</span>}
          </p>
          <p className="row__meta">
            {user.email} · {t.admin.joined(formatDateTime(user.created_at))}
          </p>
        </div>
        <div className="button-row">
          <button type="button" className="btn btn--ghost btn--small" aria-expanded={open} onClick={() => setOpen((o) => !o)} data-testid="admin-budget-toggle">
            {t.admin.budget}
          </button>
          <button
            type="button"
            className="btn btn--ghost btn--small"
            disabled={self || updating.isLoading}
            title={self ? t.admin.notYourself : undefined}
            onClick={() => void update({ id: user.id, is_staff: !user.is_staff })}
            data-testid="admin-staff-toggle"
          >
            {user.is_staff ? t.admin.removeStaff : t.admin.makeStaff}
          </button>
          <button
            type="button"
            className={`btn btn--small ${user.is_active ? "btn--danger" : "btn--secondary"}`}
            disabled={self || updating.isLoading}
            title={self ? t.admin.notYourself : undefined}
            onClick={() => void update({ id: user.id, is_active: !user.is_active })}
            data-testid="admin-active-toggle"
          >
            {user.is_active ? t.admin.deactivate : t.admin.activate}
          </button>
        </div>
      </div>
      {updating.isError && <Alert tone="error">{errorMessage(updating.error)}</Alert>}
      {open && <BudgetEditor userId={user.id} />}
    </li>
  );
}

function BudgetEditor({ userId }: { userId: string }) {
  const budget = useGetBudgetQuery(userId);
  const [save, saving] = useSetBudgetMutation();
  const [value, setValue] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const shown = value ?? (budget.data?.overridden ? String(budget.data.monthly_tokens) : "");
  const submit = async (event: SyntheticEvent, tokens: number | null) => {
    event.preventDefault();
    if (tokens !== null && (!Number.isInteger(tokens) || tokens < 0)) {
      setError(t.admin.budgetInvalid);
      return;
    }
    setError(null);
    const result = await save({ userId, monthly_tokens: tokens });
    if ("error" in result) setError(fieldErrors(result.error).monthly_tokens ?? errorMessage(result.error));
    else setValue(null);
  };
  if (budget.isLoading) return <Spinner />;
  if (budget.isError) return <Alert tone="error">{errorMessage(budget.error)}</Alert>;
  const state = budget.data;
  return (
    <form className="budget-editor" onSubmit={(e) => void submit(e, shown.trim() === "" ? null : Number(shown))} noValidate data-testid="admin-budget">
      <p className="row__meta" data-testid="admin-budget-state">
        {state &&
          (state.monthly_tokens === null
            ? t.admin.budgetNone(state.used.toLocaleString())
            : t.admin.budgetState(state.used.toLocaleString(), state.monthly_tokens.toLocaleString(), state.overridden))}
      </p>
      <div className="search-row">
        <input
          className="input"
          type="number"
          min={0}
          step={1000}
          inputMode="numeric"
          placeholder={t.admin.budgetDefault}
          value={shown}
          onChange={(e) => setValue(e.target.value)}
          aria-label={t.admin.budgetLabel}
          aria-invalid={error ? true : undefined}
          data-testid="admin-budget-input"
        />
        <button type="submit" className="btn btn--primary btn--small" disabled={saving.isLoading} data-testid="admin-budget-save">
          {t.common.save}
        </button>
        {state?.overridden && (
          <button type="button" className="btn btn--ghost btn--small" disabled={saving.isLoading} onClick={(e) => void submit(e, null)}>
            {t.admin.budgetReset}
          </button>
        )}
      </div>
      {error && (
        <p className="field__error" role="alert">
          {error}
        </p>
      )}
    </form>
  );
}

function UsageAcrossUsers() {
  const [days, setDays] = useState(30);
  const period = lastDays(days);
  const usage = useGetAdminUsageQuery(period, { refetchOnMountOrArgChange: true });
  const users = useGetUsersQuery({ q: "" });
  const names = new Map(users.data?.data.map((u) => [u.id, u.username]));
  return (
    <section className="card" aria-labelledby="admin-usage-title">
      <div className="card__head">
        <h2 className="card__title" id="admin-usage-title">
          {t.admin.usage}
        </h2>
        <PeriodPicker days={days} onChange={setDays} />
      </div>
      {usage.isLoading && <Spinner />}
      {usage.isError && <Alert tone="error">{errorMessage(usage.error)}</Alert>}
      {usage.data && (
        <>
          <UsageChart rows={usage.data.data} from={period.from} to={period.to} />
          <p className="card__muted" data-testid="admin-usage-totals">
            {t.admin.usageTotals(usage.data.totals.messages.toLocaleString(), formatTokens(usage.data.totals.prompt_tokens + usage.data.totals.completion_tokens))}
          </p>
          {usage.data.users.length > 0 && (
            <div className="table-wrap">
              <table className="table" data-testid="admin-usage-users">
                <thead>
                  <tr>
                    <th scope="col">{t.admin.user}</th>
                    <th scope="col" className="num">{t.usage.messages}</th>
                    <th scope="col" className="num">{t.usage.prompt}</th>
                    <th scope="col" className="num">{t.usage.completion}</th>
                  </tr>
                </thead>
                <tbody>
                  {usage.data.users.map((row) => (
                    <tr key={row.user_id}>
                      <td>{names.get(row.user_id) ?? <code>{row.user_id.slice(0, 8)}</code>}</td>
                      <td className="num">{row.messages.toLocaleString()}</td>
                      <td className="num">{row.prompt_tokens.toLocaleString()}</td>
                      <td className="num">{row.completion_tokens.toLocaleString()}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
        </>
      )}
    </section>
  );
}
