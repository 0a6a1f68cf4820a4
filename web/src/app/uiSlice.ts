import { createSlice, type PayloadAction } from "@reduxjs/toolkit";
import { defaultPreferences, type ThemePreference } from "./preferences";

export interface UiState {
  theme: ThemePreference;
  /** The model chosen in the picker; null means the server's default. */
  model: string | null;
  /** The sidebar drawer on narrow screens. */
  drawerOpen: boolean;
}

export const initialUiState: UiState = { ...defaultPreferences, drawerOpen: false };

const uiSlice = createSlice({
  name: "ui",
  initialState: initialUiState,
  reducers: {
    themeChosen(state, action: PayloadAction<ThemePreference>) {
      state.theme = action.payload;
    },
    modelChosen(state, action: PayloadAction<string | null>) {
      state.model = action.payload;
    },
    drawerToggled(state, action: PayloadAction<boolean | undefined>) {
      state.drawerOpen = action.payload ?? !state.drawerOpen;
    },
  },
  selectors: {
    selectTheme: (state) => state.theme,
    selectChosenModel: (state) => state.model,
    selectDrawerOpen: (state) => state.drawerOpen,
  },
});

export const { themeChosen, modelChosen, drawerToggled } = uiSlice.actions;
export const { selectTheme, selectChosenModel, selectDrawerOpen } = uiSlice.selectors;
export const uiReducer = uiSlice.reducer;
