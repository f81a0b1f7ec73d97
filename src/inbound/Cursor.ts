/**
 * Where the plugin stands in one (agent, channel): the one position catch-up resumes from. It
 * moves with every message handled in socket order, waking or not, so a reconnect after a busy
 * stretch reads only what it missed.
 */
import { Data } from "effect"

export type Cursor = Data.TaggedEnum<{
  /** The last message handled there: a catch-up reads what came after it. */
  After: { readonly messageId: string }
  /**
   * No message handled there yet, in a channel the agent was in when the plugin started:
   * messages Fabric stamped after this instant are new, older ones are not (profile.md v1.1: a
   * first run without a stored position; `replay_on_start` off).
   */
  NewSince: { readonly instantMs: number }
  /** Everything in the channel is new to the agent: a channel it joined while the plugin ran. */
  Beginning: {}
}>
export const Cursor = Data.taggedEnum<Cursor>()
