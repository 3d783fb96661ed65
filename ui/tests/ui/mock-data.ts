// Realistic data for the UI tests' mocked Rust side: a catalog with OAuth and cloud providers,
// connections in every status (one with JWT access and ID tokens), and audit events. Times are
// relative to when the page loaded, so countdowns show sensible values.

import type {
  AuditEvent,
  AuthMode,
  Binding,
  Category,
  ConnectionDetails,
  CredentialField,
  FieldInfo,
  ProviderInfo,
  ProviderSummary,
  RedirectKind,
  SetupInput,
  Tool,
  ToolView,
  UnverifiedJwt,
  VariableInfo,
} from '../../src/lib/api/types';

export const T0 = Date.now();
export const iso = (offsetSecs: number) => new Date(T0 + offsetSecs * 1000).toISOString();

type Def = {
  id: string;
  name: string;
  mode: AuthMode;
  categories: string[];
  /** As in the catalog file: other names, the simple-icons slug (none: the letter badge). */
  aliases?: string[];
  icon?: string | null;
  configured?: boolean;
  scopes?: string[];
  redirects?: RedirectKind[];
  secretRequired?: boolean;
  variables?: VariableInfo[];
  fields?: CredentialField[];
  env?: string[];
  register?: string | null;
  legacy?: boolean;
};

const f = (name: string, label: string, secret: boolean, extra: Partial<CredentialField> = {}): CredentialField => ({
  name,
  label,
  help: '',
  secret,
  pattern: null,
  optional: false,
  create_url: null,
  permissions: null,
  ...extra,
});

const DEFS: Def[] = [
  { id: 'github', name: 'GitHub', mode: 'oauth2', categories: ['dev-tools', 'source-control'], icon: 'github', configured: true, scopes: ['read:user', 'user:email'], redirects: ['loopback'], secretRequired: true, env: ['GH_TOKEN', 'GITHUB_TOKEN'], register: 'https://github.com/settings/applications/new' },
  { id: 'gitlab', name: 'GitLab', mode: 'oauth2', categories: ['dev-tools', 'source-control'], icon: 'gitlab', configured: false, scopes: ['read_user', 'openid', 'profile', 'email'], redirects: ['deep-link', 'loopback'], secretRequired: false, env: ['GITLAB_TOKEN'], register: 'https://gitlab.com/-/user_settings/applications' },
  {
    id: 'gitlab-self-managed', name: 'GitLab (self-managed)', mode: 'oauth2', categories: ['dev-tools', 'source-control'], icon: 'gitlab', aliases: ['gitlab-ce', 'gitlab-ee'], configured: true, scopes: ['read_user', 'openid'], redirects: ['deep-link', 'loopback'], register: null,
    variables: [{ name: 'host', label: 'GitLab host', help: 'Host name of your GitLab instance, optionally with :port (no scheme, no path).', pattern: '[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+(?::[0-9]{1,5})?', default: null, example: 'gitlab.example.com' }],
  },
  { id: 'google', name: 'Google', mode: 'oauth2', categories: ['productivity', 'identity'], icon: 'google', aliases: ['gmail', 'google-drive', 'google-workspace', 'google-calendar', 'youtube'], configured: true, scopes: ['openid', 'email', 'profile'], redirects: ['loopback'], secretRequired: true },
  {
    id: 'microsoft', name: 'Microsoft (Entra ID / Microsoft account)', mode: 'oauth2', categories: ['productivity', 'identity', 'cloud'], aliases: ['entra', 'entra-id', 'azure-ad', 'onedrive', 'outlook', 'office-365', 'microsoft-365', 'teams', 'sharepoint', 'microsoft-graph'], configured: true, scopes: ['openid', 'profile', 'email', 'offline_access', 'User.Read'], redirects: ['deep-link', 'loopback'],
    variables: [{ name: 'tenant', label: 'Tenant', help: 'common, organizations, consumers, or your tenant id.', pattern: '[A-Za-z0-9.-]+', default: 'common', example: 'contoso.onmicrosoft.com' }],
  },
  { id: 'slack', name: 'Slack', mode: 'oauth2', categories: ['communication', 'productivity'], configured: true, scopes: ['channels:read', 'chat:write'], redirects: ['loopback'] },
  { id: 'notion', name: 'Notion', mode: 'oauth2', categories: ['productivity', 'knowledge'], icon: 'notion', configured: false, scopes: [], redirects: ['loopback'], secretRequired: true },
  { id: 'linear', name: 'Linear', mode: 'oauth2', categories: ['dev-tools', 'project-management'], icon: 'linear', configured: false, scopes: ['read'], redirects: ['loopback'] },
  {
    id: 'hetzner', name: 'Hetzner Cloud', mode: 'api_key', categories: ['cloud'], icon: 'hetzner', env: ['HCLOUD_TOKEN'], register: 'https://console.hetzner.cloud/',
    fields: [f('token', 'API token', true, { help: 'Hetzner Console -> your project -> Security -> API tokens -> Generate API token.', pattern: '[A-Za-z0-9]{64}', create_url: 'https://console.hetzner.cloud/', permissions: 'Read (Read & Write for tools that create servers)' })],
  },
  {
    id: 'scaleway', name: 'Scaleway', mode: 'api_key', categories: ['cloud'], icon: 'scaleway', env: ['SCW_ACCESS_KEY', 'SCW_SECRET_KEY', 'SCW_DEFAULT_PROJECT_ID'], register: 'https://console.scaleway.com/iam/api-keys',
    fields: [
      f('access_key', 'Access key', false, { help: 'Console -> IAM -> API keys -> Generate an API key.', pattern: 'SCW[A-Z0-9]{17}', create_url: 'https://console.scaleway.com/iam/api-keys', permissions: 'IAMReadOnly (for Keyhaven’s check) plus what your deployments need' }),
      f('secret_key', 'Secret key', true, { help: 'Shown once when the key is created.', pattern: '[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}' }),
      f('default_project_id', 'Default project ID', false, { help: 'Optional; the key’s own default project is used otherwise.', optional: true }),
    ],
  },
  {
    id: 'ovhcloud', name: 'OVHcloud (API keys)', mode: 'api_key', categories: ['cloud'], icon: 'ovh', aliases: ['ovh', 'ovh-us', 'ovh-ca', 'ovhcloud-us', 'ovhcloud-ca'], env: ['OVH_ENDPOINT', 'OVH_APPLICATION_KEY', 'OVH_APPLICATION_SECRET', 'OVH_CONSUMER_KEY'], register: 'https://eu.api.ovh.com/createToken/',
    variables: [{ name: 'endpoint', label: 'API endpoint', help: 'ovh-eu (Europe), ovh-ca (Canada) or ovh-us (United States).', pattern: 'ovh-eu|ovh-ca|ovh-us', default: 'ovh-eu', example: 'ovh-eu' }],
    fields: [f('application_key', 'Application key', false, { pattern: '[A-Za-z0-9]{16}' }), f('application_secret', 'Application secret', true, { pattern: '[A-Za-z0-9]{32}' }), f('consumer_key', 'Consumer key', true, { pattern: '[A-Za-z0-9]{32}' })],
  },
  {
    id: 'ovhcloud-oauth2', name: 'OVHcloud (service account)', mode: 'oauth2_client_credentials', categories: ['cloud'], icon: 'ovh', env: ['OVH_CLIENT_ID', 'OVH_CLIENT_SECRET'],
    fields: [f('client_id', 'Client ID', false), f('client_secret', 'Client secret', true)],
  },
  {
    id: 'exoscale', name: 'Exoscale', mode: 'api_key', categories: ['cloud'], icon: 'exoscale', env: ['EXOSCALE_API_KEY', 'EXOSCALE_API_SECRET', 'EXOSCALE_ZONE'],
    variables: [{ name: 'zone', label: 'Zone', help: 'The zone whose API host is used (keys work in all zones).', pattern: 'ch-gva-2|ch-dk-2|de-fra-1|de-muc-1|at-vie-1|at-vie-2|bg-sof-1|hr-zag-1', default: 'ch-gva-2', example: 'ch-gva-2' }],
    fields: [f('api_key', 'API key', false, { pattern: 'EXO[0-9a-f]{24}' }), f('api_secret', 'API secret', true, { pattern: '[A-Za-z0-9_-]{43}' })],
  },
  {
    id: 'contabo', name: 'Contabo', mode: 'oauth2_password', categories: ['cloud'], icon: 'contabo', legacy: true, env: ['CNTB_OAUTH2_CLIENT_ID', 'CNTB_OAUTH2_CLIENT_SECRET', 'CNTB_OAUTH2_USER', 'CNTB_OAUTH2_PASS'],
    fields: [f('client_id', 'Client ID', false), f('client_secret', 'Client secret', true), f('username', 'API user (e-mail)', false, { pattern: '[^@\\s]+@[^@\\s]+' }), f('password', 'API password', true)],
  },
  {
    id: 'aws', name: 'Amazon Web Services', mode: 'api_key', categories: ['cloud'], aliases: ['amazon-web-services'], env: ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'AWS_REGION', 'AWS_DEFAULT_REGION'],
    variables: [{ name: 'region', label: 'Region', help: 'The region for the STS endpoint and for your tools (AWS_REGION).', pattern: '[a-z]{2}(-gov)?-[a-z]+-[0-9]', default: 'us-east-1', example: 'eu-central-1' }],
    fields: [f('access_key_id', 'Access key ID', false, { pattern: '(AKIA|ASIA)[A-Z0-9]{16}' }), f('secret_access_key', 'Secret access key', true, { pattern: '[A-Za-z0-9/+]{40}' }), f('session_token', 'Session token', true, { optional: true, help: 'Only for temporary (ASIA...) credentials.' })],
  },
  // Beyond the first screens: a slice of the rest of the catalog, with and without icons.
  { id: 'x', name: 'X (Twitter)', mode: 'oauth2', categories: ['social'], icon: 'x', aliases: ['twitter'], scopes: ['tweet.read', 'users.read', 'offline.access'], redirects: ['loopback'] },
  { id: 'discord', name: 'Discord', mode: 'oauth2', categories: ['communication', 'social'], icon: 'discord', scopes: ['identify', 'email'], redirects: ['loopback'] },
  { id: 'spotify', name: 'Spotify', mode: 'oauth2', categories: ['media'], icon: 'spotify', scopes: ['user-read-email'], redirects: ['loopback'] },
  { id: 'dropbox', name: 'Dropbox', mode: 'oauth2', categories: ['storage', 'productivity'], icon: 'dropbox', scopes: ['account_info.read'], redirects: ['loopback'] },
  { id: 'figma', name: 'Figma', mode: 'oauth2', categories: ['design'], icon: 'figma', scopes: ['current_user:read'], redirects: ['loopback'] },
  { id: 'okta', name: 'Okta', mode: 'oauth2', categories: ['identity'], icon: 'okta', scopes: ['openid', 'profile', 'email', 'offline_access'], redirects: ['loopback'] },
  { id: 'paypal', name: 'PayPal', mode: 'oauth2', categories: ['finance', 'commerce'], icon: 'paypal', aliases: [], scopes: ['openid', 'email'], redirects: ['loopback'] },
  { id: 'pagerduty', name: 'PagerDuty', mode: 'oauth2', categories: ['monitoring', 'dev-tools'], icon: 'pagerduty', scopes: ['read'], redirects: ['loopback'] },
  { id: 'sentry-mcp', name: 'Sentry (MCP server)', mode: 'oauth2', categories: ['mcp', 'monitoring'], icon: 'sentry', scopes: [], redirects: ['loopback'] },
  { id: 'api-key', name: 'Generic API key (bearer)', mode: 'api_key', categories: ['generic'], aliases: ['bearer-token'], env: ['API_KEY'], fields: [f('token', 'API key', true)] },
];

/** Core's catalog::CATEGORIES (crates/keyhaven-core/src/catalog/categories.rs; a unit test keeps them equal). */
export const CATEGORIES: Category[] = [
  { id: 'dev-tools', label: 'Developer tools' },
  { id: 'source-control', label: 'Source control' },
  { id: 'hosting', label: 'Hosting and deployment' },
  { id: 'cloud', label: 'Cloud' },
  { id: 'cdn', label: 'CDN and edge' },
  { id: 'dns', label: 'DNS and domains' },
  { id: 'storage', label: 'Storage' },
  { id: 'data', label: 'Data and databases' },
  { id: 'ai', label: 'AI and machine learning' },
  { id: 'monitoring', label: 'Monitoring and incidents' },
  { id: 'security', label: 'Security' },
  { id: 'identity', label: 'Identity' },
  { id: 'productivity', label: 'Productivity' },
  { id: 'project-management', label: 'Project management' },
  { id: 'knowledge', label: 'Notes and knowledge' },
  { id: 'design', label: 'Design' },
  { id: 'scheduling', label: 'Scheduling' },
  { id: 'communication', label: 'Communication' },
  { id: 'email', label: 'Email and messaging' },
  { id: 'social', label: 'Social' },
  { id: 'media', label: 'Media' },
  { id: 'marketing', label: 'Marketing' },
  { id: 'crm', label: 'CRM and sales' },
  { id: 'support', label: 'Customer support' },
  { id: 'commerce', label: 'Commerce' },
  { id: 'finance', label: 'Payments and finance' },
  { id: 'accounting', label: 'Accounting' },
  { id: 'hr', label: 'HR and people' },
  { id: 'fitness', label: 'Fitness' },
  { id: 'mcp', label: 'MCP servers' },
  { id: 'generic', label: 'Generic' },
  { id: 'custom', label: 'Your own providers' },
];

export function summaries(configured: Set<string>, custom: ProviderSummary[]): ProviderSummary[] {
  return [
    ...DEFS.map((d) => ({
      id: d.id,
      name: d.name,
      auth_mode: d.mode,
      custom: false,
      configured: configured.has(d.id),
      redirects: d.redirects ?? [],
      categories: d.categories,
      aliases: d.aliases ?? [],
      icon: d.icon ?? null,
      variables: (d.variables ?? []).map((v) => v.name),
    })),
    ...custom,
  ];
}

export const initiallyConfigured = () => new Set(DEFS.filter((d) => d.configured).map((d) => d.id));

export function info(id: string, configured: Set<string>): ProviderInfo | null {
  const d = DEFS.find((x) => x.id === id);
  if (!d) return null;
  const redirects = d.redirects ?? [];
  return {
    id: d.id,
    name: d.name,
    auth_mode: d.mode,
    legacy: d.legacy ?? false,
    docs_url: `https://docs.example.com/${d.id}`,
    register_url: d.register ?? null,
    categories: d.categories,
    aliases: d.aliases ?? [],
    icon: d.icon ?? null,
    scopes: d.scopes ?? [],
    redirects,
    client_secret_required: d.secretRequired ?? false,
    variables: d.variables ?? [],
    fields: d.fields ?? [],
    env: d.env ?? [],
    configured: configured.has(d.id),
    client_id: null,
    issuer: null,
    authorization_url: null,
    token_url: null,
    revocation_url: null,
    redirect_uris: Object.fromEntries(
      redirects.map((k) => [k, k === 'loopback' ? 'http://127.0.0.1:53682/callback' : `dev.keyhaven:/oauth/callback/${d.id}`]),
    ),
  };
}

const jwt = (claims: Record<string, unknown>, times: Record<string, string>): UnverifiedJwt => ({
  unverified: true,
  header: { alg: 'RS256', kid: 'nOo3ZDrODXEK1jKWhXslHR_KXEg', typ: 'JWT' },
  claims,
  times,
});

const field = (name: string, secret: boolean, length: number, age: number, extra: Partial<FieldInfo> = {}): FieldInfo => ({
  name,
  secret,
  length,
  value: null,
  updated_at: iso(-age),
  age_secs: age,
  jwt: null,
  ...extra,
});

function details(partial: Partial<ConnectionDetails> & Pick<ConnectionDetails, 'id' | 'provider' | 'account' | 'status'>): ConnectionDetails {
  return {
    expires_at: null,
    scopes: [],
    instance: '',
    label: null,
    default: false,
    renewable: Boolean(partial.has_refresh_token),
    scopes_requested: [],
    token_type: 'Bearer',
    extra: {},
    created_at: iso(-86400 * 21),
    updated_at: iso(-3600),
    fields: [field('access_token', true, 40, 3600)],
    has_refresh_token: false,
    last_error: null,
    ...partial,
  };
}

export function connections(): ConnectionDetails[] {
  const msIat = -900;
  const msExp = 2700;
  return [
    details({
      id: 'c_ms01', provider: 'microsoft', account: 'alice@contoso.com', status: 'connected', expires_at: iso(msExp),
      scopes: ['openid', 'profile', 'email', 'offline_access', 'User.Read'],
      scopes_requested: ['openid', 'profile', 'email', 'offline_access', 'User.Read', 'Mail.Read'],
      has_refresh_token: true,
      extra: { tenant: 'contoso.onmicrosoft.com' },
      fields: [
        field('access_token', true, 1532, 900, {
          jwt: jwt(
            { aud: '00000003-0000-0000-c000-000000000000', iss: 'https://sts.windows.net/72f988bf/', name: 'Alice Martin', oid: '6f1e4c2b-8a33-4d52-9d2e-1b0c5f7a9e11', scp: 'openid profile email User.Read', tid: '72f988bf-86f1-41af-91ab-2d7cd011db47', upn: 'alice@contoso.com', exp: Math.floor((T0 + msExp * 1000) / 1000), iat: Math.floor((T0 + msIat * 1000) / 1000), nbf: Math.floor((T0 + msIat * 1000) / 1000) },
            { exp: iso(msExp), iat: iso(msIat), nbf: iso(msIat) },
          ),
        }),
        field('id_token', true, 1190, 900, {
          jwt: jwt(
            { aud: '1c6a2f0e-5d3b-4e8f-a7c1-2b9d0e4f6a35', email: 'alice@contoso.com', iss: 'https://login.microsoftonline.com/72f988bf/v2.0', name: 'Alice Martin', preferred_username: 'alice@contoso.com', sub: 'AAAAAAAAAAAAAAAAAAAAAIkzqFVrSaSaFHy782bbtaQ', exp: 0, iat: 0 },
            { exp: iso(msExp), iat: iso(msIat), auth_time: iso(msIat - 30) },
          ),
        }),
        field('refresh_token', true, 1024, 86400 * 3),
        field('token_type', false, 6, 900, { value: 'Bearer' }),
      ],
    }),
    details({ id: 'c_gh01', provider: 'github', account: 'alice-martin', status: 'connected', expires_at: null, scopes: ['read:user', 'user:email', 'repo'], scopes_requested: ['read:user', 'user:email', 'repo'] }),
    details({ id: 'c_go01', provider: 'google', account: 'alice.martin@gmail.com', status: 'expiring', expires_at: iso(245), scopes: ['openid', 'email', 'profile'], scopes_requested: ['openid', 'email', 'profile'], has_refresh_token: true, fields: [field('access_token', true, 218, 3355), field('refresh_token', true, 103, 86400 * 9)] }),
    details({ id: 'c_gl01', provider: 'gitlab', account: 'amartin', status: 'expired', expires_at: iso(-7300), scopes: ['read_user', 'openid'], scopes_requested: ['read_user', 'openid'], has_refresh_token: true, last_error: 'refresh failed: the provider did not answer (HTTP 503); will retry' }),
    details({ id: 'c_sl01', provider: 'slack', account: 'acme-team', status: 'needs_reauth', expires_at: iso(-86400), scopes: ['channels:read'], scopes_requested: ['channels:read', 'chat:write'], has_refresh_token: true, last_error: 'invalid_grant: the refresh token was revoked; reconnect to sign in again' }),
    details({ id: 'c_hz01', provider: 'hetzner', account: 'web-project', status: 'connected', token_type: null, fields: [field('token', true, 64, 86400 * 40)] }),
    details({ id: 'c_aw01', provider: 'aws', account: 'arn:aws:iam::123456789012:user/deploy', status: 'connected', token_type: null, extra: { region: 'eu-central-1' }, fields: [field('access_key_id', false, 20, 86400 * 12, { value: 'AKIAIOSFODNN7EXAMPLE' }), field('secret_access_key', true, 40, 86400 * 12)] }),
  ];
}

export function auditEvents(): AuditEvent[] {
  const rows: [number, string | null, string, 'cli' | 'desktop', string | null][] = [
    [-60, 'c_ms01', 'token.handed_out', 'cli', 'access_token'],
    [-300, 'c_aw01', 'credentials.env', 'cli', 'exec terraform'],
    [-900, 'c_ms01', 'token.refreshed', 'cli', null],
    [-1800, 'c_gl01', 'token.refresh_failed', 'cli', 'HTTP 503'],
    [-3600, 'c_ms01', 'connection.revealed', 'desktop', 'refresh_token'],
    [-7200, 'c_sl01', 'token.refresh_failed', 'cli', 'invalid_grant'],
    [-86400, 'c_hz01', 'connection.created', 'desktop', null],
    [-86400 * 2, null, 'provider.configured', 'desktop', 'github'],
    [-86400 * 3, 'c_ms01', 'connection.created', 'desktop', null],
    [-86400 * 5, null, 'vault.exported', 'cli', '/home/alice/keyhaven-backup.age'],
    [-86400 * 21, null, 'vault.created', 'desktop', null],
  ];
  return rows.map(([at, conn, action, actor, detail], i) => ({ id: 100 - i, at: iso(at), connection_id: conn, subject: null, action, actor, detail, pid: null, program: null, parent_program: null, tool: null }));
}

// --- tools (connection_tools, setup_tool, remove_tool) -----------------------------------------

export const TOOLS: Tool[] = ['git', 'aws', 'kubectl', 'docker', 'terraform', 'cargo'];

/** The catalog's [tools] hosts per provider: git's, docker's. */
const SUGGESTED: Record<string, Partial<Record<Tool, string[]>>> = {
  github: { git: ['github.com', 'gist.github.com'], docker: ['ghcr.io', 'docker.pkg.github.com'] },
  gitlab: { git: ['gitlab.com'], docker: ['registry.gitlab.com'] },
};
const AWS_KEYS = new Set(['aws', 'scaleway', 'exoscale']);
const NOUNS: Record<Tool, string> = { git: 'host', aws: 'profile', kubectl: 'context', docker: 'registry', terraform: 'host', cargo: 'registry', mcp: 'client/server name' };

/** Where core writes each tool's configuration (for a person whose home is /home/alice). */
export const CONFIG: Record<Tool, string> = {
  git: '/home/alice/.gitconfig',
  aws: '/home/alice/.aws/config',
  kubectl: '/home/alice/.kube/config',
  docker: '/home/alice/.docker/config.json',
  terraform: '/home/alice/.terraformrc',
  cargo: '/home/alice/.cargo/config.toml',
  mcp: '/home/alice/.cursor/mcp.json',
};

export const suggestedTargets = (provider: string, tool: Tool): string[] => SUGGESTED[provider]?.[tool] ?? [];

export function initialBindings(): Binding[] {
  return [
    { tool: 'git', target: 'github.com', connection_id: 'c_gh01', config: CONFIG.git, created_at: iso(-86400 * 4) },
    { tool: 'aws', target: 'deploy', connection_id: 'c_aw01', config: CONFIG.aws, created_at: iso(-86400 * 6) },
  ];
}

const handOut = (at: number, program: string, parent: string) => ({ at: iso(at), pid: 4242, program, parent_program: parent });

/** The last hand-outs per connection and tool, newest first. */
const HAND_OUTS: Record<string, Partial<Record<Tool, ToolView['last_hand_outs']>>> = {
  c_gh01: {
    git: [
      handOut(-120, '/usr/lib/keyhaven/keyhaven-main', '/usr/lib/git-core/git-remote-https'),
      handOut(-3600 * 3, '/usr/lib/keyhaven/keyhaven-main', '/usr/lib/git-core/git-remote-https'),
    ],
  },
  c_aw01: { aws: [handOut(-600, '/usr/lib/keyhaven/keyhaven-main', '/usr/bin/aws')] },
};

export function toolViews(id: string, provider: string, bindings: readonly Binding[]): ToolView[] {
  return TOOLS.map((tool) => {
    const input: SetupInput = { target_noun: NOUNS[tool], target_required: tool !== 'git', region: tool === 'aws', api_version: tool === 'kubectl' };
    return {
      tool,
      bindings: bindings.filter((b) => b.connection_id === id && b.tool === tool),
      suggested: suggestedTargets(provider, tool),
      last_hand_outs: HAND_OUTS[id]?.[tool] ?? [],
      input,
      unavailable: tool === 'aws' && !AWS_KEYS.has(provider) ? `a ${provider} connection holds no AWS access key; connect aws, or an S3-compatible provider such as Scaleway or Exoscale` : null,
    };
  });
}
