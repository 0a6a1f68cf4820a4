import { describe, expect, it } from "vitest";
import { groupByDay } from "./groupByDay";

describe("groupByDay", () => {
  const now = new Date(2025, 5, 18, 15, 0); // Wed 18 June 2025, local time
  const at = (d: Date) => ({ updated_at: d.toISOString() });

  it("groups by local day with Today and Yesterday, keeping the order", () => {
    const items = [
      at(new Date(2025, 5, 18, 14, 0)),
      at(new Date(2025, 5, 18, 0, 5)),
      at(new Date(2025, 5, 17, 23, 59)),
      at(new Date(2025, 5, 10, 9, 0)),
      at(new Date(2024, 11, 31, 9, 0)),
    ];
    const groups = groupByDay(items, (i) => i.updated_at, now);
    expect(groups.map((g) => [g.label, g.items.length])).toEqual([
      ["Today", 2],
      ["Yesterday", 1],
      [expect.stringMatching(/10/), 1],
      [expect.stringMatching(/2024/), 1],
    ]);
  });

  it("puts future or invalid dates under Today", () => {
    const groups = groupByDay([{ updated_at: "nonsense" }, at(new Date(2030, 0, 1))], (i) => i.updated_at, now);
    expect(groups).toHaveLength(1);
    expect(groups[0]?.label).toBe("Today");
  });
});
