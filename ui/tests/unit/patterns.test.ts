// Unit tests of src/lib/ui/patterns.ts (and neighbours): pure logic, no DOM.
import { describe, expect, it } from 'vitest';
import { alternationOptions, anchoredRegex, checkPattern, fieldProblem, hasStrayWhitespace } from '../../src/lib/ui/patterns';

describe('checkPattern (anchored like core)', () => {
  it('matches whole values only', () => {
    expect(checkPattern('a'.repeat(64), '[A-Za-z0-9]{64}')).toBe('ok');
    expect(checkPattern('a'.repeat(65), '[A-Za-z0-9]{64}')).toBe('mismatch');
    expect(checkPattern('xx ovh-eu', 'ovh-eu|ovh-ca|ovh-us')).toBe('mismatch');
    expect(checkPattern('ovh-ca', 'ovh-eu|ovh-ca|ovh-us')).toBe('ok');
  });
  it('handles catalog patterns', () => {
    expect(checkPattern('AKIAIOSFODNN7EXAMPLE', '(AKIA|ASIA)[A-Z0-9]{16}')).toBe('ok');
    expect(checkPattern('eu-central-1', '[a-z]{2}(-gov)?-[a-z]+-[0-9]')).toBe('ok');
    expect(checkPattern('us-gov-west-1', '[a-z]{2}(-gov)?-[a-z]+-[0-9]')).toBe('ok');
    expect(checkPattern('gitlab.example.com:8443', '[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+(?::[0-9]{1,5})?')).toBe('ok');
    expect(checkPattern('https://evil/', '[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+')).toBe('mismatch');
    expect(checkPattern('alice@example.com', '[^@\\s]+@[^@\\s]+')).toBe('ok');
  });
  it('reports empty, no pattern, and patterns JavaScript cannot compile', () => {
    expect(checkPattern('', '[a-z]+')).toBe('empty');
    expect(checkPattern('anything', null)).toBe('ok');
    expect(anchoredRegex('(?P<name>x)')).toBeNull();
    expect(checkPattern('x', '(?P<name>x)')).toBe('unchecked');
  });
});

describe('alternationOptions', () => {
  it('lists the choices of a plain alternation', () => {
    expect(alternationOptions('ovh-eu|ovh-ca|ovh-us')).toEqual(['ovh-eu', 'ovh-ca', 'ovh-us']);
    expect(alternationOptions('(fr-par|nl-ams|pl-waw)')).toEqual(['fr-par', 'nl-ams', 'pl-waw']);
    expect(alternationOptions('(?:a\\.example\\.com|b\\.example\\.com)')).toEqual(['a.example.com', 'b.example.com']);
  });
  it('is null for anything else', () => {
    expect(alternationOptions('[a-z]{2}(-gov)?-[a-z]+-[0-9]')).toBeNull();
    expect(alternationOptions('(AKIA|ASIA)[A-Z0-9]{16}')).toBeNull();
    expect(alternationOptions('single')).toBeNull();
    expect(alternationOptions(null)).toBeNull();
  });
});

describe('fieldProblem', () => {
  const field = { label: 'API token', pattern: '[A-Za-z0-9]{64}' };
  it('requires required fields, not optional ones', () => {
    expect(fieldProblem('', field)).toBe('API token is required.');
    expect(fieldProblem('', { ...field, optional: true })).toBeNull();
  });
  it('refuses stray whitespace and wrong formats', () => {
    expect(hasStrayWhitespace(' abc')).toBe(true);
    expect(hasStrayWhitespace('a\nb')).toBe(true);
    expect(fieldProblem(`${'a'.repeat(64)} `, field)).toMatch(/spaces or line breaks/);
    expect(fieldProblem('short', field)).toMatch(/does not look right/);
    expect(fieldProblem('a'.repeat(64), field)).toBeNull();
  });
});
