import type { UsageRow, UsageTotals } from "../../api/types";
import { t } from "../../i18n";

/** The figures behind the chart: one line per day and model, newest first, and the totals. */
export function UsageTable({ rows, totals }: { rows: UsageRow[]; totals: UsageTotals }) {
  if (rows.length === 0) return <p className="card__muted">{t.usage.none}</p>;
  return (
    <div className="table-wrap">
      <table className="table" data-testid="usage-table">
        <thead>
          <tr>
            <th scope="col">{t.usage.date}</th>
            <th scope="col">{t.usage.model}</th>
            <th scope="col" className="num">{t.usage.messages}</th>
            <th scope="col" className="num">{t.usage.prompt}</th>
            <th scope="col" className="num">{t.usage.completion}</th>
          </tr>
        </thead>
        <tbody>
          {[...rows].reverse().map((row) => (
            <tr key={`${row.date}-${row.model}`}>
              <td>{row.date}</td>
              <td>
                {row.model}
                {row.estimated_tokens > 0 && (
                  <span className="badge badge--warn" title={t.usage.estimatedHelp}>
                    {t.usage.estimated}
                  </span>
                )}
              </td>
              <td className="num">{row.messages.toLocaleString()}</td>
              <td className="num">{row.prompt_tokens.toLocaleString()}</td>
              <td className="num">{row.completion_tokens.toLocaleString()}</td>
            </tr>
          ))}
        </tbody>
        <tfoot>
          <tr>
            <th scope="row" colSpan={2}>
              {t.usage.total}
            </th>
            <td className="num" data-testid="usage-total-messages">{totals.messages.toLocaleString()}</td>
            <td className="num" data-testid="usage-total-prompt">{totals.prompt_tokens.toLocaleString()}</td>
            <td className="num" data-testid="usage-total-completion">{totals.completion_tokens.toLocaleString()}</td>
          </tr>
        </tfoot>
      </table>
    </div>
  );
}
