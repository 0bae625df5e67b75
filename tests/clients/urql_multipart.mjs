// @urql/core 6 with no WebSocket at all: cacheExchange and fetchExchange, and the
// client option `fetchSubscriptions: true`, urql's documented way to run subscriptions
// over fetch (its fetchExchange then sends a subscription as a POST with
// `Accept: text/event-stream, multipart/mixed` and reads either answer; node_modules/
// @urql/core/dist/urql-core-chunk.mjs, makeFetchOptions and fetchOperation). Queries
// keep urql's default GET. With config.cache == "graphcache" the document cache is
// replaced by Graphcache, urql's normalized cache, with the shipped possibleTypes.
// Lines: "ready" (after login, inbox, counts, and once the subscription's request has
// been answered), "event" (each result; `hasNext: false` is urql's last), "subscriptionEnd"
// (the result source ended); commands: "snapshot", "subscribeAgain", "stop".
import { Client, cacheExchange, fetchExchange, gql } from "@urql/core";
import { cacheExchange as graphcacheExchange } from "@urql/exchange-graphcache";
// urql's own stream library (a dependency of @urql/core): its results are wonka sources,
// and onEnd is how an app sees one end.
import { onEnd, pipe, subscribe } from "wonka";
import { config, emit, eventCursorDocument, onCommands, operation, possibleTypes, recordingStreamFetch,
  requests } from "./lib.mjs";

let recorded = () => {};
const nextRecorded = () => new Promise((resolve) => { recorded = resolve; });
async function fetchAndTell(input, init) {
  const response = await recordingStreamFetch(input, init);
  recorded(requests.at(-1));
  return response;
}

// Objects without an id of their own are embedded in their parent (Graphcache asks to be told).
const embedded = () => null;
const cache = config.cache === "graphcache"
  ? graphcacheExchange({
    possibleTypes: possibleTypes(),
    keys: { InboxConnection: embedded, InboxEdge: embedded, PageInfo: embedded, AssigneeCount: embedded,
      LoginPayload: embedded },
  })
  : cacheExchange;

let token = null;
const client = new Client({
  url: config.httpUrl + "/graphql",
  fetch: fetchAndTell,
  fetchOptions: () => (token ? { headers: { authorization: `Bearer ${token}` } } : {}),
  fetchSubscriptions: true,
  exchanges: [cache, fetchExchange],
});

async function run(document, variables) {
  const result = await client.query(document, variables).toPromise();
  if (result.error) throw new Error(`${document.definitions[0].name.value}: ${result.error.message}`);
  return result.data;
}

const INBOX_PAGE = gql(operation("InboxPage"));
const INBOX_COUNTS = gql(operation("InboxCounts"));
const INBOX_EVENTS = gql(operation("InboxEvents"));
const pageVariables = { first: 50 };
const countsVariables = { status: "OPEN" };

const login = await client.mutation(gql(operation("Login")), { email: config.email, password: config.password })
  .toPromise();
if (login.error) throw new Error(`Login: ${login.error.message}`);
token = login.data.login.token;
await run(INBOX_PAGE, pageVariables);
await run(INBOX_COUNTS, countsVariables);
const after = (await run(gql(eventCursorDocument()), {})).eventCursor;

function described(result) {
  return {
    data: result.data ?? null,
    hasNext: result.hasNext,
    errorCodes: (result.error?.graphQLErrors ?? []).map((e) => e.extensions?.code ?? e.message),
    networkError: result.error?.networkError ? String(result.error.networkError.message) : null,
    message: result.error?.message ?? null,
  };
}

function subscribeToInbox(onResult, onEnded) {
  return pipe(client.subscription(INBOX_EVENTS, { after }), onEnd(onEnded), subscribe(onResult));
}

const streamAnswered = nextRecorded();
subscribeToInbox((result) => emit({ type: "event", ...described(result) }), () => emit({ type: "subscriptionEnd" }));
const subscription = await streamAnswered;
const requestsBeforeEvents = requests.length;
emit({ type: "ready", after, token, subscription, requests: [...requests] });

function subscribeAgain() {
  const answered = nextRecorded();
  return new Promise((resolve) => {
    const settle = (outcome) => answered.then((request) => resolve({ ...outcome, request }));
    const handle = subscribeToInbox((result) => {
      settle({ outcome: "next", ...described(result) });
      handle?.unsubscribe();
    }, () => settle({ outcome: "end" }));
  });
}

onCommands({
  snapshot: () => ({
    // readQuery answers from the cache alone (requestPolicy cache-only), never the network
    inbox: client.readQuery(INBOX_PAGE, pageVariables)?.data ?? null,
    counts: client.readQuery(INBOX_COUNTS, countsVariables)?.data ?? null,
    requestsSinceReady: requests.slice(requestsBeforeEvents),
  }),
  subscribeAgain,
});
