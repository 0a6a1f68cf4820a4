import { useAppDispatch, useAppSelector } from "../../app/hooks";
import type { ThemePreference } from "../../app/preferences";
import { t } from "../../i18n";
import { selectTheme, themeChosen } from "../../app/uiSlice";

const THEMES: { value: ThemePreference; label: string }[] = [
  { value: "system", label: t.settings.themeSystem },
  { value: "light", label: t.settings.themeLight },
  { value: "dark", label: t.settings.themeDark },
];

export function ThemeSection() {
  const dispatch = useAppDispatch();
  const theme = useAppSelector(selectTheme);
  return (
    <section className="card" aria-labelledby="appearance-title">
      <h2 className="card__title" id="appearance-title">
        {t.settings.appearance}
      </h2>
      <fieldset className="segmented" data-testid="theme-picker">
        <legend className="field__label">{t.settings.theme}</legend>
        {THEMES.map((option) => (
          <label key={option.value} className="segmented__option">
            <input
              type="radio"
              name="theme"
              value={option.value}
              checked={theme === option.value}
              onChange={() => dispatch(themeChosen(option.value))}
              data-testid={`theme-${option.value}`}
            />
            <span>{option.label}</span>
          </label>
        ))}
      </fieldset>
    </section>
  );
}
