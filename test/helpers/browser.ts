/**
 * A real browser for end-to-end tests: Debian's Chromium (/usr/bin/chromium) driven by playwright-core,
 * headless. Every `newPage()` opens its own browser context, so each test starts with no cookies and no
 * provider session. Requests to anything but loopback are aborted and recorded, so a page that tries to
 * reach the internet fails the test that checks `blockedRequests` instead of hanging on a dead network.
 */
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';

/** Debian's Chromium; never `npx playwright install` (no network, and the system build is what we test). */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** The flags headless Chromium needs here (running as root, no GPU, no network besides loopback); see TOOLCHAIN.md. */
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** How long a locator action or navigation may take before the test fails (playwright's default is 30 s). */
const ACTION_TIMEOUT_MS = 15_000;

/** A launched browser. */
export interface TestBrowser {
  browser: Browser;
  /** A page in a fresh context (own cookie jar); close it with its context, or leave it to `close()`. */
  newPage(): Promise<Page>;
  /** Every non-loopback URL a page tried to load (aborted). */
  blockedRequests: string[];
  /** Closes every context and the browser. */
  close(): Promise<void>;
}

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);

/**
 * How long one Chromium start may take. Playwright's own default is 3 minutes, past the runner's 120 s per
 * file, so a start that stalls on a loaded machine would take the whole file down; it is tried once more.
 */
const LAUNCH_TIMEOUT_MS = 30_000;

function launchChromium() {
  return chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, chromiumSandbox: false, args: CHROMIUM_ARGS, timeout: LAUNCH_TIMEOUT_MS });
}

/** Launches headless Chromium. */
export async function launchBrowser(): Promise<TestBrowser> {
  const browser = await launchChromium().catch((err: unknown) => {
    process.stderr.write(`test browser: Chromium did not start (${String(err).split('\n')[0]}); trying once more\n`);
    return launchChromium();
  });
  const contexts = new Set<BrowserContext>();
  const blockedRequests: string[] = [];
  return {
    browser,
    blockedRequests,
    async newPage() {
      const context = await browser.newContext();
      contexts.add(context);
      context.once('close', () => contexts.delete(context));
      context.setDefaultTimeout(ACTION_TIMEOUT_MS);
      context.setDefaultNavigationTimeout(ACTION_TIMEOUT_MS);
      // Only URLs that leave the machine are intercepted; loopback traffic goes straight through.
      await context.route(
        (url) => (url.protocol === 'http:' || url.protocol === 'https:' || url.protocol === 'ws:' || url.protocol === 'wss:') && !LOOPBACK_HOSTS.has(url.hostname),
        async (route) => {
          blockedRequests.push(route.request().url());
          await route.abort('blockedbyclient');
        },
      );
      return context.newPage();
    },
    async close() {
      await Promise.all([...contexts].map((context) => context.close().catch(() => undefined)));
      await browser.close();
    },
  };
}
