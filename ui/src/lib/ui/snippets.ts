// The command lines the summary screens offer to copy: how to hand a connection to a tool.
// CONN is what the CLI accepts: the provider id when it has one connection, else
// provider:account, else the connection id (README "CONN is ...").

import type { ConnectionSummary } from '../api/types';

type Conn = Pick<ConnectionSummary, 'id' | 'provider' | 'account'>;

/** The shortest CONN that names this connection unambiguously among `all`. */
export function connSpec(conn: Conn, all: readonly Conn[]): string {
  const sameProvider = all.filter((c) => c.provider === conn.provider && c.id !== conn.id);
  if (sameProvider.length === 0) return conn.provider;
  const sameAccount = sameProvider.some((c) => c.account === conn.account);
  if (!sameAccount && conn.account && /^[^\s'"$`\\]+$/.test(conn.account)) {
    return `${conn.provider}:${conn.account}`;
  }
  return conn.id;
}

/** The tool people most often run with a provider's credentials. */
const TOOLS: Record<string, string> = {
  hetzner: 'hcloud server list',
  scaleway: 'scw instance server list',
  ovhcloud: 'terraform apply',
  'ovhcloud-oauth2': 'terraform apply',
  exoscale: 'exo compute instance list',
  contabo: 'cntb get instances',
  aws: 'aws sts get-caller-identity',
  'digitalocean-token': 'doctl compute droplet list',
  'linode-token': 'linode-cli linodes list',
  'upcloud-token': 'upctl server list',
  upcloud: 'upctl server list',
  vultr: 'vultr-cli instance list',
  cloudflare: 'terraform apply',
  github: 'gh repo list',
  gitlab: 'glab repo list',
  'gitlab-self-managed': 'glab repo list',
};

export function suggestedTool(provider: string): string {
  return TOOLS[provider] ?? 'terraform apply';
}

export function execSnippet(spec: string, tool: string): string {
  return `keyhaven exec --with ${spec} -- ${tool}`;
}

export function envSnippet(spec: string): string {
  return `eval "$(keyhaven env ${spec})"`;
}

/** Several connections handed to one tool at once. */
export function execManySnippet(specs: readonly string[], tool = 'terraform apply'): string {
  return `keyhaven exec ${specs.map((s) => `--with ${s}`).join(' ')} -- ${tool}`;
}
