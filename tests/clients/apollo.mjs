// @apollo/client 4 as an app sets it up: InMemoryCache with the shipped possibleTypes,
// HttpLink behind PersistedQueryLink (sha256 from node:crypto), GraphQLWsLink over
// graphql-ws for subscriptions (split), the bearer token from the Login mutation.
// Lines: "ready" (after login, inbox, counts, subscribing), "event" (each subscription
// result), "connected"; commands: "snapshot" (the normalized cache, read without a
// request), "requests", "stop".
import { createHash } from "node:crypto";
import { ApolloClient, ApolloLink, HttpLink, InMemoryCache, gql } from "@apollo/client";
import { loadDevMessages, loadErrorMessages } from "@apollo/client/dev";
import { SetContextLink } from "@apollo/client/link/context";
import { PersistedQueryLink } from "@apollo/client/link/persisted-queries";
import { GraphQLWsLink } from "@apollo/client/link/subscriptions";
import { isSubscriptionOperation } from "@apollo/client/utilities";
import { createClient } from "graphql-ws";
import WebSocket from "ws";
import { config, emit, eventCursorDocument, onCommands, operation, possibleTypes, recordingFetch, requests,
  retryOptions } from "./lib.mjs";
import { resumeLink } from "./resume.mjs";

// Apollo ships its warning texts separately: without them "Cache data may be lost ..." is a bare code.
loadDevMessages();
loadErrorMessages();
const warnings = [];
for (const level of ["warn", "error"]) {
  const original = console[level];
  console[level] = (...args) => { warnings.push(args.map(String).join(" ")); original(...args); };
}

let token = null;
const wsClient = createClient({
  url: config.wsUrl,
  webSocketImpl: WebSocket,
  connectionParams: () => ({ authorization: `Bearer ${token}` }),
  ...retryOptions,
  on: { connected: (_socket, _payload, wasRetry) => emit({ type: "connected", wasRetry }) },
});
const sha256 = (text) => createHash("sha256").update(text).digest("hex");
const httpLink = ApolloLink.from([
  new SetContextLink(() => (token ? { headers: { authorization: `Bearer ${token}` } } : {})),
  new PersistedQueryLink({ sha256 }),
  new HttpLink({ uri: config.httpUrl + "/graphql", fetch: recordingFetch }),
]);
const link = ApolloLink.split(({ query }) => isSubscriptionOperation(query), resumeLink.concat(new GraphQLWsLink(wsClient)), httpLink);
const client = new ApolloClient({ link, cache: new InMemoryCache({ possibleTypes: possibleTypes() }) });

const LOGIN = gql(operation("Login"));
const INBOX_PAGE = gql(operation("InboxPage"));
const INBOX_COUNTS = gql(operation("InboxCounts"));
const VIEWER = gql(operation("Viewer"));
const CURRENT_USER = gql(operation("CurrentUser"));
const pageVariables = { first: 50 };
const countsVariables = { status: "OPEN" };

const login = await client.mutate({ mutation: LOGIN, variables: { email: config.email, password: config.password } });
token = login.data.login.token;
await client.query({ query: INBOX_PAGE, variables: pageVariables });
await client.query({ query: INBOX_COUNTS, variables: countsVariables });
// Two selections of `viewer`: without a Viewer id Apollo replaces one with the other.
await client.query({ query: VIEWER });
await client.query({ query: CURRENT_USER });
// The same document again from the network: now sent by hash alone (persisted queries).
await client.query({ query: INBOX_PAGE, variables: pageVariables, fetchPolicy: "network-only" });

const after = (await client.query({ query: gql(eventCursorDocument()), fetchPolicy: "network-only" })).data.eventCursor;
const received = [];
client.subscribe({ query: gql(operation("InboxEvents")), variables: { after } }).subscribe({
  next: (result) => { received.push(result.data); emit({ type: "event", data: result.data, errors: result.error?.message }); },
  error: (error) => emit({ type: "subscriptionError", message: String(error.message) }),
  complete: () => emit({ type: "subscriptionComplete" }),
});
const requestsBeforeEvents = requests.length;
emit({ type: "ready", after, requests: [...requests] });

onCommands({
  snapshot: () => ({
    inbox: client.readQuery({ query: INBOX_PAGE, variables: pageVariables }),
    counts: client.readQuery({ query: INBOX_COUNTS, variables: countsVariables }),
    viewer: client.readQuery({ query: VIEWER }),
    currentUser: client.readQuery({ query: CURRENT_USER }),
    requestsSinceReady: requests.slice(requestsBeforeEvents),
    warnings,
  }),
  received: () => ({ events: received }),
  stop: () => wsClient.dispose(),
});
