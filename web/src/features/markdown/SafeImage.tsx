import { useState } from "react";
import { t } from "../../i18n";
import { hostOf, isSameOrigin } from "./urls";

/**
 * Images in answers: same-origin images show directly; anything else is a placeholder until the
 * user asks for it, so a hostile answer cannot make the browser contact (and track via) a third
 * party. If the CSP blocks the image after all, a link opens it in a new tab instead.
 */
export function SafeImage({ src, alt, title }: { src?: string | undefined; alt?: string | undefined; title?: string | undefined }) {
  const [requested, setRequested] = useState(false);
  const [failed, setFailed] = useState(false);
  const description = alt?.trim() ? alt : t.markdown.image;
  if (!src) {
    return <span className="md-image md-image--dropped">[{description}]</span>;
  }
  if (failed) {
    return (
      <span className="md-image md-image--failed" data-testid="image-failed">
        {t.markdown.imageBlocked}{" "}
        <a href={src} target="_blank" rel="noopener noreferrer nofollow">
          {t.markdown.openImage}
        </a>
      </span>
    );
  }
  if (requested || isSameOrigin(src)) {
    return (
      <img
        className="md-image__img"
        src={src}
        alt={alt ?? ""}
        title={title}
        loading="lazy"
        referrerPolicy="no-referrer"
        onError={() => setFailed(true)}
      />
    );
  }
  return (
    <button type="button" className="md-image md-image--placeholder" onClick={() => setRequested(true)} data-testid="image-placeholder">
      <svg className="icon md-image__icon" viewBox="0 0 24 24" width="20" height="20" aria-hidden="true" focusable="false">
        <path
          fill="currentColor"
          d="M4 5h16a1 1 0 0 1 1 1v12a1 1 0 0 1-1 1H4a1 1 0 0 1-1-1V6a1 1 0 0 1 1-1m1 2v8.6l3.5-3.5 3 3 4-4L19 13.6V7zm3 3a1.5 1.5 0 1 0 0-3 1.5 1.5 0 0 0 0 3"
        />
      </svg>
      <span className="md-image__alt">{description}</span>
      <span className="md-image__action">{t.markdown.loadImage(hostOf(src))}</span>
    </button>
  );
}
