/**
 * JSON-RPC 2.0 framing, one message per line: classifying an incoming line and encoding the
 * plugin's replies. Pure functions; the server decides what to do with each kind.
 */
import { Schema } from "effect"
import { ErrorCodes } from "./HostProtocol.js"

export type RequestId = string | number

export interface Request {
  readonly _tag: "Request"
  readonly id: RequestId
  readonly method: string
  readonly params: unknown
}

export interface Notification {
  readonly _tag: "Notification"
  readonly method: string
  readonly params: unknown
}

/** A reply from the host to a request of ours; the plugin sends none, so these are ignored. */
export interface Reply {
  readonly _tag: "Reply"
}

/** A line that must be answered with an error (`id` is null when it could not be read). */
export interface Invalid {
  readonly _tag: "Invalid"
  readonly id: RequestId | null
  readonly code: number
  readonly message: string
}

export type Incoming = Request | Notification | Reply | Invalid

const isObject = (u: unknown): u is Record<string, unknown> => typeof u === "object" && u !== null && !Array.isArray(u)
const isId = (u: unknown): u is RequestId => typeof u === "string" || (typeof u === "number" && Number.isFinite(u))

/**
 * The key of a request id among those under way: by type and value, so that `"1"` and `1` are
 * two requests (JSON-RPC compares ids as the JSON values they are).
 */
export const requestIdKey = (id: RequestId): string => JSON.stringify(id)

/** Params nested deeper than this are refused: decoding and error messages recurse on them. */
export const MAX_PARAMS_DEPTH = 64

/** Whether `value` nests objects or arrays more than `limit` levels deep (iterative: no stack). */
export const nestedDeeperThan = (value: unknown, limit: number): boolean => {
  const stack: Array<readonly [unknown, number]> = [[value, 0]]
  while (stack.length > 0) {
    const [current, depth] = stack.pop()!
    if (typeof current !== "object" || current === null) continue
    if (depth >= limit) return true
    for (const child of Object.values(current)) stack.push([child, depth + 1])
  }
  return false
}

const invalid = (id: RequestId | null, code: number, message: string): Invalid => ({ _tag: "Invalid", id, code, message })

export const parseLine = (line: string): Incoming => {
  let json: unknown
  try {
    json = JSON.parse(line)
  } catch (e) {
    return invalid(null, ErrorCodes.parseError, `parse error: ${(e as Error).message}; send one JSON-RPC message per line`)
  }
  return classify(json)
}

export const classify = (json: unknown): Incoming => {
  if (!isObject(json)) {
    return invalid(null, ErrorCodes.invalidRequest, "invalid request: expected a JSON-RPC 2.0 object (batches are not supported)")
  }
  const id = isId(json.id) ? json.id : null
  if (json.jsonrpc !== "2.0") return invalid(id, ErrorCodes.invalidRequest, 'invalid request: "jsonrpc" must be "2.0"')
  if (json.method === undefined && ("result" in json || "error" in json) && id !== null) return { _tag: "Reply" }
  if (typeof json.method !== "string") return invalid(id, ErrorCodes.invalidRequest, 'invalid request: "method" must be a string')
  if ("id" in json && json.id !== undefined) {
    if (id === null) return invalid(null, ErrorCodes.invalidRequest, 'invalid request: "id" must be a string or a number')
    if (nestedDeeperThan(json.params, MAX_PARAMS_DEPTH)) {
      return invalid(
        id,
        ErrorCodes.invalidParams,
        `invalid params for ${json.method}: nested more than ${MAX_PARAMS_DEPTH} levels deep; send flatter arguments`
      )
    }
    return { _tag: "Request", id, method: json.method, params: json.params }
  }
  return { _tag: "Notification", method: json.method, params: json.params }
}

export const resultLine = (id: RequestId, result: unknown): string => JSON.stringify({ jsonrpc: "2.0", id, result }) + "\n"

export const errorLine = (id: RequestId | null, code: number, message: string, data?: unknown): string =>
  JSON.stringify({ jsonrpc: "2.0", id, error: data === undefined ? { code, message } : { code, message, data } }) + "\n"

export const notificationLine = (method: string, params?: unknown): string =>
  JSON.stringify(params === undefined ? { jsonrpc: "2.0", method } : { jsonrpc: "2.0", method, params }) + "\n"

/** A failed request: becomes a JSON-RPC error reply with this code and message. */
export class RpcError extends Schema.TaggedError<RpcError>()("RpcError", {
  code: Schema.Number,
  message: Schema.String
}) {}
