import { useEffect, useId, useMemo, useRef, useState, type KeyboardEvent, type SyntheticEvent } from "react";
import { NavLink, useMatch, useNavigate } from "react-router";
import { errorMessage } from "../../api/errors";
import type { Dialog } from "../../api/types";
import { t } from "../../i18n";
import { Alert } from "../../components/Alert";
import { Icon } from "../../components/Icon";
import { ConfirmDialog } from "../../components/Modal";
import { Spinner } from "../../components/Spinner";
import { flattenDialogs, useDeleteDialogMutation, useGetDialogsInfiniteQuery, useRenameDialogMutation } from "./chatApi";
import { groupByDay } from "./groupByDay";

export function dialogName(dialog: Pick<Dialog, "name">): string {
  return dialog.name?.trim() || t.dialogs.untitled;
}

/** Case- and accent-insensitive match on the name. */
export function matchesSearch(dialog: Pick<Dialog, "name">, search: string): boolean {
  const fold = (s: string) => s.normalize("NFD").replace(/\p{Diacritic}/gu, "").toLowerCase();
  return fold(dialogName(dialog)).includes(fold(search.trim()));
}

function useDebounced<T>(value: T, ms: number): T {
  const [debounced, setDebounced] = useState(value);
  useEffect(() => {
    const timer = setTimeout(() => setDebounced(value), ms);
    return () => clearTimeout(timer);
  }, [value, ms]);
  return debounced;
}

/**
 * The sidebar's chats, grouped by day (most recent first), more loaded on scroll. Search filters
 * the loaded chats at once and asks the server (`?q=`) for all matches after a short pause.
 */
export function DialogList() {
  const searchId = useId();
  const [search, setSearch] = useState("");
  const query = search.trim();
  const serverQuery = useDebounced(query, 250);
  const main = useGetDialogsInfiniteQuery();
  const found = useGetDialogsInfiniteQuery(serverQuery, { skip: !serverQuery });
  const searching = query !== "";
  const { data, isLoading, isError, refetch } = main;
  const { hasNextPage, isFetchingNextPage, fetchNextPage } = searching && serverQuery === query ? found : main;
  const dialogs = useMemo(() => flattenDialogs(data), [data]);
  const foundDialogs = useMemo(() => (found.data ? flattenDialogs(found.data) : null), [found.data]);
  const filtered = useMemo(() => {
    if (!searching) return dialogs;
    // Server results once they are for what is typed; meanwhile, the loaded chats filtered here.
    if (serverQuery === query && foundDialogs && !found.isFetching) return foundDialogs;
    return dialogs.filter((d) => matchesSearch(d, query));
  }, [searching, dialogs, foundDialogs, found.isFetching, serverQuery, query]);
  const groups = useMemo(() => groupByDay(filtered, (d) => d.updated_at), [filtered]);
  const bottomRef = useRef<HTMLDivElement>(null);

  const [toDelete, setToDelete] = useState<Dialog | null>(null);
  const [deleteDialog, deletion] = useDeleteDialogMutation();
  const active = useMatch("/chats/:id");
  const navigate = useNavigate();

  useEffect(() => {
    const target = bottomRef.current;
    if (!target || typeof IntersectionObserver === "undefined") return;
    const observer = new IntersectionObserver((entries) => {
      if (entries.some((e) => e.isIntersecting) && hasNextPage && !isFetchingNextPage) void fetchNextPage();
    });
    observer.observe(target);
    return () => observer.disconnect();
  }, [hasNextPage, isFetchingNextPage, fetchNextPage]);

  const confirmDelete = async () => {
    if (!toDelete) return;
    const result = await deleteDialog(toDelete.id);
    if ("error" in result) return;
    if (active?.params.id === toDelete.id) void navigate("/chats", { replace: true });
    setToDelete(null);
  };

  return (
    <nav className="dialogs" aria-label={t.dialogs.listLabel}>
      <div className="dialogs__search" role="search">
        <label htmlFor={searchId} className="visually-hidden">
          {t.dialogs.search}
        </label>
        <input
          id={searchId}
          type="search"
          className="input input--small"
          placeholder={t.dialogs.searchPlaceholder}
          value={search}
          onChange={(event) => setSearch(event.target.value)}
          onKeyDown={(event) => {
            if (event.key === "Escape" && search) {
              event.stopPropagation();
              setSearch("");
            }
          }}
          data-testid="dialog-search"
        />
      </div>

      <div className="dialogs__scroll">
        {isLoading && <Spinner />}
        {isError && (
          <Alert tone="error">
            {t.dialogs.loadError}{" "}
            <button type="button" className="btn btn--ghost btn--small" onClick={() => void refetch()}>
              {t.app.retry}
            </button>
          </Alert>
        )}
        {!isLoading && !isError && dialogs.length === 0 && <p className="dialogs__empty">{t.dialogs.empty}</p>}
        {searching && filtered.length === 0 && dialogs.length > 0 && (found.isSuccess || found.isError) && (
          <p className="dialogs__empty" role="status">
            {t.dialogs.noResults}
          </p>
        )}
        {groups.map((group) => (
          <section key={group.key} className="dialogs__group" aria-label={group.label}>
            <h2 className="dialogs__day">{group.label}</h2>
            <ul className="dialogs__list" data-testid="dialog-list">
              {group.items.map((dialog) => (
                <DialogListItem key={dialog.id} dialog={dialog} onDelete={() => setToDelete(dialog)} />
              ))}
            </ul>
          </section>
        ))}
        <div ref={bottomRef} className="dialogs__more">
          {isFetchingNextPage && <Spinner label={t.dialogs.loadingMore} inline />}
          {hasNextPage && !isFetchingNextPage && (
            <button type="button" className="btn btn--ghost btn--small" onClick={() => void fetchNextPage()}>
              {searching ? t.dialogs.searchMore : t.common.loadMore}
            </button>
          )}
        </div>
      </div>

      <ConfirmDialog
        open={toDelete !== null}
        title={t.dialogs.deleteTitle}
        body={toDelete ? t.dialogs.deleteBody(dialogName(toDelete)) : ""}
        confirmLabel={t.common.delete}
        busyLabel={t.common.deleting}
        busy={deletion.isLoading}
        error={deletion.isError ? errorMessage(deletion.error) : null}
        onConfirm={() => void confirmDelete()}
        onCancel={() => {
          deletion.reset();
          setToDelete(null);
        }}
        testId="delete-dialog"
      />
    </nav>
  );
}

function DialogListItem({ dialog, onDelete }: { dialog: Dialog; onDelete: () => void }) {
  const name = dialogName(dialog);
  const [editing, setEditing] = useState(false);
  const [value, setValue] = useState(name);
  const [rename, renaming] = useRenameDialogMutation();
  const inputRef = useRef<HTMLInputElement>(null);
  const renameButton = useRef<HTMLButtonElement>(null);
  const inputId = useId();

  useEffect(() => {
    if (editing) inputRef.current?.select();
  }, [editing]);

  const finish = async (save: boolean) => {
    const next = value.trim();
    setEditing(false);
    requestAnimationFrame(() => renameButton.current?.focus());
    if (save && next && next !== dialog.name) await rename({ id: dialog.id, name: next.slice(0, 200) });
  };

  if (editing) {
    return (
      <li className="dialog-item dialog-item--editing" data-testid="dialog-item" data-dialog-id={dialog.id}>
        <form
          className="dialog-item__rename"
          onSubmit={(event: SyntheticEvent) => {
            event.preventDefault();
            void finish(true);
          }}
        >
          <label htmlFor={inputId} className="visually-hidden">
            {t.dialogs.renameLabel}
          </label>
          <input
            id={inputId}
            ref={inputRef}
            className="input input--small"
            value={value}
            maxLength={200}
            onChange={(event) => setValue(event.target.value)}
            onBlur={() => void finish(true)}
            onKeyDown={(event: KeyboardEvent) => {
              if (event.key === "Escape") {
                event.preventDefault();
                event.stopPropagation();
                setValue(name);
                void finish(false);
              }
            }}
            data-testid="rename-input"
          />
        </form>
      </li>
    );
  }

  return (
    <li className="dialog-item" data-testid="dialog-item" data-dialog-id={dialog.id}>
      <NavLink
        to={`/chats/${dialog.id}`}
        className={({ isActive }) => `dialog-item__link${isActive ? " dialog-item__link--active" : ""}`}
        title={name}
        data-testid="dialog-link"
      >
        <span className="dialog-item__name">{name}</span>
      </NavLink>
      <div className="dialog-item__actions" role="group" aria-label={t.dialogs.actions(name)}>
        <button
          ref={renameButton}
          type="button"
          className="btn btn--ghost btn--icon btn--tiny"
          aria-label={`${t.dialogs.rename}: ${name}`}
          title={t.dialogs.rename}
          onClick={() => {
            setValue(name);
            setEditing(true);
          }}
          disabled={renaming.isLoading}
          data-testid="rename-dialog"
        >
          <Icon name="pencil" />
        </button>
        <button
          type="button"
          className="btn btn--ghost btn--icon btn--tiny"
          aria-label={`${t.dialogs.delete}: ${name}`}
          title={t.dialogs.delete}
          onClick={onDelete}
          data-testid="delete-dialog-button"
        >
          <Icon name="trash" />
        </button>
      </div>
    </li>
  );
}
