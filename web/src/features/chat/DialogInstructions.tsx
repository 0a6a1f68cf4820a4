import { useId, useState } from "react";
import { formError } from "../../api/errors";
import { FormStatus } from "../../components/FormStatus";
import { Modal } from "../../components/Modal";
import { t } from "../../i18n";
import { useSetDialogInstructionsMutation } from "./chatApi";

/** The dialog's own instructions, sent to the model after its agent's. */
export function DialogInstructions({ dialogId, instructions }: { dialogId: string; instructions: string }) {
  const id = useId();
  const [open, setOpen] = useState(false);
  const [draft, setDraft] = useState(instructions);
  const [save, saving] = useSetDialogInstructionsMutation();
  const close = () => setOpen(false);
  return (
    <>
      <button
        type="button"
        className={instructions ? "btn btn--secondary btn--small" : "btn btn--ghost btn--small"}
        onClick={() => {
          setDraft(instructions);
          setOpen(true);
        }}
        data-testid="dialog-instructions"
      >
        {t.chat.instructions}
      </button>
      <Modal
        open={open}
        title={t.chat.instructionsTitle}
        onClose={close}
        testId="dialog-instructions-dialog"
        footer={
          <>
            <button type="button" className="btn btn--secondary" onClick={close}>
              {t.common.cancel}
            </button>
            <button
              type="button"
              className="btn btn--primary"
              disabled={saving.isLoading}
              data-testid="dialog-instructions-save"
              onClick={() => {
                void save({ id: dialogId, instructions: draft }).then((result) => {
                  if (!("error" in result)) close();
                });
              }}
            >
              {saving.isLoading ? t.common.saving : t.common.save}
            </button>
          </>
        }
      >
        <label className="field__label" htmlFor={id}>
          {t.chat.instructionsLabel}
        </label>
        <textarea
          id={id}
          className="input"
          rows={6}
          maxLength={8000}
          value={draft}
          onChange={(event) => setDraft(event.target.value)}
          data-testid="dialog-instructions-input"
        />
        <FormStatus error={saving.isError && formError(saving.error)} />
      </Modal>
    </>
  );
}
