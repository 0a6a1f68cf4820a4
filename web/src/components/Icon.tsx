/** Small inline SVG icons (presentation only; every icon button also has a text label). */
const PATHS = {
  menu: "M3 6h18v2H3zm0 5h18v2H3zm0 5h18v2H3z",
  plus: "M11 5h2v6h6v2h-6v6h-2v-6H5v-2h6z",
  pencil: "M4 17.25V20h2.75l8.1-8.1-2.75-2.75zM17.7 9.05a1 1 0 0 0 0-1.4l-1.35-1.35a1 1 0 0 0-1.4 0l-1.1 1.1 2.75 2.75z",
  trash: "M9 3h6l1 2h4v2H4V5h4zm-3 6h12l-1 12H7zm4 2v8h2v-8zm3 0v8h2v-8z",
  close: "M6.4 5 12 10.6 17.6 5 19 6.4 13.4 12l5.6 5.6-1.4 1.4-5.6-5.6L6.4 19 5 17.6l5.6-5.6L5 6.4z",
  arrowDown: "M11 4h2v12l5-5 1.4 1.4L12 19.8l-7.4-7.4L6 11l5 5z",
  send: "M3 20.5v-7l9-1.5-9-1.5v-7L22 12z",
  stop: "M7 7h10v10H7z",
  agents: "M8 11a3 3 0 1 0 0-6 3 3 0 0 0 0 6m8 0a3 3 0 1 0 0-6 3 3 0 0 0 0 6M8 13c-3 0-6 1.5-6 4v2h12v-2c0-2.5-3-4-6-4m8 0c-.5 0-1 0-1.5.1 1.6.9 2.5 2.2 2.5 3.9v2h5v-2c0-2.5-3-4-6-4",
  user: "M12 12a4 4 0 1 0 0-8 4 4 0 0 0 0 8m0 2c-4 0-8 2-8 5v1h16v-1c0-3-4-5-8-5",
  settings:
    "M19.4 13a7.7 7.7 0 0 0 0-2l2-1.6-2-3.4-2.4 1a7 7 0 0 0-1.7-1L15 3h-4l-.4 2.6a7 7 0 0 0-1.7 1l-2.4-1-2 3.4 2 1.6a7.7 7.7 0 0 0 0 2l-2 1.6 2 3.4 2.4-1a7 7 0 0 0 1.7 1L11 21h4l.4-2.6a7 7 0 0 0 1.7-1l2.4 1 2-3.4zM13 15.5a3.5 3.5 0 1 1 0-7 3.5 3.5 0 0 1 0 7",
  chart: "M4 19h16v2H2V3h2zm3-2V10h3v7zm5 0V5h3v12zm5 0v-5h3v5z",
  shield: "M12 2 4 5v6c0 5 3.4 9.3 8 11 4.6-1.7 8-6 8-11V5zm0 2.2 6 2.2V11c0 3.9-2.5 7.4-6 8.9-3.5-1.5-6-5-6-8.9V6.4z",
  logout: "M10 4H4v16h6v-2H6V6h4zm5.6 3.4L14.2 8.8l2.2 2.2H9v2h7.4l-2.2 2.2 1.4 1.4L20.2 12z",
} as const;

export type IconName = keyof typeof PATHS;

export function Icon({ name, className = "icon" }: { name: IconName; className?: string }) {
  return (
    <svg className={className} viewBox="0 0 24 24" width="20" height="20" aria-hidden="true" focusable="false">
      <path d={PATHS[name]} fill="currentColor" />
    </svg>
  );
}
