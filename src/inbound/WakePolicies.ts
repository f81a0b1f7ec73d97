/**
 * Who may wake each agent, as plain state the batch core consults per message: every agent's
 * `WakeAdmission` (its effective wake policy), the one agent-loop guard shared by all sessions
 * (a pair is counted whichever guild or socket the messages arrive on), the throttles of the
 * refusal log lines, and the Fabric users of the agents this plugin runs (a v1 node does not say
 * who is an agent: the plugin knows its own).
 */
import { Effect } from "effect"
import { ActiveProfile } from "../profile/ProfileSchema.js"
import { AgentLoopGuard, OncePer, WakeAdmission } from "./WakeAdmission.js"

const HOUR_MS = 3_600_000
const MINUTE_MS = 60_000

export class WakePolicies extends Effect.Service<WakePolicies>()("plexum-fabric/WakePolicies", {
  effect: Effect.gen(function*() {
    const profile = yield* ActiveProfile
    const admissions = new Map<string, WakeAdmission>()
    const agentUsers = new Set<string>()
    return {
      /** The agent's wake policy, resolved once. */
      admissionOf: (agentId: string): WakeAdmission => {
        let admission = admissions.get(agentId)
        if (admission === undefined) {
          admission = new WakeAdmission(profile.config, agentId)
          admissions.set(agentId, admission)
        }
        return admission
      },
      loopGuard: new AgentLoopGuard(),
      /** One info line per refused author per hour. */
      refusalInfo: new OncePer(HOUR_MS),
      /** One warning per looping pair per minute. */
      loopWarning: new OncePer(MINUTE_MS),
      /** Fabric user ids of the agents this plugin runs; a session adds its own at connect. */
      agentUsers: agentUsers as ReadonlySet<string>,
      addAgentUser: (userId: string): void => void agentUsers.add(userId)
    } as const
  })
}) {}
