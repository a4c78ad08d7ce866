import { useEffect, useLayoutEffect, useRef } from "react";

import { eventToken } from "./tables";

export interface TableEvent {
  id: number;
  type: string;
  table_id: string;
  aggregate_id: string;
  payload: Record<string, unknown>;
  created_at: string;
}

/**
 * The table's live event stream (SSE). EventSource cannot send headers, so each (re)connect
 * fetches a one-minute token and resumes with `?after=<last id>` (a new EventSource does not send
 * Last-Event-ID). Events are handed over in batches, once per animation frame, so a burst of
 * thousands of cell updates costs one grid refresh per frame.
 */
export function useTableEvents(workspaceId: string, tableId: string, onBatch: (events: TableEvent[]) => void) {
  const handler = useRef(onBatch);
  useLayoutEffect(() => {
    handler.current = onBatch;
  });

  useEffect(() => {
    let source: EventSource | null = null;
    let closed = false;
    let lastId: number | null = null;
    let retry: ReturnType<typeof setTimeout> | null = null;
    let queue: TableEvent[] = [];
    let frame: number | null = null;

    const flush = () => {
      frame = null;
      const batch = queue;
      queue = [];
      if (batch.length) handler.current(batch);
    };

    const onMessage = (message: MessageEvent<string>) => {
      try {
        const event = JSON.parse(message.data) as TableEvent;
        lastId = event.id;
        queue.push(event);
        frame ??= requestAnimationFrame(flush);
      } catch {
        // a keep-alive or a line we do not understand
      }
    };

    async function connect() {
      if (closed) return;
      try {
        const { token } = await eventToken(workspaceId, tableId);
        if (closed) return;
        const params = new URLSearchParams({ token });
        if (lastId !== null) params.set("after", String(lastId));
        source = new EventSource(`/api/v1/workspaces/${workspaceId}/tables/${tableId}/events?${params.toString()}`);
        const types = ["cell.updated", "rows.created", "rows.updated", "rows.deleted", "column.created", "column.updated", "column.deleted", "table.updated", "table.deleted", "job.progress"];
        for (const t of types) source.addEventListener(t, onMessage as EventListener);
        source.onmessage = onMessage;
        source.onerror = () => {
          // The token in the URL expires: reconnect ourselves with a fresh one.
          source?.close();
          source = null;
          if (!closed) retry = setTimeout(() => void connect(), 2000);
        };
      } catch {
        if (!closed) retry = setTimeout(() => void connect(), 5000);
      }
    }

    void connect();
    return () => {
      closed = true;
      source?.close();
      if (retry) clearTimeout(retry);
      if (frame !== null) cancelAnimationFrame(frame);
    };
  }, [workspaceId, tableId]);
}
