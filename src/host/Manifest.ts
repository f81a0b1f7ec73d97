import { PLUGIN_NAME, type Binding } from "../profile/ProfileSchema.js"
import type { ToolInfo } from "./HostProtocol.js"
import { VERSION } from "../version.js"

/** `plexum/manifest` (host-protocol.md): one channel per binding, every tool. */
export const manifest = (bindings: ReadonlyArray<Binding>, catalog: ReadonlyArray<ToolInfo>) => ({
  name: PLUGIN_NAME,
  version: VERSION,
  activation: "lazy",
  executable: "plexum-fabric-channel-plugin",
  contracts: {
    channels: bindings.map((binding) => ({ name: binding.name, outbound_tool: "send" })),
    tools: catalog.map((tool) => ({ name: tool.name, description: tool.description, input_schema: tool.inputSchema }))
  }
})
