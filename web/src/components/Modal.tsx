import { useEffect, useId, useRef, type ReactNode } from "react";
import { t } from "../i18n";
import { FormStatus } from "./FormStatus";
import { Icon } from "./Icon";

/**
 * A modal on the native <dialog>: the browser traps focus, makes the page inert, closes on Escape
 * and returns focus to where it was.
 */
export function Modal({
  open,
  title,
  onClose,
  children,
  footer,
  testId,
}: {
  open: boolean;
  title: string;
  onClose: () => void;
  children: ReactNode;
  footer?: ReactNode;
  testId?: string;
}) {
  const ref = useRef<HTMLDialogElement>(null);
  const titleId = useId();
  useEffect(() => {
    const dialog = ref.current;
    if (!dialog) return;
    if (open && !dialog.open) dialog.showModal();
    if (!open && dialog.open) dialog.close();
  }, [open]);
  return (
    <dialog
      ref={ref}
      className="modal"
      aria-labelledby={titleId}
      data-testid={testId}
      onCancel={(event) => {
        event.preventDefault();
        onClose();
      }}
    >
      {open && (
        <div className="modal__body">
          <div className="modal__header">
            <h2 id={titleId} className="modal__title">
              {title}
            </h2>
            <button type="button" className="btn btn--ghost btn--icon" onClick={onClose} aria-label={t.common.close}>
              <Icon name="close" />
            </button>
          </div>
          <div className="modal__content">{children}</div>
          {footer && <div className="modal__footer">{footer}</div>}
        </div>
      )}
    </dialog>
  );
}

/** "Are you sure?" with a destructive confirm button. */
export function ConfirmDialog({
  open,
  title,
  body,
  confirmLabel,
  busyLabel,
  busy = false,
  error,
  onConfirm,
  onCancel,
  children,
  testId = "confirm-dialog",
  confirmDisabled = false,
}: {
  open: boolean;
  title: string;
  body: ReactNode;
  confirmLabel: string;
  busyLabel?: string;
  busy?: boolean;
  error?: string | null;
  onConfirm: () => void;
  onCancel: () => void;
  children?: ReactNode;
  testId?: string;
  confirmDisabled?: boolean;
}) {
  return (
    <Modal open={open} title={title} onClose={onCancel} testId={testId}>
      <form
        onSubmit={(event) => {
          event.preventDefault();
          if (!busy) onConfirm();
        }}
      >
        <div className="modal__text">{body}</div>
        {children}
        <FormStatus error={error} />
        <div className="modal__footer">
          {/* eslint-disable-next-line jsx-a11y/no-autofocus -- a confirmation starts on its safe choice */}
          <button type="button" className="btn btn--secondary" onClick={onCancel} autoFocus>
            {t.common.cancel}
          </button>
          <button type="submit" className="btn btn--danger" disabled={busy || confirmDisabled} data-testid={`${testId}-confirm`}>
            {busy ? (busyLabel ?? confirmLabel) : confirmLabel}
          </button>
        </div>
      </form>
    </Modal>
  );
}
