// graphql-ws's own client in its default configuration (no retry options: its default
// `retryAttempts`, `retryWait` and `shouldRetry`), as an app that never tuned it runs,
// subscribed to InboxEvents. Lines: "closed" (code, reason of every close the client
// sees), "connected" (wasRetry), "event", "subscriptionError"; commands: "stop".
import { createClient } from "graphql-ws";
import WebSocket from "ws";
import { config, emit, onCommands, operation } from "./lib.mjs";

const client = createClient({
  url: config.wsUrl,
  webSocketImpl: WebSocket,
  connectionParams: { authorization: `Bearer ${config.token}` },
  on: {
    connected: (_socket, _payload, wasRetry) => emit({ type: "connected", wasRetry }),
    closed: (event) => emit({ type: "closed", code: event?.code ?? null, reason: event?.reason ?? null }),
  },
});

client.subscribe({ query: operation("InboxEvents"), variables: {} }, {
  next: (result) => emit({ type: "event", data: result.data ?? null, errors: result.errors }),
  error: (error) => emit({ type: "subscriptionError", code: error?.code ?? null,
    message: String(error?.message ?? error?.reason ?? error) }),
  complete: () => emit({ type: "subscriptionComplete" }),
});
emit({ type: "ready" });
onCommands({ stop: () => client.dispose() });
