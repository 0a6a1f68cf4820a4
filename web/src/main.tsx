import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { Provider } from "react-redux";
import { BrowserRouter } from "react-router";
import { App } from "./app/App";
import { applyTheme, loadPreferences } from "./app/preferences";
import { makeStore } from "./app/store";
import { initialUiState } from "./app/uiSlice";
import "./styles/main.css";

const preferences = loadPreferences();
// Before the first paint, so a dark-theme user never sees a white flash (no inline script: CSP).
applyTheme(preferences.theme);

const store = makeStore({ ui: { ...initialUiState, ...preferences } });
const root = document.getElementById("root");
if (!root) throw new Error("#root is missing from index.html");

createRoot(root).render(
  <StrictMode>
    <Provider store={store}>
      <BrowserRouter>
        <App />
      </BrowserRouter>
    </Provider>
  </StrictMode>,
);
