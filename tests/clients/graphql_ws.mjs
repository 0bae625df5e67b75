// graphql-ws's own client alone, as its README sets it up (plus the `ws` implementation,
// which Node 20 needs, and the retry options of lib.mjs), with a member's bearer token in
// connection_init and the resume recipe. No HTTP: the starting cursor comes from config
// (the app would have read Query.eventCursor). Lines: "connected", "event"; commands: "stop".
import { createClient } from "graphql-ws";
import WebSocket from "ws";
import { config, emit, onCommands, operation, retryOptions } from "./lib.mjs";
import { subscribeResumable } from "./resume.mjs";

const client = createClient({
  url: config.wsUrl,
  webSocketImpl: WebSocket,
  connectionParams: { authorization: `Bearer ${config.token}` },
  ...retryOptions,
  on: { connected: (_socket, _payload, wasRetry) => emit({ type: "connected", wasRetry }) },
});

subscribeResumable(client, { query: operation("InboxEvents"), variables: { after: config.after } }, {
  next: (result) => emit({ type: "event", data: result.data ?? null, errors: result.errors }),
  error: (error) => emit({ type: "subscriptionError", message: String(error?.message ?? error?.reason ?? error) }),
  complete: () => emit({ type: "subscriptionComplete" }),
});
emit({ type: "ready", after: config.after });
onCommands({ stop: () => client.dispose() });
