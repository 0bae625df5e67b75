// GraphiQL for teaminbox, started from a file rather than an inline script so that the
// page's content security policy can forbid inline scripts. Everything it loads and
// talks to is this server: the endpoint and its WebSocket are derived from the page's
// own location, never from a configured host.
(function () {
  "use strict";
  var config = JSON.parse(document.getElementById("graphiql-config").textContent);
  var endpoint = new URL(config.endpoint, window.location.href);
  var websocket = new URL(endpoint.href);
  websocket.protocol = endpoint.protocol === "https:" ? "wss:" : "ws:";

  // GraphiQL's fetcher: queries and mutations POST to /graphql; subscriptions open a
  // graphql-transport-ws socket whose connection_init payload carries the Headers tab
  // (so `{"Authorization": "Bearer ..."}` authorizes both).
  var fetcher = GraphiQL.createFetcher({ url: endpoint.href, subscriptionUrl: websocket.href });

  var root = ReactDOM.createRoot(document.getElementById("graphiql"));
  root.render(
    React.createElement(GraphiQL, {
      fetcher: fetcher,
      defaultQuery: config.welcome,
      defaultEditorToolsVisibility: "headers",
      // The token stays in memory: never written to localStorage.
      shouldPersistHeaders: false,
    })
  );
})();
