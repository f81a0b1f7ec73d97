/**
 * Which Fabric messages wake the agent. Pure: the guild computes `wakeup` (mentions, or
 * `wakeup: true` in the POST), the plugin never parses mentions itself.
 */
import type { ChannelXType } from "../fabric/FabricContract.js"

/** A direct message always wakes; in any other channel only a message that asks to. */
export const wakes = (xType: ChannelXType, wakeup: boolean): boolean => xType === "dm" || wakeup

/** The agent's own messages come back on its socket; they never wake it. */
export const isOwnMessage = (authorId: string, agentUserId: string): boolean => authorId === agentUserId
