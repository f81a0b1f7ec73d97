/**
 * The Plexum session of a Fabric channel (host-protocol.md: `s_fab_<channel_id>`), both ways.
 * A leaf: the host protocol, the profile's routing, the tools and inbound all read it, and it
 * imports nothing.
 */
const PREFIX = "s_fab_"

export const sessionIdOf = (channelId: string) => `${PREFIX}${channelId}`

/** The channel of a session id this plugin issued; undefined for any other id. */
export const channelIdOfSession = (sessionId: string): string | undefined =>
  sessionId.startsWith(PREFIX) && sessionId.length > PREFIX.length ? sessionId.slice(PREFIX.length) : undefined
