// The events the Rust side emits (EVENTS in ./types.ts), wrapped so a component subscribes with
// one call and gets back one function to unsubscribe, usable directly as an $effect cleanup.
// A listen that fails (no event permission, app shutting down) is ignored: the screens also
// reload on their own actions, so an event is an extra, never the only way to see a change.

import { listen, type UnlistenFn } from '@tauri-apps/api/event';
import { EVENTS, type FlowOutcome } from './types';

function subscribe<T>(event: string, handler: (payload: T) => void): () => void {
  let unlisten: UnlistenFn | null = null;
  let closed = false;
  listen<T>(event, (e) => {
    if (!closed) handler(e.payload);
  })
    .then((fn) => {
      if (closed) void fn();
      else unlisten = fn;
    })
    .catch(() => {
      /* no events: see the header comment */
    });
  return () => {
    closed = true;
    if (unlisten) void unlisten();
  };
}

/** A connection was added, refreshed, disconnected or changed status. */
export function onConnectionsChanged(handler: () => void): () => void {
  return subscribe<null>(EVENTS.connectionsChanged, () => handler());
}

/** The `flow-finished` payload: the outcome, and the id of the flow it ends when the Rust side
 * could read it from the redirect (it can for every well-formed one). */
export type FlowFinished = FlowOutcome & { flow_id?: string | null };

/** A deep-link or pasted redirect finished a sign-in. */
export function onFlowFinished(handler: (outcome: FlowFinished) => void): () => void {
  return subscribe<FlowFinished>(EVENTS.flowFinished, handler);
}
