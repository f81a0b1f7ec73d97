/**
 * Who may wake an agent (profile.md v1.1): the wake policy's verdict on an author, and the
 * agent-loop guard. Plain synchronous code over plain state: it runs per message on the inbound
 * hot path, with the time passed in (`nowMs`), so it is tested without I/O or clocks.
 */
import type { ChannelXType, Member } from "../fabric/FabricContract.js"
import type { PluginConfig } from "../profile/ProfileSchema.js"
import { effectiveWakePolicy, type EffectiveWakePolicy } from "../profile/WakePolicy.js"

/** Why a message was refused; the label of the `refused` counter. */
export type RefusalReason = "not_allowed" | "agent_loop"

export interface Refusal {
  readonly reason: RefusalReason
  /** The config change that would admit the message, for the operator's info line. */
  readonly setting: string
}

/** The rolling window of the agent-loop limit. */
export const AGENT_LOOP_WINDOW_MS = 60_000

/**
 * One agent's wake policy, resolved once per profile: the effective policy, and where each of
 * its fields is set (the agent's entry in `wake_policy.agents`, or the guild-wide field), so a
 * refusal names the one setting an operator would change.
 */
export class WakeAdmission {
  readonly policy: EffectiveWakePolicy
  // Refusals that do not depend on the author are made once: no allocation per message.
  private readonly dmOff: Refusal
  private readonly groupOff: Refusal
  private readonly loop: Refusal
  private readonly allowFromPath: string

  constructor(config: PluginConfig, readonly agentId: string) {
    this.policy = effectiveWakePolicy(config, agentId)
    const own = config.wake_policy.agents[agentId]
    const agentPath = `wake_policy.agents.${agentId}`
    const path = (field: string, overridden: boolean) => (overridden ? `${agentPath}.${field}` : `wake_policy.${field}`)
    this.dmOff = { reason: "not_allowed", setting: `${path("dm", own?.dm !== undefined)}: "open"` }
    this.groupOff = { reason: "not_allowed", setting: `${path("group", own?.group !== undefined)}: "open"` }
    this.allowFromPath = path("allow_from", own?.allow_from !== undefined)
    const limit = this.policy.agentLoopLimit
    this.loop = {
      reason: "agent_loop",
      setting: `${path("agent_loop_limit", own?.agent_loop_limit !== undefined)}: ${Math.max(limit * 2, 20)}` +
        (limit === 0 ? "" : ` (now ${limit})`)
    }
  }

  /**
   * The policy's verdict on `authorId` in a channel of kind `xType`, waking or not: `undefined`
   * when admitted, else the refusal. (A refused author's messages are neither delivered nor
   * recorded as history.)
   */
  refusal(xType: ChannelXType, authorId: string): Refusal | undefined {
    const dm = xType === "dm"
    switch (dm ? this.policy.dm : this.policy.group) {
      case "open":
        return undefined
      case "allowlist":
        return this.policy.allowFrom.has(authorId)
          ? undefined
          : { reason: "not_allowed", setting: `${this.allowFromPath} += "${authorId}"` }
      case "off":
        return dm ? this.dmOff : this.groupOff
    }
  }

  /** The refusal the agent-loop guard's "no" stands for. */
  loopRefusal(): Refusal {
    return this.loop
  }
}

/**
 * Whether an author is an agent: the node says so (`author_kind`, v1.1), or the author is the
 * Fabric user of an agent this plugin runs (a v1 node does not say).
 */
export const isAgentAuthor = (
  message: { readonly author_id: string; readonly author_kind?: Member["kind"] | null },
  pluginAgentUsers: ReadonlySet<string>
): boolean => message.author_kind === "agent" || pluginAgentUsers.has(message.author_id)

/** One (author agent → agent) pair: the times of its admitted wakes, a ring of `limit` slots. */
interface PairWindow {
  readonly times: Array<number>
  /** Index of the oldest slot (the next to overwrite once the ring is full). */
  next: number
  count: number
  newest: number
}

/**
 * The agent-loop limit: per (author agent → agent) pair, at most `limit` wakes in any rolling
 * 60 s (0: never). Every message counts, also one that will be merged into a burst. Memory is
 * `limit` numbers per pair active in the last minute: idle pairs are pruned at most once per
 * window.
 */
export class AgentLoopGuard {
  /** author user id → agent id → window (nested maps: no key string built per message). */
  private readonly pairs = new Map<string, Map<string, PairWindow>>()
  private lastPrune = Number.NEGATIVE_INFINITY

  /** `true`: the wake is admitted and counted; `false`: the pair is over its limit. */
  admit(authorUserId: string, agentId: string, limit: number, nowMs: number): boolean {
    this.pruneEvery(nowMs)
    if (limit <= 0) return false
    let byAgent = this.pairs.get(authorUserId)
    if (byAgent === undefined) {
      byAgent = new Map()
      this.pairs.set(authorUserId, byAgent)
    }
    let pair = byAgent.get(agentId)
    if (pair === undefined || pair.times.length !== limit) {
      // A first wake, or a limit changed by a profile reload: start the window afresh.
      pair = { times: new Array<number>(limit), next: 0, count: 0, newest: nowMs }
      byAgent.set(agentId, pair)
    }
    if (pair.count === limit) {
      // Full: the oldest of the last `limit` wakes must have left the window.
      if (nowMs - pair.times[pair.next]! < AGENT_LOOP_WINDOW_MS) return false
    } else {
      pair.count++
    }
    pair.times[pair.next] = nowMs
    pair.next = (pair.next + 1) % limit
    pair.newest = nowMs
    return true
  }

  /** Pairs currently tracked (for tests and the memory bound). */
  get size(): number {
    let size = 0
    for (const byAgent of this.pairs.values()) size += byAgent.size
    return size
  }

  /** Forgets pairs with no wake in the last window. */
  prune(nowMs: number): void {
    this.lastPrune = nowMs
    for (const [author, byAgent] of this.pairs) {
      for (const [agent, pair] of byAgent) if (nowMs - pair.newest >= AGENT_LOOP_WINDOW_MS) byAgent.delete(agent)
      if (byAgent.size === 0) this.pairs.delete(author)
    }
  }

  private pruneEvery(nowMs: number): void {
    if (nowMs - this.lastPrune >= AGENT_LOOP_WINDOW_MS) this.prune(nowMs)
  }
}

/** The key of an (author → agent) pair for a throttle (the loop warning's `OncePer`). */
export const pairKey = (authorUserId: string, agentId: string): string => `${authorUserId}\u0000${agentId}`

/**
 * At most one `take` per key per `periodMs`: one loop warning per minute per pair, one refusal
 * info line per author per hour. Keys idle for a period are pruned at most once per period.
 */
export class OncePer {
  private readonly last = new Map<string, number>()
  private lastPrune = Number.NEGATIVE_INFINITY

  constructor(readonly periodMs: number) {}

  /** `true` when `key` was not taken in the last period (and takes it now). */
  take(key: string, nowMs: number): boolean {
    if (nowMs - this.lastPrune >= this.periodMs) {
      this.lastPrune = nowMs
      for (const [k, at] of this.last) if (nowMs - at >= this.periodMs) this.last.delete(k)
    }
    const at = this.last.get(key)
    if (at !== undefined && nowMs - at < this.periodMs) return false
    this.last.set(key, nowMs)
    return true
  }

  get size(): number {
    return this.last.size
  }
}
