// Shared by the UI test files: the test registry and small helpers to open the app and move
// around it like a person would.

import { openApp, shot } from './harness.mjs';

export const tests = [];
export const test = (name, fn) => tests.push({ name, fn });

/** Runs `body` with an app page; saves a capture on failure; always checks the page's health. */
export function withApp(options, body) {
  return async (env) => {
    const { page, finish } = await openApp(env.browser, env.base, env.mockCode, options);
    try {
      await body(page, env);
    } catch (error) {
      await shot(page, `FAILED-${Date.now()}`).catch(() => {});
      throw error;
    } finally {
      await finish();
    }
  };
}

/** Clicks a sidebar entry. */
export const nav = (page, name) =>
  page.getByRole('navigation', { name: 'Main' }).getByRole('button', { name: new RegExp(`^${name}`) }).click();

/** Waits for the screen's h1. */
export const heading = (page, name) => page.getByRole('heading', { level: 1, name }).waitFor();
