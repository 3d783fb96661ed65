// A minimal W3C WebDriver client (Node 20 fetch, no dependencies) for driving the real app
// through tauri-driver: sessions, finding elements by CSS or XPath, clicks, typing, waiting for
// a condition, screenshots. Every call has a timeout so a test never hangs.

const TIMEOUT_MS = 20_000;

export class Driver {
  constructor(base) {
    this.base = base;
    this.session = null;
  }

  async req(method, path, body, timeoutMs = 60_000) {
    const ctrl = new AbortController();
    const timer = setTimeout(() => ctrl.abort(), timeoutMs);
    try {
      const res = await fetch(`${this.base}${path}`, {
        method,
        headers: { 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: ctrl.signal,
      });
      const json = await res.json().catch(() => ({}));
      if (!res.ok) {
        const msg = json?.value?.message ?? JSON.stringify(json);
        throw new Error(`${method} ${path}: HTTP ${res.status}: ${msg}`);
      }
      return json.value;
    } catch (e) {
      if (e.name === 'AbortError') throw new Error(`${method} ${path}: no answer from the driver in ${timeoutMs / 1000} s`);
      throw e;
    } finally {
      clearTimeout(timer);
    }
  }

  async start(application, env = {}) {
    const caps = { capabilities: { alwaysMatch: { 'tauri:options': { application, env } } } };
    const v = await this.req('POST', '/session', caps);
    this.session = v.sessionId;
    return this;
  }

  s(path) {
    return `/session/${this.session}${path}`;
  }

  async quit() {
    if (this.session) await this.req('DELETE', this.s('')).catch(() => {});
    this.session = null;
  }

  /** Elements matching an XPath (or CSS with `css:` prefix). */
  async findAll(selector) {
    const [using, value] = selector.startsWith('css:')
      ? ['css selector', selector.slice(4)]
      : ['xpath', selector];
    const els = await this.req('POST', this.s('/elements'), { using, value });
    return els.map((e) => Object.values(e)[0]);
  }

  /** Waits until `fn()` returns a truthy value; returns it. */
  async until(what, fn, timeoutMs = TIMEOUT_MS) {
    const deadline = Date.now() + timeoutMs;
    let last;
    for (;;) {
      try {
        const v = await fn();
        if (v) return v;
      } catch (e) {
        last = e;
      }
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${last.message}` : ''}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  /** Waits for a displayed element matching `selector`; returns its id. */
  async find(selector, timeoutMs) {
    return this.until(selector, async () => {
      for (const id of await this.findAll(selector)) {
        if (await this.req('GET', this.s(`/element/${id}/displayed`)).catch(() => false)) return id;
      }
      return null;
    }, timeoutMs);
  }

  /** Clicks through the DOM (`element.click()`): WebKitWebDriver's native click waits for the
   * page to settle, and a click that starts a long IPC call (opening the browser) would hold it. */
  async click(selector) {
    const id = await this.find(selector);
    const ref = { 'element-6066-11e4-a52e-4f735466cecf': id };
    await this.req('POST', this.s('/execute/sync'), { script: 'arguments[0].click(); return true;', args: [ref] });
  }

  async type(selector, text) {
    const id = await this.find(selector);
    await this.req('POST', this.s(`/element/${id}/clear`), {}).catch(() => {});
    await this.req('POST', this.s(`/element/${id}/value`), { text });
  }

  async text(selector) {
    const id = await this.find(selector);
    return this.req('GET', this.s(`/element/${id}/text`));
  }

  /** Runs `script` (a function body; `arguments` are `args`) in the page; returns its value. */
  async exec(script, args = []) {
    return this.req('POST', this.s('/execute/sync'), { script, args });
  }

  async pageText() {
    return this.req('POST', this.s('/execute/sync'), { script: 'return document.body.innerText', args: [] });
  }

  /** Waits until the page shows `needle` (a string or RegExp). */
  async waitText(needle, timeoutMs) {
    return this.until(`text ${needle}`, async () => {
      const t = await this.pageText();
      return typeof needle === 'string' ? t.includes(needle) : needle.test(t);
    }, timeoutMs);
  }

  /** Saves a PNG of the window. WebKitWebDriver's snapshot sometimes never answers right after
   * the window was raised by another process (a deep link's second launch); 15 s bounds that. */
  async screenshot(path) {
    const b64 = await this.req('GET', this.s('/screenshot'), undefined, 15_000);
    const fs = await import('node:fs');
    fs.writeFileSync(path, Buffer.from(b64, 'base64'));
  }
}

/** XPath for a button (or link) whose visible text contains `label`. */
export const button = (label) =>
  `//*[self::button or self::a or @role='button'][contains(normalize-space(.), ${JSON.stringify(label)})]`;

/** XPath for any element whose own text contains `label`. */
export const textEl = (label) => `//*[contains(normalize-space(text()), ${JSON.stringify(label)})]`;
