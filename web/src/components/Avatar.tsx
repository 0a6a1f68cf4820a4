import { useState } from "react";
import type { User } from "../api/types";

/**
 * Avatar URLs are absolute (built from PARLEY_PUBLIC_URL). Served from this origin they pass the
 * CSP (`img-src 'self'`) even when the public URL names another host spelling (localhost vs 127.0.0.1).
 */
export function avatarSrc(url: string | null | undefined): string | null {
  if (!url) return null;
  if (url.startsWith("blob:") || url.startsWith("data:")) return url;
  try {
    const parsed = new URL(url, window.location.origin);
    if (parsed.pathname.startsWith("/api/avatars/") || parsed.pathname.startsWith("/api/agents/avatars/")) {
      return `${parsed.pathname}${parsed.search}`;
    }
    return parsed.href;
  } catch {
    return null;
  }
}

function initials(user: Pick<User, "username" | "profile">): string {
  const { first_name, last_name } = user.profile;
  const fromNames = `${first_name.trim().charAt(0)}${last_name.trim().charAt(0)}`;
  return (fromNames || user.username.slice(0, 2)).toUpperCase();
}

type Size = "sm" | "md" | "lg";

/** A square-cropped round image (CSS `object-fit: cover`), or `fallback` letters when there is
 * none or it fails to load. */
function RoundImage({ url, fallback, size, alt }: { url: string | null; fallback: string; size: Size; alt: string }) {
  const [failed, setFailed] = useState<string | null>(null);
  if (url && failed !== url) {
    return <img className={`avatar avatar--${size}`} src={url} alt={alt} onError={() => setFailed(url)} />;
  }
  return (
    <span className={`avatar avatar--${size} avatar--initials`} role={alt ? "img" : undefined} aria-label={alt || undefined} aria-hidden={alt ? undefined : true}>
      {fallback}
    </span>
  );
}

/** An agent's avatar, or the first letter of its name. */
export function AgentAvatar({ agent, size = "sm" }: { agent: { name: string; avatar_url: string | null }; size?: Size }) {
  return <RoundImage url={avatarSrc(agent.avatar_url)} fallback={agent.name.slice(0, 1).toUpperCase()} size={size} alt="" />;
}

/** A user's avatar, or their initials. */
export function Avatar({
  user,
  size = "md",
  src,
  alt = "",
}: {
  user: Pick<User, "username" | "profile">;
  size?: Size;
  src?: string | null;
  alt?: string;
}) {
  return <RoundImage url={avatarSrc(src ?? user.profile.avatar_url)} fallback={initials(user)} size={size} alt={alt} />;
}
