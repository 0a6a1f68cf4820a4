import { useId } from "react";
import { t } from "../../i18n";
import { useGetAgentsQuery } from "./agentsApi";

/** Who answers the messages of a dialog that name nobody. */
export function AgentPicker({ value, onChange }: { value: string | null; onChange: (agentId: string) => void }) {
  const id = useId();
  const { data: agents = [] } = useGetAgentsQuery();
  if (agents.length <= 1) return null; // the assistant alone: nothing to choose
  return (
    <div className="model-picker">
      <label htmlFor={id} className="model-picker__label">
        {t.agents.picker}
      </label>
      <select
        id={id}
        className="select"
        value={value ?? agents[0]?.id ?? ""}
        data-testid="agent-picker"
        onChange={(event) => onChange(event.target.value)}
      >
        {agents.map((agent) => (
          <option key={agent.id} value={agent.id}>
            {agent.name} (@{agent.handle})
          </option>
        ))}
      </select>
    </div>
  );
}
