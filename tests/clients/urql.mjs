// @urql/core 6 with its default exchanges (cacheExchange, fetchExchange) plus
// subscriptionExchange over graphql-ws, as urql's documentation sets it up; queries go
// out as GET (urql's default preferGetMethod: "within-url-limit"). With config.cache ==
// "graphcache", the document cache is replaced by Graphcache (@urql/exchange-graphcache),
// urql's normalized cache, given the shipped possibleTypes.
// Lines: "ready", "event", "connected"; commands: "snapshot" (what the cache answers,
// read without a request), "stop".
import { Client, cacheExchange, fetchExchange, gql, subscriptionExchange } from "@urql/core";
import { cacheExchange as graphcacheExchange } from "@urql/exchange-graphcache";
import { createClient } from "graphql-ws";
import WebSocket from "ws";
import { config, emit, onCommands, operation, possibleTypes, recordingFetch, requests, retryOptions,
  eventCursorDocument } from "./lib.mjs";
import { subscribeResumable } from "./resume.mjs";

let token = null;
const wsClient = createClient({
  url: config.wsUrl,
  webSocketImpl: WebSocket,
  connectionParams: () => ({ authorization: `Bearer ${token}` }),
  ...retryOptions,
  on: { connected: (_socket, _payload, wasRetry) => emit({ type: "connected", wasRetry }) },
});

// Objects without an id of their own are embedded in their parent (Graphcache asks to be told).
const embedded = () => null;
const cache = config.cache === "graphcache"
  ? graphcacheExchange({
    possibleTypes: possibleTypes(),
    keys: { InboxConnection: embedded, InboxEdge: embedded, PageInfo: embedded, AssigneeCount: embedded,
      LoginPayload: embedded },
  })
  : cacheExchange;

const client = new Client({
  url: config.httpUrl + "/graphql",
  fetch: recordingFetch,
  fetchOptions: () => (token ? { headers: { authorization: `Bearer ${token}` } } : {}),
  exchanges: [
    cache,
    fetchExchange,
    subscriptionExchange({
      forwardSubscription(request) {
        const input = { ...request, query: request.query || "" };
        return { subscribe: (sink) => ({ unsubscribe: subscribeResumable(wsClient, input, sink) }) };
      },
    }),
  ],
});

async function run(document, variables) {
  const result = await client.query(document, variables).toPromise();
  if (result.error) throw new Error(`${document.definitions[0].name.value}: ${result.error.message}`);
  return result.data;
}

const INBOX_PAGE = gql(operation("InboxPage"));
const INBOX_COUNTS = gql(operation("InboxCounts"));
const pageVariables = { first: 50 };
const countsVariables = { status: "OPEN" };

const login = await client.mutation(gql(operation("Login")), { email: config.email, password: config.password })
  .toPromise();
if (login.error) throw new Error(`Login: ${login.error.message}`);
token = login.data.login.token;
await run(INBOX_PAGE, pageVariables);
await run(INBOX_COUNTS, countsVariables);
const after = (await run(gql(eventCursorDocument()), {})).eventCursor;
client.subscription(gql(operation("InboxEvents")), { after }).subscribe((result) => {
  emit({ type: "event", data: result.data ?? null, errors: result.error?.message });
});
const requestsBeforeEvents = requests.length;
emit({ type: "ready", after, requests: [...requests] });

onCommands({
  snapshot: () => ({
    // readQuery answers from the cache alone (requestPolicy cache-only), never the network
    inbox: client.readQuery(INBOX_PAGE, pageVariables)?.data ?? null,
    counts: client.readQuery(INBOX_COUNTS, countsVariables)?.data ?? null,
    requestsSinceReady: requests.slice(requestsBeforeEvents),
  }),
  stop: () => wsClient.dispose(),
});
