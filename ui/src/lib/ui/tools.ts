// The Tools section of a connection's page, in words: each tool's name and what it covers, the
// label and example of what its setup asks for, what to prefill, and programs named briefly.
// The facts themselves (what is set up, what the catalog suggests, the hand-outs) come from the
// Rust side (`connection_tools`).

import type { Binding, Tool, ToolView } from '../api/types';

/** How people write each tool's name. */
export const TOOL_NAMES: Record<Tool, string> = {
  git: 'git',
  aws: 'AWS',
  kubectl: 'kubectl',
  docker: 'Docker',
  terraform: 'Terraform',
  cargo: 'cargo',
  mcp: 'MCP client',
};

/** What a setup makes the tool do, in one line. */
export const TOOL_HELP: Record<Tool, string> = {
  git: 'git push, pull and fetch over HTTPS, through git’s credential helper.',
  aws: 'The AWS CLI and SDKs, through a profile’s credential_process.',
  kubectl: 'A kubeconfig context, through kubectl’s exec credential plugin.',
  docker: 'docker, podman and skopeo, through a registry credential helper.',
  terraform: 'Terraform and OpenTofu, through a credentials helper for a host.',
  cargo: 'cargo publish and private registries, through a credential provider.',
  mcp: 'An MCP client, through keyhaven mcp-proxy (the connection’s MCP box).',
};

const TARGET_LABELS: Record<Tool, string> = {
  git: 'Host',
  aws: 'Profile',
  kubectl: 'Context',
  docker: 'Registry',
  terraform: 'Host',
  cargo: 'Registry name',
  mcp: 'Client/server name',
};

const EXAMPLES: Record<Tool, string> = {
  git: 'github.com',
  aws: 'work',
  kubectl: 'my-cluster',
  docker: 'ghcr.io',
  terraform: 'app.terraform.io',
  cargo: 'crates-io',
  mcp: 'cursor/notion',
};

/** The label of a tool's target field. */
export const targetLabel = (tool: Tool): string => TARGET_LABELS[tool];

/** An example target, for the field's placeholder. */
export const targetExample = (tool: Tool): string => EXAMPLES[tool];

/** What to prefill: the first suggested target (git, docker) that is not set up yet, else nothing. */
export function initialTarget(view: ToolView): string {
  const done = new Set(view.bindings.map((b) => b.target));
  return view.suggested.find((t) => !done.has(t)) ?? '';
}

/** Whether the form can be sent: a target typed, unless the tool has defaults (git). */
export function canSetUp(view: ToolView, target: string): boolean {
  return view.unavailable === null && (!view.input.target_required || target.trim() !== '');
}

/** One line on what is set up: "Set up for github.com, ghcr.io" or "Not set up". */
export function setupSummary(bindings: readonly Binding[]): string {
  if (bindings.length === 0) return 'Not set up';
  return `Set up for ${bindings.map((b) => b.target).join(', ')}`;
}

/** A program by its file name (`/usr/bin/git` → `git`); a dash when unknown. */
export function programName(path: string | null): string {
  if (!path) return '—';
  const name = path.split('/').filter(Boolean).pop();
  return name ?? path;
}
