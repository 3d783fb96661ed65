// The audit log as people filter and read it: by action and by connection, with each action
// named in words.

import type { AuditEvent } from '../api/types';

export interface AuditFilter {
  action: string;
  connection: string;
}

export const ALL = '';

export function filterAudit(events: readonly AuditEvent[], filter: AuditFilter): AuditEvent[] {
  return events.filter(
    (e) =>
      (filter.action === ALL || e.action === filter.action) &&
      (filter.connection === ALL || e.connection_id === filter.connection),
  );
}

export function distinctActions(events: readonly AuditEvent[]): string[] {
  return [...new Set(events.map((e) => e.action))].sort();
}

export function distinctConnections(events: readonly AuditEvent[]): string[] {
  return [...new Set(events.map((e) => e.connection_id).filter((c): c is string => c !== null))].sort();
}

const LABELS: Record<string, string> = {
  'connection.created': 'Connected',
  'connection.updated': 'Connection updated',
  'connection.deleted': 'Disconnected',
  'connection.imported': 'Imported from a backup',
  'connection.moved': 'Moved out to a backup',
  'connection.revealed': 'Secret revealed',
  'connection.copied': 'Copied to the clipboard',
  'credentials.env': 'Handed to a tool',
  'provider.added': 'Custom provider added',
  'provider.configured': 'OAuth app configured',
  'tool.set_up': 'Tool set up',
  'tool.removed': 'Tool setup removed',
  'token.handed_out': 'Token handed out',
  'token.marked_stale': 'Token refused by a tool',
  'token.refreshed': 'Token refreshed',
  'token.refresh_failed': 'Refresh failed',
  'token.revoked': 'Revoked at the provider',
  'token.revocation_failed': 'Revocation failed',
  'token.revocation_abandoned': 'Revocation abandoned',
  'vault.created': 'Vault created',
  'vault.exported': 'Backup exported',
  'vault.imported': 'Backup imported',
  'vault.rekeyed': 'Vault rekeyed',
};

/** "token.refreshed" → "Token refreshed"; an unknown action is shown as written, in words. */
export function actionLabel(action: string): string {
  const known = LABELS[action];
  if (known) return known;
  const words = action.replace(/[._]/g, ' ');
  return words.charAt(0).toUpperCase() + words.slice(1);
}
