// The resume recipe of README.md ("Resuming subscriptions with stock clients"), as the
// scenarios use it. graphql-ws's `subscribe(payload, sink)` keeps `payload` and its id for
// the subscription's whole life and serialises that same object again on every reconnect
// (node_modules/graphql-ws/dist/client.js, `subscribe`): so keeping `variables.after` at
// the newest event's cursor makes the re-sent subscription resume where it stopped.
import { ApolloLink } from "@apollo/client";
import { tap } from "rxjs";

function cursorOf(result) {
  const event = result?.data ? Object.values(result.data)[0] : undefined;
  return event?.cursor;
}

// graphql-ws alone.
export function subscribeResumable(client, payload, sink) {
  const request = { ...payload, variables: { ...payload.variables } };
  return client.subscribe(request, {
    ...sink,
    next(result) {
      const cursor = cursorOf(result);
      if (cursor) request.variables.after = cursor;
      sink.next(result);
    },
  });
}

// Apollo: in front of GraphQLWsLink, which hands `operation.variables` (this very object)
// to graphql-ws's subscribe.
export const resumeLink = new ApolloLink((operation, forward) => {
  operation.variables = { ...operation.variables };
  const variables = operation.variables;
  return forward(operation).pipe(tap((result) => {
    const cursor = cursorOf(result);
    if (cursor) variables.after = cursor;
  }));
});
