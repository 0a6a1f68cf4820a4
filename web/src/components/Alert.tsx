import type { ReactNode } from "react";

export type AlertTone = "info" | "success" | "warning" | "error";

/** A message box. Errors are announced assertively, the rest politely. */
export function Alert({
  tone = "info",
  children,
  testId,
  className,
}: {
  tone?: AlertTone;
  children: ReactNode;
  testId?: string;
  className?: string;
}) {
  return (
    <div
      className={`alert alert--${tone}${className ? ` ${className}` : ""}`}
      role={tone === "error" ? "alert" : "status"}
      data-testid={testId}
    >
      {children}
    </div>
  );
}
