// Short-lived messages ("Copied", "GitHub refreshed") shown in one polite live region by
// Notices.svelte. Never holds a secret: callers pass sentences about what happened.

export type NoticeTone = 'ok' | 'error' | 'info';

export interface Notice {
  id: number;
  text: string;
  tone: NoticeTone;
}

export const notices: Notice[] = $state([]);
let next = 1;

export function notify(text: string, tone: NoticeTone = 'info', ms = 5000): void {
  const id = next++;
  notices.push({ id, text, tone });
  setTimeout(() => dismiss(id), ms);
}

export function dismiss(id: number): void {
  const index = notices.findIndex((n) => n.id === id);
  if (index !== -1) notices.splice(index, 1);
}
