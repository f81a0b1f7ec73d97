/**
 * Who may wake an agent (profile.md v1.1 "Who may wake an agent"): the guild-wide
 * `wake_policy` with the agent's entry in `wake_policy.agents` overriding it field by field.
 * Pure: the inbound core decides with it, and `plexum-fabric-doctor` shows it.
 */
import type { PluginConfig, WakeMode } from "./ProfileSchema.js"

/** One agent's policy, every field resolved. */
export interface EffectiveWakePolicy {
  /** Direct messages. */
  readonly dm: WakeMode
  /** Every channel other than a DM. */
  readonly group: WakeMode
  /** Fabric user ids that pass `"allowlist"`. */
  readonly allowFrom: ReadonlySet<string>
  /** Wakes per rolling 60 s from one agent author to this agent; 0: never. */
  readonly agentLoopLimit: number
}

export const effectiveWakePolicy = (config: PluginConfig, agentId: string): EffectiveWakePolicy => {
  const policy = config.wake_policy
  const own = policy.agents[agentId]
  return {
    dm: own?.dm ?? policy.dm,
    group: own?.group ?? policy.group,
    allowFrom: new Set(own?.allow_from ?? policy.allow_from),
    agentLoopLimit: own?.agent_loop_limit ?? policy.agent_loop_limit
  }
}

/** One line for an operator, e.g. `dm open, group allowlist (2 users), agent loop limit 20/60 s`. */
export const describeWakePolicy = (policy: EffectiveWakePolicy): string => {
  const mode = (m: WakeMode) => (m === "allowlist" ? `allowlist (${policy.allowFrom.size} user${policy.allowFrom.size === 1 ? "" : "s"})` : m)
  const loop = policy.agentLoopLimit === 0 ? "agents never wake it" : `agent loop limit ${policy.agentLoopLimit}/60 s`
  return `dm ${mode(policy.dm)}, group ${mode(policy.group)}, ${loop}`
}
