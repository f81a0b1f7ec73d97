/**
 * undici's Agent alone (`lib/dispatcher/agent.js`, CommonJS: the class is its export). The
 * package's index also loads fetch, WebSocket, EventSource, the caches and the mocks, which
 * the plugin never uses: bundled, they made ~0.4 MB of the plugin's code and ~2 MB of its heap.
 */
declare module "undici/lib/dispatcher/agent.js" {
  import { Agent } from "undici"
  export default Agent
}
