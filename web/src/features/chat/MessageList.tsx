import { useCallback, useEffect, useLayoutEffect, useMemo, useRef, useState } from "react";
import { isActive, type Message } from "../../api/types";
import { useAppDispatch } from "../../app/hooks";
import { t } from "../../i18n";
import { Alert } from "../../components/Alert";
import { Icon } from "../../components/Icon";
import { Spinner } from "../../components/Spinner";
import { flattenMessages, useGetMessagesInfiniteQuery } from "./chatApi";
import { MessageItem } from "./MessageItem";
import { followMessage, regenerateMessage, stopMessage } from "./streamThunks";

const BOTTOM_SLACK_PX = 48;

export interface MessageListProps {
  dialogId: string;
  onMessages?: (messages: Message[]) => void;
}

/**
 * The conversation: loads older pages when scrolled to the top (keeping the view still), sticks to
 * the bottom while an answer streams unless the user scrolled up, and follows active answers.
 */
export function MessageList({ dialogId, onMessages }: MessageListProps) {
  const dispatch = useAppDispatch();
  const query = useGetMessagesInfiniteQuery(dialogId);
  const { data, hasNextPage, isFetchingNextPage, fetchNextPage, isLoading, isError, refetch } = query;
  const messages = useMemo(() => flattenMessages(data), [data]);
  const pageCount = data?.pages.length ?? 0;

  const scrollRef = useRef<HTMLDivElement>(null);
  const contentRef = useRef<HTMLOListElement>(null);
  const topRef = useRef<HTMLDivElement>(null);
  const atBottom = useRef(true);
  const restore = useRef<{ height: number; top: number; pages: number } | null>(null);
  const followed = useRef(new Set<string>());
  const [showJump, setShowJump] = useState(false);
  const [busyId, setBusyId] = useState<string | null>(null);
  const [actionError, setActionError] = useState<string | null>(null);

  useEffect(() => {
    onMessages?.(messages);
  }, [messages, onMessages]);

  // Follow every answer still being generated (once per message for this view).
  useEffect(() => {
    for (const message of messages) {
      if (isActive(message.status) && !followed.current.has(message.id)) {
        followed.current.add(message.id);
        void dispatch(followMessage(message));
      }
    }
  }, [messages, dispatch]);

  const scrollToBottom = useCallback(() => {
    const el = scrollRef.current;
    if (el) el.scrollTop = el.scrollHeight;
  }, []);

  const loadOlder = useCallback(() => {
    const el = scrollRef.current;
    if (!el || !hasNextPage || isFetchingNextPage || restore.current) return;
    restore.current = { height: el.scrollHeight, top: el.scrollTop, pages: pageCount };
    void fetchNextPage().then((result) => {
      if (result.isError) restore.current = null;
    });
  }, [hasNextPage, isFetchingNextPage, fetchNextPage, pageCount]);

  // After new content: keep the view still when older messages were prepended, else stick to bottom.
  useLayoutEffect(() => {
    const el = scrollRef.current;
    if (!el) return;
    const pending = restore.current;
    if (pending && pageCount > pending.pages) {
      el.scrollTop = el.scrollHeight - pending.height + pending.top;
      restore.current = null;
    } else if (atBottom.current) {
      el.scrollTop = el.scrollHeight;
    }
    // Not enough messages to scroll: keep loading until the view is filled.
    if (el.scrollHeight <= el.clientHeight && hasNextPage && !isFetchingNextPage && !restore.current && pageCount > 0) {
      loadOlder();
    }
  }, [messages, pageCount, hasNextPage, isFetchingNextPage, loadOlder]);

  // Streaming text, highlighted code and images change the height without a new message.
  useEffect(() => {
    const content = contentRef.current;
    if (!content || typeof ResizeObserver === "undefined") return;
    const observer = new ResizeObserver(() => {
      if (atBottom.current && !restore.current) scrollToBottom();
    });
    observer.observe(content);
    return () => observer.disconnect();
  }, [scrollToBottom, isLoading]);

  // Reaching the top loads the previous page.
  useEffect(() => {
    const root = scrollRef.current;
    const target = topRef.current;
    if (!root || !target || typeof IntersectionObserver === "undefined") return;
    const observer = new IntersectionObserver(
      (entries) => {
        if (entries.some((entry) => entry.isIntersecting)) loadOlder();
      },
      { root, rootMargin: "200px 0px 0px 0px" },
    );
    observer.observe(target);
    return () => observer.disconnect();
  }, [loadOlder]);

  const onScroll = () => {
    const el = scrollRef.current;
    if (!el) return;
    atBottom.current = el.scrollHeight - el.scrollTop - el.clientHeight < BOTTOM_SLACK_PX;
    setShowJump(!atBottom.current);
  };

  const onStop = useCallback(
    (message: Message) => {
      setActionError(null);
      void dispatch(stopMessage(message)).then((ok) => {
        if (!ok) setActionError(t.common.unknownError);
      });
    },
    [dispatch],
  );

  const onRegenerate = useCallback(
    (message: Message) => {
      setActionError(null);
      setBusyId(message.id);
      followed.current.add(message.id);
      atBottom.current = true;
      void dispatch(regenerateMessage(message)).then((ok) => {
        setBusyId(null);
        if (!ok) setActionError(t.common.unknownError);
      });
    },
    [dispatch],
  );

  if (isLoading) {
    return (
      <div className="messages messages--center">
        <Spinner label={t.common.loading} />
      </div>
    );
  }
  if (isError && messages.length === 0) {
    return (
      <div className="messages messages--center">
        <Alert tone="error">
          {t.chat.loadError}{" "}
          <button type="button" className="btn btn--secondary btn--small" onClick={() => void refetch()}>
            {t.app.retry}
          </button>
        </Alert>
      </div>
    );
  }

  const last = messages[messages.length - 1];
  return (
    <div className="messages-wrap">
      <div className="messages" ref={scrollRef} onScroll={onScroll} data-testid="message-list">
        <div ref={topRef} className="messages__top">
          {hasNextPage ? (
            isFetchingNextPage ? (
              <Spinner label={t.chat.loadingOlder} inline />
            ) : (
              <button type="button" className="btn btn--ghost btn--small" onClick={loadOlder} data-testid="load-older">
                {t.chat.loadOlder}
              </button>
            )
          ) : (
            messages.length > 0 && <p className="messages__beginning">{t.chat.beginning}</p>
          )}
        </div>
        <ol className="messages__list" ref={contentRef} aria-label={t.chat.messagesLabel}>
          {messages.map((message) => (
            <MessageItem
              key={message.id}
              message={message}
              isLast={message.id === last?.id}
              onStop={onStop}
              onRegenerate={onRegenerate}
              regenerating={busyId === message.id}
            />
          ))}
        </ol>
        {actionError && (
          <Alert tone="error" className="messages__action-error">
            {actionError}
          </Alert>
        )}
      </div>
      {showJump && (
        <button
          type="button"
          className="btn btn--secondary btn--icon messages__jump"
          onClick={() => {
            atBottom.current = true;
            scrollToBottom();
          }}
          aria-label={t.chat.scrollToBottom}
          data-testid="scroll-to-bottom"
        >
          <Icon name="arrowDown" />
        </button>
      )}
    </div>
  );
}
