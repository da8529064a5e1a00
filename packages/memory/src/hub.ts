import { type Clock, systemClock } from '@ztap/cluster';
import { HubState } from './hub-state.ts';

const states = new WeakMap<MemoryHub, HubState>();

/**
 * An in-memory cluster: elections that share a hub see each other, like nodes sharing one etcd.
 * A handle only: what it holds (members, leader, policies) is reached through the elections that
 * use it, so holding a hub does not let anyone join, heartbeat or resign on a node's behalf.
 */
export class MemoryHub {
  static #default: MemoryHub | undefined;

  /** The process-wide hub that elections use when given none. */
  static get default(): MemoryHub {
    MemoryHub.#default ??= new MemoryHub();
    return MemoryHub.#default;
  }

  /** `clock` keeps the hub's time (heartbeat timeouts, `initialLeadership`); the system clock by default. */
  constructor(options: { clock?: Clock } = {}) {
    states.set(this, new HubState(options.clock ?? systemClock));
  }
}

/** The store behind `hub`, for this package's elections and policy sync. */
export function stateOf(hub: MemoryHub): HubState {
  return states.get(hub) as HubState;
}
