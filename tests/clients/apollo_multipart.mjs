// @apollo/client 4 with no WebSocket at all: one HttpLink, which sends a subscription as a
// POST with `Accept: multipart/mixed;boundary=graphql;subscriptionSpec=1.0` and reads
// the answer as Apollo's multipart subscription protocol (node_modules/@apollo/client/
// link/http/BaseHttpLink.js, readMultipartBody), and InMemoryCache with the shipped
// possibleTypes; the bearer token from the Login mutation. (Node 20 has no global
// WebSocket, and this script imports none.)
// Lines: "ready" (after login, inbox, counts, and once the subscription's stream has
// answered), "event", "subscriptionError", "subscriptionComplete"; commands: "snapshot"
// (the normalized cache, read without a request), "subscribeAgain" (a second
// subscription: what it first gets), "stop".
import { ApolloClient, ApolloLink, HttpLink, InMemoryCache, gql } from "@apollo/client";
import { loadDevMessages, loadErrorMessages } from "@apollo/client/dev";
import { SetContextLink } from "@apollo/client/link/context";
import { config, emit, eventCursorDocument, onCommands, operation, possibleTypes, recordingStreamFetch,
  requests } from "./lib.mjs";

loadDevMessages();
loadErrorMessages();

// Resolves when the next request is recorded: a stream's once its headers are in.
let recorded = () => {};
const nextRecorded = () => new Promise((resolve) => { recorded = resolve; });
async function fetchAndTell(input, init) {
  const response = await recordingStreamFetch(input, init);
  recorded(requests.at(-1));
  return response;
}

let token = null;
const link = ApolloLink.from([
  new SetContextLink(() => (token ? { headers: { authorization: `Bearer ${token}` } } : {})),
  new HttpLink({ uri: config.httpUrl + "/graphql", fetch: fetchAndTell }),
]);
const client = new ApolloClient({ link, cache: new InMemoryCache({ possibleTypes: possibleTypes() }) });

const INBOX_PAGE = gql(operation("InboxPage"));
const INBOX_COUNTS = gql(operation("InboxCounts"));
const INBOX_EVENTS = gql(operation("InboxEvents"));
const pageVariables = { first: 50 };
const countsVariables = { status: "OPEN" };

const login = await client.mutate({
  mutation: gql(operation("Login")), variables: { email: config.email, password: config.password },
});
token = login.data.login.token;
await client.query({ query: INBOX_PAGE, variables: pageVariables });
await client.query({ query: INBOX_COUNTS, variables: countsVariables });
const after = (await client.query({ query: gql(eventCursorDocument()), fetchPolicy: "network-only" }))
  .data.eventCursor;

function errorCodes(error) {
  return (error?.errors ?? []).map((e) => e.extensions?.code ?? e.message);
}

const streamAnswered = nextRecorded();
client.subscribe({ query: INBOX_EVENTS, variables: { after } }).subscribe({
  next: (result) => emit({ type: "event", data: result.data ?? null, errorCodes: errorCodes(result.error) }),
  error: (error) => emit({ type: "subscriptionError", name: error?.name, message: String(error?.message ?? error) }),
  complete: () => emit({ type: "subscriptionComplete" }),
});
const subscription = await streamAnswered;
const requestsBeforeEvents = requests.length;
emit({ type: "ready", after, token, subscription, requests: [...requests] });

// A second subscription with the same (by now maybe revoked) token: its request, and
// the first thing its observable does.
function subscribeAgain() {
  const answered = nextRecorded();
  return new Promise((resolve) => {
    const settle = (outcome) => answered.then((request) => resolve({ ...outcome, request }));
    const handle = client.subscribe({ query: INBOX_EVENTS, variables: { after } }).subscribe({
      next: (result) => {
        settle({ outcome: "next", data: result.data ?? null, errorCodes: errorCodes(result.error),
          message: result.error?.message ?? null });
        handle.unsubscribe();
      },
      error: (error) => settle({ outcome: "error", name: error?.name, message: String(error?.message ?? error),
        errorCodes: errorCodes(error) }),
      complete: () => settle({ outcome: "complete" }),
    });
  });
}

onCommands({
  snapshot: () => ({
    inbox: client.readQuery({ query: INBOX_PAGE, variables: pageVariables }),
    counts: client.readQuery({ query: INBOX_COUNTS, variables: countsVariables }),
    requestsSinceReady: requests.slice(requestsBeforeEvents),
  }),
  subscribeAgain,
  stop: () => client.stop(),
});
