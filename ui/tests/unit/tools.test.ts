// Unit tests of the Tools section's wording and prefill (src/lib/ui/tools.ts).
import { describe, expect, it } from 'vitest';
import type { Binding, ToolView } from '../../src/lib/api/types';
import { canSetUp, initialTarget, programName, setupSummary, targetLabel, TOOL_NAMES } from '../../src/lib/ui/tools';

const binding = (target: string): Binding => ({ tool: 'git', target, connection_id: 'c_1', config: '/home/a/.gitconfig', created_at: '2025-06-01T10:00:00Z' });
const view = (partial: Partial<ToolView> = {}): ToolView => ({
  tool: 'git',
  bindings: [],
  suggested: [],
  last_hand_outs: [],
  input: { target_noun: 'host', target_required: false, region: false, api_version: false },
  unavailable: null,
  ...partial,
});

describe('tools', () => {
  it('prefills the first suggested target not set up yet', () => {
    expect(initialTarget(view({ suggested: ['github.com', 'gist.github.com'] }))).toBe('github.com');
    expect(initialTarget(view({ suggested: ['github.com', 'gist.github.com'], bindings: [binding('github.com')] }))).toBe('gist.github.com');
    expect(initialTarget(view({ suggested: ['github.com'], bindings: [binding('github.com')] }))).toBe('');
    expect(initialTarget(view())).toBe('');
  });
  it('needs a target unless the tool has defaults, and never where it cannot work', () => {
    expect(canSetUp(view(), '')).toBe(true);
    const kube = view({ tool: 'kubectl', input: { target_noun: 'context', target_required: true, region: false, api_version: true } });
    expect(canSetUp(kube, '  ')).toBe(false);
    expect(canSetUp(kube, 'prod')).toBe(true);
    expect(canSetUp(view({ tool: 'aws', unavailable: 'no AWS key' }), 'work')).toBe(false);
  });
  it('says what is set up and names programs by their file', () => {
    expect(setupSummary([])).toBe('Not set up');
    expect(setupSummary([binding('github.com'), binding('gist.github.com')])).toBe('Set up for github.com, gist.github.com');
    expect(programName('/usr/lib/git-core/git-remote-https')).toBe('git-remote-https');
    expect(programName(null)).toBe('—');
    expect(TOOL_NAMES.aws).toBe('AWS');
    expect(targetLabel('cargo')).toBe('Registry name');
  });
});
