import { describe, expect, it } from "vitest";
import { applyTheme, loadPreferences } from "./preferences";
import { makeStore } from "./store";
import { drawerToggled, initialUiState, modelChosen, themeChosen, uiReducer } from "./uiSlice";

describe("uiSlice", () => {
  it("chooses theme and model and toggles the drawer", () => {
    let state = uiReducer(undefined, themeChosen("dark"));
    state = uiReducer(state, modelChosen("gpt-4o"));
    state = uiReducer(state, drawerToggled(undefined));
    expect(state).toEqual({ theme: "dark", model: "gpt-4o", drawerOpen: true });
    expect(uiReducer(state, drawerToggled(false)).drawerOpen).toBe(false);
    expect(initialUiState.theme).toBe("system");
  });

  it("persists theme and model (not the drawer) across visits", () => {
    const store = makeStore();
    store.dispatch(themeChosen("light"));
    store.dispatch(modelChosen("parley-demo"));
    store.dispatch(drawerToggled(true));
    expect(loadPreferences()).toEqual({ theme: "light", model: "parley-demo" });
  });

  it("falls back to defaults on corrupt storage", () => {
    localStorage.setItem("parley:preferences", "{not json");
    expect(loadPreferences()).toEqual({ theme: "system", model: null });
    localStorage.setItem("parley:preferences", JSON.stringify({ theme: "purple", model: 42 }));
    expect(loadPreferences()).toEqual({ theme: "system", model: null });
  });

  it("applies the theme as a data attribute (no inline style)", () => {
    const root = document.createElement("html");
    applyTheme("dark", root);
    expect(root.dataset.theme).toBe("dark");
    applyTheme("light", root);
    expect(root.dataset.theme).toBe("light");
    expect(root.getAttribute("style")).toBeNull();
  });
});
