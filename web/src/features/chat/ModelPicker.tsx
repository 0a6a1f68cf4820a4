import { useId } from "react";
import { DEMO_MODEL_ID, type Model } from "../../api/types";
import { useAppDispatch, useAppSelector } from "../../app/hooks";
import { t } from "../../i18n";
import { modelChosen, selectChosenModel } from "../../app/uiSlice";
import { useGetModelsQuery } from "./chatApi";

export function isDemoModel(id: string | null | undefined): boolean {
  return id === DEMO_MODEL_ID;
}

export function modelLabel(model: Pick<Model, "id" | "name"> | string): string {
  const id = typeof model === "string" ? model : model.id;
  if (isDemoModel(id)) return t.models.demoOption;
  return typeof model === "string" ? model : model.name || model.id;
}

export function DemoBadge() {
  return (
    <span className="badge badge--demo" data-testid="demo-badge" title={t.models.demoLong}>
      {t.models.demo}
    </span>
  );
}

/** The model for the next message: the user's choice if still offered, else the server default. */
export function useEffectiveModel(): { models: Model[]; model: string | null; chosen: string | null } {
  const chosen = useAppSelector(selectChosenModel);
  const { data: models = [] } = useGetModelsQuery();
  const offered = chosen !== null && models.some((m) => m.id === chosen);
  const fallback = models.find((m) => m.default)?.id ?? models[0]?.id ?? null;
  return { models, model: offered ? chosen : fallback, chosen: offered ? chosen : null };
}

function ModelOption({ model }: { model: Model }) {
  return (
    <option value={model.id}>
      {modelLabel(model)}
      {model.default ? ` (${t.models.defaultSuffix})` : ""}
    </option>
  );
}

/** The models under their providers, in the server's order; one provider needs no headings. */
export function groupByProvider(models: Model[]): [string | null, Model[]][] {
  const groups = new Map<string, Model[]>();
  for (const m of models) {
    const provider = m.provider ?? "";
    groups.set(provider, [...(groups.get(provider) ?? []), m]);
  }
  if (groups.size <= 1) return [[null, models]];
  return [...groups.entries()];
}

export function ModelPicker() {
  const id = useId();
  const dispatch = useAppDispatch();
  const { isError, isLoading } = useGetModelsQuery();
  const { models, model } = useEffectiveModel();
  if (isLoading) return null;
  if (isError || models.length === 0) {
    return <span className="model-picker model-picker--unavailable">{t.models.loadError}</span>;
  }
  return (
    <div className="model-picker">
      <label htmlFor={id} className="model-picker__label">
        {t.models.label}
      </label>
      <select
        id={id}
        className="select"
        value={model ?? ""}
        data-testid="model-picker"
        title={isDemoModel(model) ? t.models.demoLong : undefined}
        onChange={(event) => dispatch(modelChosen(event.target.value || null))}
      >
        {groupByProvider(models).map(([provider, group]) =>
          provider === null ? (
            group.map((m) => <ModelOption key={m.id} model={m} />)
          ) : (
            <optgroup key={provider} label={provider}>
              {group.map((m) => (
                <ModelOption key={m.id} model={m} />
              ))}
            </optgroup>
          ),
        )}
      </select>
      {isDemoModel(model) && <DemoBadge />}
    </div>
  );
}
