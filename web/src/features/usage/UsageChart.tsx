import type { UsageRow } from "../../api/types";
import { t } from "../../i18n";

// distinguishable in light and dark themes, and without relying on colour alone (the table)
const COLOURS = ["#2563eb", "#16a34a", "#d97706", "#9333ea", "#dc2626", "#0891b2", "#65a30d", "#db2777"];
const WIDTH = 720;
const HEIGHT = 220;
const LEFT = 56;
const BOTTOM = 24;

export function formatTokens(n: number): string {
  if (n >= 1_000_000) return `${(n / 1_000_000).toFixed(n >= 10_000_000 ? 0 : 1)}M`;
  if (n >= 1_000) return `${(n / 1_000).toFixed(n >= 10_000 ? 0 : 1)}k`;
  return String(n);
}

function daysBetween(from: string, to: string): string[] {
  const days: string[] = [];
  for (let d = new Date(`${from}T00:00:00Z`); d <= new Date(`${to}T00:00:00Z`); d = new Date(d.getTime() + 86_400_000)) {
    days.push(d.toISOString().slice(0, 10));
  }
  return days;
}

/** Tokens per day, stacked by model: an SVG bar chart with a legend (the table beside it has the figures). */
export function UsageChart({ rows, from, to }: { rows: UsageRow[]; from: string; to: string }) {
  const days = daysBetween(from, to);
  const models = [...new Set(rows.map((r) => r.model))].sort();
  const colour = (model: string) => COLOURS[models.indexOf(model) % COLOURS.length];
  const byDay = new Map<string, UsageRow[]>();
  for (const row of rows) byDay.set(row.date, [...(byDay.get(row.date) ?? []), row]);
  const total = (row: UsageRow) => row.prompt_tokens + row.completion_tokens;
  const max = Math.max(1, ...days.map((d) => (byDay.get(d) ?? []).reduce((sum, r) => sum + total(r), 0)));
  const plotWidth = WIDTH - LEFT - 8;
  const plotHeight = HEIGHT - BOTTOM - 8;
  const slot = plotWidth / days.length;
  const barWidth = Math.max(2, slot * 0.7);
  const y = (tokens: number) => 8 + plotHeight - (tokens / max) * plotHeight;
  const labelEvery = Math.ceil(days.length / 8);

  return (
    <figure className="usage-chart" data-testid="usage-chart">
      <svg viewBox={`0 0 ${WIDTH} ${HEIGHT}`} role="img" aria-label={t.usage.chartLabel}>
        {[0, 0.5, 1].map((f) => (
          <g key={f}>
            <line x1={LEFT} x2={WIDTH - 8} y1={y(max * f)} y2={y(max * f)} className="usage-chart__grid" />
            <text x={LEFT - 6} y={y(max * f) + 4} textAnchor="end" className="usage-chart__axis">
              {formatTokens(Math.round(max * f))}
            </text>
          </g>
        ))}
        {days.map((day, i) => {
          let base = 0;
          const x = LEFT + i * slot + (slot - barWidth) / 2;
          return (
            <g key={day}>
              {(byDay.get(day) ?? []).map((row) => {
                const top = y(base + total(row));
                const height = y(base) - top;
                base += total(row);
                return (
                  <rect key={row.model} x={x} y={top} width={barWidth} height={height} fill={colour(row.model)} data-testid="usage-bar">
                    <title>{`${day} · ${row.model}: ${total(row).toLocaleString()} ${t.usage.tokens}`}</title>
                  </rect>
                );
              })}
              {i % labelEvery === 0 && (
                <text x={x + barWidth / 2} y={HEIGHT - 6} textAnchor="middle" className="usage-chart__axis">
                  {day.slice(5)}
                </text>
              )}
            </g>
          );
        })}
      </svg>
      {models.length > 0 && (
        <figcaption className="usage-chart__legend">
          {models.map((model) => (
            <span key={model} className="usage-chart__key">
              <svg className="usage-chart__swatch" viewBox="0 0 10 10" aria-hidden="true">
                <rect width="10" height="10" rx="2" fill={colour(model)} />
              </svg>
              {model}
            </span>
          ))}
        </figcaption>
      )}
    </figure>
  );
}
