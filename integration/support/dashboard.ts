import { existsSync } from 'node:fs';
import { EtcdElection, type EtcdElectionOptions } from '@ztap/cluster-etcd';
import { type Browser, chromium, type Page } from 'playwright-core';
import { ZtapProcess } from './ztap.ts';

/** Debian's `chromium` package, driven by playwright-core: no browser download, ever. */
export const CHROMIUM = process.env.ZTAP_CHROMIUM ?? '/usr/bin/chromium';
const CHROMIUM_HINT = `the dashboard's browser tests need Chromium at ${CHROMIUM}: apt-get install chromium (or set ZTAP_CHROMIUM)`;

/** Flags that keep Chromium off every network but loopback (no updates, sync, QUIC or first-run calls). */
const CHROMIUM_FLAGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-dev-shm-usage',
];

/** A headless Chromium with a fresh profile (playwright gives every launch its own temporary one). */
export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(CHROMIUM_HINT);
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_FLAGS, timeout: 60_000 });
}

/** `ztap dashboard` (the built binary) against `endpoints`, and the URL it printed once listening. */
export class DashboardProcess {
  readonly process: ZtapProcess;
  #url: string | undefined;

  constructor(
    endpoints: readonly string[],
    cluster: string,
    args: readonly string[] = [],
    env: Record<string, string> = {},
  ) {
    this.process = new ZtapProcess(
      [
        '--endpoints',
        endpoints.join(','),
        '--cluster',
        cluster,
        '--timeout',
        '1s',
        '--json',
        'dashboard',
        '--listen',
        '127.0.0.1:0',
        ...args,
      ],
      env,
    );
  }

  /** The link it printed (with `?token=` when it made the token up). */
  async url(): Promise<string> {
    this.#url ??= (
      await this.process.json<{ event: string; url: string }>((line) => line.event === 'listening')
    ).url;
    return this.#url;
  }

  /** The base URL without a token. */
  async base(): Promise<string> {
    const url = new URL(await this.url());
    return `${url.origin}/`;
  }

  async stop(): Promise<void> {
    this.process.signal('SIGTERM');
    await this.process.exited;
  }
}

/** A node of the test cluster, in this process: fast to start, stop and make unhealthy. */
export function testNode(
  endpoints: readonly string[],
  cluster: string,
  nodeId: string,
  options: Partial<EtcdElectionOptions> = {},
): EtcdElection {
  return new EtcdElection({
    endpoints: [...endpoints],
    cluster,
    nodeId,
    nodeAddress: `127.0.0.1:${9000 + (nodeId.codePointAt(nodeId.length - 1) ?? 0)}`,
    heartbeatInterval: 500,
    electionTimeout: 2000,
    initialLeadership: 0,
    ...options,
  });
}

/** Waits until the element matching `selector` shows exactly `text` (no sleeps: playwright polls the DOM). */
export async function waitForText(
  page: Page,
  selector: string,
  text: string | RegExp,
  timeout = 15_000,
): Promise<void> {
  const pattern =
    typeof text === 'string' ? new RegExp(`^${text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`) : text;
  await page.locator(selector).filter({ hasText: pattern }).first().waitFor({ state: 'visible', timeout });
}
