// The app's updates to the UI (UiEvent, generated from src-tauri/src/events.rs into ./generated.ts), through the one channel the UI hands to
// the Rust side at start-up (`events_subscribe`, src-tauri/src/events.rs). Not Tauri events: the
// window has no permission to listen to any (SEC-44), because listening would also hear the
// deep-link plugin's `deep-link://new-url`, which carries the callback URL.
//
// A component subscribes with one call and gets back one function to unsubscribe, usable
// directly as an $effect cleanup. If subscribing fails (app shutting down), nothing arrives: the
// screens also reload on their own actions, so an event is an extra, never the only way to see
// a change.

import { Channel } from '@tauri-apps/api/core';
import { call } from './commands';
import type { FlowFinished, UiEvent } from './types';

type Handler = (event: UiEvent) => void;

const handlers = new Set<Handler>();
let subscribed = false;

/** Subscribes this page to the app's events, once (main.ts calls it at start-up). */
export function startEvents(): void {
  if (subscribed) return;
  subscribed = true;
  const channel = new Channel<UiEvent>();
  channel.onmessage = (event) => {
    for (const handler of [...handlers]) handler(event);
  };
  void call('events_subscribe', { onEvent: channel }).then((outcome) => {
    if (!outcome.ok) subscribed = false;
  });
}

function subscribe(handler: Handler): () => void {
  startEvents();
  handlers.add(handler);
  return () => void handlers.delete(handler);
}

/** A connection was added, refreshed, disconnected or changed status. */
export function onConnectionsChanged(handler: () => void): () => void {
  return subscribe((e) => {
    if (e.event === 'connections-changed') handler();
  });
}

/** A deep-link or loopback redirect finished a sign-in. */
export function onFlowFinished(handler: (outcome: FlowFinished) => void): () => void {
  return subscribe((e) => {
    if (e.event === 'flow-finished') handler(e.payload);
  });
}
