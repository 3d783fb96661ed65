// Unit tests of src/lib/ui/snippets.ts (and neighbours): pure logic, no DOM.
import { describe, expect, it } from 'vitest';
import { connSpec, envSnippet, execManySnippet, execSnippet, suggestedTool } from '../../src/lib/ui/snippets';

const c = (id: string, provider: string, account: string) => ({ id, provider, account });

describe('connSpec', () => {
  const hz1 = c('c1', 'hetzner', 'web-project');
  const hz2 = c('c2', 'hetzner', 'db-project');
  const aws = c('c3', 'aws', 'arn:aws:iam::123456789012:user/deploy');
  it('uses the provider id when it has one connection', () => {
    expect(connSpec(aws, [hz1, hz2, aws])).toBe('aws');
  });
  it('uses provider:account when the provider has several', () => {
    expect(connSpec(hz1, [hz1, hz2, aws])).toBe('hetzner:web-project');
  });
  it('falls back to the id when accounts clash or cannot be typed safely', () => {
    expect(connSpec(hz1, [hz1, c('c9', 'hetzner', 'web-project')])).toBe('c1');
    const spaced = c('c4', 'hetzner', 'my project');
    expect(connSpec(spaced, [spaced, hz1])).toBe('c4');
  });
});

describe('snippets', () => {
  it('builds exec and env lines', () => {
    expect(execSnippet('hetzner', suggestedTool('hetzner'))).toBe('keyhaven exec --with hetzner -- hcloud server list');
    expect(envSnippet('scaleway')).toBe('eval "$(keyhaven env scaleway)"');
    expect(execManySnippet(['hetzner', 'aws'])).toBe('keyhaven exec --with hetzner --with aws -- terraform apply');
  });
  it('suggests terraform for providers without a CLI of their own', () => {
    expect(suggestedTool('some-new-cloud')).toBe('terraform apply');
    expect(suggestedTool('aws')).toMatch(/^aws /);
  });
});
