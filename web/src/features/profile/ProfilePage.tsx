import { useEffect, useId, useRef, useState } from "react";
import { formError } from "../../api/errors";
import type { User } from "../../api/types";
import { AVATAR_MAX_BYTES, AVATAR_TYPES } from "../../app/config";
import { useAppSelector } from "../../app/hooks";
import { locale, t } from "../../i18n";
import { selectUser } from "../auth/authSlice";
import { personName, username } from "../../components/validation";
import { Avatar } from "../../components/Avatar";
import { Field } from "../../components/Field";
import { PageHeader } from "../../components/PageHeader";
import { useDocumentTitle } from "../../components/useDocumentTitle";
import { useForm } from "../../components/useForm";
import { useDeleteAvatarMutation, useUpdateMeMutation, useUpdateProfileMutation, useUploadAvatarMutation } from "./profileApi";
import { FormStatus, SubmitButton } from "../../components/FormStatus";

export function checkAvatarFile(file: File): string | null {
  if (!(AVATAR_TYPES as readonly string[]).includes(file.type)) return t.profile.avatarType;
  if (file.size > AVATAR_MAX_BYTES) return t.profile.avatarSize;
  return null;
}

export default function ProfilePage() {
  useDocumentTitle(t.profile.title);
  const user = useAppSelector(selectUser);
  if (!user) return null;
  return (
    <section className="page" aria-labelledby="profile-title">
      <PageHeader title={<span id="profile-title">{t.profile.title}</span>} />
      <div className="page__body">
        <p className="page__intro">{t.profile.intro}</p>
        <AvatarSection user={user} />
        <DetailsSection user={user} />
      </div>
    </section>
  );
}

function AvatarSection({ user }: { user: User }) {
  const inputId = useId();
  const inputRef = useRef<HTMLInputElement>(null);
  const [file, setFile] = useState<File | null>(null);
  const [preview, setPreview] = useState<string | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  const [done, setDone] = useState<string | null>(null);
  const [upload, uploading] = useUploadAvatarMutation();
  const [remove, removing] = useDeleteAvatarMutation();

  // The preview is a blob: URL (allowed by the CSP); release it when replaced or unmounted.
  useEffect(() => {
    if (!file) {
      setPreview(null);
      return;
    }
    const url = URL.createObjectURL(file);
    setPreview(url);
    return () => URL.revokeObjectURL(url);
  }, [file]);

  const choose = (chosen: File | undefined) => {
    setDone(null);
    if (!chosen) return;
    const error = checkAvatarFile(chosen);
    setProblem(error);
    setFile(error ? null : chosen);
  };

  const onUpload = async () => {
    if (!file) return;
    const result = await upload(file);
    if ("error" in result) {
      setProblem(formError(result.error, []) ?? t.common.unknownError);
      return;
    }
    setFile(null);
    if (inputRef.current) inputRef.current.value = "";
    setDone(t.profile.avatarUpdated);
  };

  const onRemove = async () => {
    setDone(null);
    const result = await remove();
    if ("error" in result) setProblem(formError(result.error) ?? t.common.unknownError);
    else setDone(t.profile.avatarRemoved);
  };

  return (
    <section className="card" aria-labelledby={`${inputId}-title`}>
      <h2 className="card__title" id={`${inputId}-title`}>
        {t.profile.avatar}
      </h2>
      <div className="avatar-editor">
        <div className="avatar-editor__images">
          <Avatar user={user} size="lg" alt={t.profile.avatarAlt} />
          {preview && (
            <>
              <span aria-hidden="true" className="avatar-editor__arrow">
                →
              </span>
              <Avatar user={user} size="lg" src={preview} alt={t.profile.avatarPreviewAlt} />
            </>
          )}
        </div>
        <div className="avatar-editor__controls">
          <label htmlFor={inputId} className="btn btn--secondary file-button">
            {t.profile.chooseAvatar}
          </label>
          <input
            id={inputId}
            ref={inputRef}
            type="file"
            accept={AVATAR_TYPES.join(",")}
            className="visually-hidden"
            aria-describedby={`${inputId}-hint`}
            onChange={(event) => choose(event.target.files?.[0])}
            data-testid="avatar-input"
          />
          <p className="field__hint" id={`${inputId}-hint`}>
            {t.profile.avatarHint}
          </p>
          <div className="button-row">
            <button
              type="button"
              className="btn btn--primary"
              disabled={!file || uploading.isLoading}
              onClick={() => void onUpload()}
              data-testid="avatar-upload"
            >
              {uploading.isLoading ? t.profile.uploading : t.profile.uploadAvatar}
            </button>
            {user.profile.avatar_url && (
              <button type="button" className="btn btn--ghost" disabled={removing.isLoading} onClick={() => void onRemove()} data-testid="avatar-remove">
                {t.profile.removeAvatar}
              </button>
            )}
          </div>
          <FormStatus error={problem} errorTestId="avatar-error" ok={done} />
        </div>
      </div>
    </section>
  );
}

const NAME_RULES = { username, first_name: personName, last_name: personName };

function DetailsSection({ user }: { user: User }) {
  const [updateMe, me] = useUpdateMeMutation();
  const [updateProfile, profile] = useUpdateProfileMutation();
  const [saved, setSaved] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const form = useForm(
    { username: user.username, first_name: user.profile.first_name, last_name: user.profile.last_name },
    NAME_RULES,
  );
  const busy = me.isLoading || profile.isLoading;

  const onSubmit = form.handleSubmit(async (values) => {
    setSaved(false);
    setError(null);
    if (values.username.trim() !== user.username) {
      const result = await updateMe({ username: values.username.trim() });
      if ("error" in result) {
        if (!form.setServerErrors(result.error)) setError(result.error);
        return;
      }
    }
    if (values.first_name !== user.profile.first_name || values.last_name !== user.profile.last_name) {
      const result = await updateProfile({ first_name: values.first_name.trim(), last_name: values.last_name.trim() });
      if ("error" in result) {
        if (!form.setServerErrors(result.error)) setError(result.error);
        return;
      }
    }
    setSaved(true);
  });

  const since = new Intl.DateTimeFormat(locale, { dateStyle: "long" }).format(new Date(user.created_at));
  return (
    <section className="card" aria-labelledby="details-title">
      <h2 className="card__title" id="details-title">
        {t.profile.details}
      </h2>
      <dl className="facts">
        <div>
          <dt>{t.profile.email}</dt>
          <dd data-testid="profile-email">
            {user.email}{" "}
            <span className={`badge ${user.is_email_confirmed ? "badge--ok" : "badge--warn"}`}>
              {user.is_email_confirmed ? t.profile.emailConfirmed : t.profile.emailUnconfirmed}
            </span>
          </dd>
        </div>
        <div>
          <dt className="visually-hidden">{t.profile.memberSince("")}</dt>
          <dd className="facts__muted">{t.profile.memberSince(since)}</dd>
        </div>
      </dl>
      <form ref={form.formRef} onSubmit={onSubmit} noValidate data-testid="profile-form">
        <Field label={t.profile.username} autoComplete="username" maxLength={25} hint={t.auth.usernameHint} testId="profile-username" {...form.field("username")} />
        <div className="field-row">
          <Field label={t.profile.firstName} autoComplete="given-name" maxLength={32} testId="profile-first-name" {...form.field("first_name")} />
          <Field label={t.profile.lastName} autoComplete="family-name" maxLength={32} testId="profile-last-name" {...form.field("last_name")} />
        </div>
        <FormStatus error={error !== null && formError(error)} ok={saved && t.profile.saved} okTestId="profile-saved" />
        <SubmitButton busy={busy} label={t.profile.saveProfile} busyLabel={t.common.saving} testId="profile-save" />
      </form>
    </section>
  );
}
