// Unit tests of the Connect by URL and MCP wording (src/lib/ui/byurl.ts).
import { describe, expect, it } from 'vitest';
import type { Preview } from '../../src/lib/api/types';
import { canConnect, MCP_CLIENT_NAMES, providersAddCommand, registrationLine } from '../../src/lib/ui/byurl';

const preview = (partial: Partial<Preview> = {}): Preview => ({
  resource: 'https://mcp.example.com/mcp',
  issuer: 'https://auth.example.com',
  scopes: ['read'],
  provider_id: 'mcp-example-com-mcp',
  registered: false,
  can_register: true,
  ...partial,
});

describe('connect by URL', () => {
  it('says whether Keyhaven registers itself, reuses its registration, or cannot', () => {
    expect(registrationLine(preview())).toMatch(/^Keyhaven will register itself there/);
    expect(registrationLine(preview({ registered: true, can_register: false }))).toMatch(/^Reusing Keyhaven’s registration/);
    expect(registrationLine(preview({ can_register: false }))).toMatch(/does not let Keyhaven register/);
    expect(canConnect(preview())).toBe(true);
    expect(canConnect(preview({ registered: true, can_register: false }))).toBe(true);
    expect(canConnect(preview({ can_register: false }))).toBe(false);
  });
  it('offers the providers add command with the id and issuer filled in, quoted for the shell', () => {
    expect(providersAddCommand(preview())).toBe(
      'keyhaven providers add --id mcp-example-com-mcp --issuer https://auth.example.com --client-id CLIENT_ID',
    );
    expect(providersAddCommand(preview({ issuer: "https://a.example/t?x=1&y='2'" }))).toBe(
      "keyhaven providers add --id mcp-example-com-mcp --issuer 'https://a.example/t?x=1&y='\\''2'\\''' --client-id CLIENT_ID",
    );
  });
  it('names every MCP client', () => {
    expect(Object.keys(MCP_CLIENT_NAMES)).toEqual(['claude-desktop', 'claude-code', 'cursor', 'vscode', 'windsurf', 'gemini', 'zed', 'codex']);
  });
});
