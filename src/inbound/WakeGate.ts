/**
 * Which Fabric messages wake the agent. Pure: the guild computes `wakeup` (mentions, or
 * `wakeup: true` in the POST), the plugin never parses mentions itself.
 */
import type { ChannelXType, Command } from "../fabric/FabricContract.js"

/** What of a message the gate looks at. */
export interface Wakeable {
  readonly wakeup: boolean
  readonly command?: Command | null
}

/**
 * A direct message always wakes; in any other channel a message that asks to, or one invoking
 * a slash command the agent registered (profile.md v1.1: `command.owner_id` is the agent's
 * Fabric user). A command owned by someone else is no reason to wake the agent.
 */
export const wakes = (xType: ChannelXType, message: Wakeable, agentUserId: string): boolean =>
  xType === "dm" || message.wakeup || isOwnCommand(message, agentUserId)

/** The message invokes a slash command registered by the agent itself. */
export const isOwnCommand = (message: Wakeable, agentUserId: string): boolean =>
  message.command != null && message.command.owner_id === agentUserId

/** The agent's own messages come back on its socket; they never wake it. */
export const isOwnMessage = (authorId: string, agentUserId: string): boolean => authorId === agentUserId
