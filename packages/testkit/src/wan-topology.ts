import { readdirSync, readFileSync } from 'node:fs';
import { type EtcdCluster, type EtcdMember, startEtcdCluster } from '@ztap/cluster-testing';
import { DelayingProxy, dialerPid } from './delaying-proxy.ts';

export interface WanTopologyOptions {
  /** Region names; the global etcd gets one member per region. Default `['eu', 'us', 'ap']`. */
  readonly regions?: readonly string[];
  /**
   * The one-way delay between two regions, ms. Default: 30 ms eu↔us, 50 ms us↔ap, 80 ms eu↔ap (and
   * 40 ms for any other pair): the spread of round trips between real continents, scaled to keep
   * tests short.
   */
  readonly oneWayDelayMs?: (from: string, to: string) => number;
  /** More flags for the global etcd's members (its raft timing, sized for the delays). */
  readonly globalEtcdArgs?: readonly string[];
}

/** One region: its own etcd, and the member of the global etcd that sits in it. */
export interface WanRegion {
  readonly name: string;
  /** The region's own etcd (one member, no delay: a region is one data centre). */
  readonly etcd: EtcdCluster;
  /** The global etcd's member in this region. */
  readonly globalMember: EtcdMember;
  /** The client URL of that member: what this region's nodes use to reach the global etcd. */
  readonly globalEndpoint: string;
}

export interface WanTopology extends AsyncDisposable {
  readonly regions: readonly WanRegion[];
  /** The global etcd: one member per region, WAN delays between them. */
  readonly global: EtcdCluster;
  region(name: string): WanRegion;
  /** The one-way delay between two regions, ms (0 within one). */
  delayMs(from: string, to: string): number;
  /** The largest round trip between two regions, ms. */
  readonly maxRttMs: number;
  /**
   * Cuts a region off: its global member can no longer reach the other members, nor they it (its
   * nodes still reach their regional etcd and that member, which has lost its quorum).
   */
  isolate(region: string): void;
  /** Undoes {@link isolate}. */
  rejoin(region: string): void;
  /**
   * The open connections between global members: which region's member dialled (undefined if it
   * could not be told) and which one it reached.
   */
  peerLinks(): { readonly from: string | undefined; readonly to: string }[];
  stop(): Promise<void>;
}

const DEFAULT_DELAYS: Readonly<Record<string, number>> = { 'eu|us': 30, 'ap|us': 50, 'ap|eu': 80 };

function defaultDelay(from: string, to: string): number {
  if (from === to) return 0;
  return DEFAULT_DELAYS[[from, to].sort().join('|')] ?? 40;
}

/**
 * Starts a multi-region topology on loopback: a one-member etcd per region and a global etcd with
 * one member per region, every member's peer port behind a {@link DelayingProxy} that delays
 * traffic by the one-way delay between the dialling member's region and its own. Which member
 * dialled is read from /proc (Linux), so a region's member can be partitioned from the others in
 * both directions. Local etcd binaries only.
 */
export async function startWanTopology(options: WanTopologyOptions = {}): Promise<WanTopology> {
  const names = [...(options.regions ?? ['eu', 'us', 'ap'])];
  const delay = options.oneWayDelayMs ?? defaultDelay;
  const proxies: DelayingProxy[] = [];
  let global: EtcdCluster | undefined;
  const regionals: EtcdCluster[] = [];
  const proxyUrls: string[] = [];
  // Which region's member dialled: the child process holding the other end of the connection, and
  // the peer URL (its proxy's) on its command line. Works while the cluster is still starting.
  const sourceOf = (socket: Parameters<typeof dialerPid>[0]): string | undefined => {
    const pid = dialerPid(socket, childPids());
    const url = pid === undefined ? undefined : advertisedPeerUrl(pid);
    const index = url === undefined ? -1 : proxyUrls.indexOf(url);
    return index >= 0 ? names[index] : undefined;
  };
  const maxDelay = Math.max(0, ...names.flatMap((a) => names.map((b) => delay(a, b))));
  try {
    global = await startEtcdCluster({
      members: names.length,
      extraArgs: options.globalEtcdArgs ?? [],
      advertisePeerUrl: async ({ index, peerUrl }) => {
        const home = names[index] as string;
        const proxy = await DelayingProxy.start({
          target: peerUrl,
          // Unknown dialler (another OS): the longest delay, the conservative choice.
          delayMs: (source) => (source === undefined ? maxDelay : delay(source, home)),
          identify: sourceOf,
        });
        proxies[index] = proxy;
        proxyUrls[index] = proxy.url;
        return proxy.url;
      },
    });
    for (let index = 0; index < names.length; index++) regionals.push(await startEtcdCluster({ members: 1 }));
  } catch (error) {
    await Promise.all([global?.stop(), ...regionals.map((etcd) => etcd.stop())]);
    await Promise.all(proxies.map((proxy) => proxy.close()));
    throw error;
  }
  const started = global;
  const proxyOf = (region: string) => proxies[names.indexOf(region)] as DelayingProxy;
  const regions: WanRegion[] = names.map((name, index) => ({
    name,
    etcd: regionals[index] as EtcdCluster,
    globalMember: started.members[index] as EtcdMember,
    globalEndpoint: (started.members[index] as EtcdMember).clientUrl,
  }));
  const byName = (name: string): WanRegion => {
    const region = regions.find((candidate) => candidate.name === name);
    if (!region) throw new Error(`no region ${name} (regions: ${names.join(', ')})`);
    return region;
  };
  // A connection from member s to member d goes through d's proxy: it is allowed unless s or d is isolated.
  const isolated = new Set<string>();
  const applyPartitions = () => {
    for (const name of names) {
      const proxy = proxyOf(name);
      proxy.heal();
      if (isolated.has(name)) proxy.cut();
      else for (const source of isolated) proxy.cut(source);
    }
  };
  let stopped: Promise<void> | undefined;
  const stop = () => {
    stopped ??= (async () => {
      await Promise.all([started.stop(), ...regionals.map((etcd) => etcd.stop())]);
      await Promise.all(proxies.map((proxy) => proxy.close()));
    })();
    return stopped;
  };
  return {
    regions,
    global: started,
    region: byName,
    delayMs: delay,
    maxRttMs: 2 * maxDelay,
    isolate(region) {
      byName(region);
      isolated.add(region);
      applyPartitions();
    },
    rejoin(region) {
      byName(region);
      isolated.delete(region);
      applyPartitions();
    },
    peerLinks: () => names.flatMap((to) => proxyOf(to).sources.map((from) => ({ from, to }))),
    stop,
    [Symbol.asyncDispose]: stop,
  };
}

/** This process's children (the etcd members it started), from /proc (Linux). */
function childPids(): number[] {
  const pids: number[] = [];
  try {
    for (const task of readdirSync('/proc/self/task')) {
      const children = readFileSync(`/proc/self/task/${task}/children`, 'utf8').trim();
      if (children) pids.push(...children.split(/\s+/).map(Number));
    }
  } catch {
    // Not Linux, or a task that ended while we looked: fewer candidates.
  }
  return pids;
}

/** The peer URL an etcd process advertises (`--initial-advertise-peer-urls`), from its command line. */
function advertisedPeerUrl(pid: number): string | undefined {
  try {
    const args = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    const index = args.indexOf('--initial-advertise-peer-urls');
    return index >= 0 ? args[index + 1] : undefined;
  } catch {
    return undefined;
  }
}
