// What every scenario shares: its config (one JSON argument), JSON lines to pytest on
// stdout, commands from pytest on stdin, the repository's client documents, an HTTP
// fetch that records every request the client makes, and the graphql-ws options a real
// app sets to survive a server restart.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";

export const config = JSON.parse(process.argv[2]);

export function emit(line) {
  process.stdout.write(JSON.stringify(line) + "\n");
}

process.on("uncaughtException", (error) => {
  emit({ type: "fatal", message: String(error?.message ?? error), stack: String(error?.stack ?? "") });
  process.exit(1);
});
process.on("unhandledRejection", (error) => {
  emit({ type: "fatal", message: String(error?.message ?? error), stack: String(error?.stack ?? "") });
  process.exit(1);
});

// Commands: one JSON object a line, {"command": name, ...}; handlers answer with a line
// of type `name`. "stop" ends the scenario.
export function onCommands(handlers) {
  const lines = createInterface({ input: process.stdin });
  lines.on("line", async (raw) => {
    const { command, ...args } = JSON.parse(raw);
    if (command === "stop") {
      await handlers.stop?.();
      emit({ type: "stop" });
      process.exit(0);
    }
    emit({ type: command, ...(await handlers[command](args)) });
  });
}

export function operation(name) {
  return readFileSync(join(config.repo, "graphql", "operations", `${name}.graphql`), "utf8");
}

// Query.eventCursor (the newest event's cursor, to subscribe `after` it), as shipped.
export function eventCursorDocument() {
  return operation("EventCursor");
}

// Apollo's possibleTypes and Graphcache's: the shipped union map (its absence is a failure).
export function possibleTypes() {
  const map = JSON.parse(readFileSync(join(config.repo, "graphql", "possible-types.json"), "utf8"));
  return map.possibleTypes ?? map;  // Apollo's shape, optionally wrapped as {possibleTypes: ...}
}

// Every HTTP request the client sends, with what it carried and what came back.
export const requests = [];
export async function recordingFetch(input, init = {}) {
  const url = new URL(typeof input === "string" ? input : input.url);
  const method = init.method ?? "GET";
  let body = null;
  if (typeof init.body === "string") body = JSON.parse(init.body);
  else if (method === "GET") {
    body = Object.fromEntries(url.searchParams);
    for (const key of ["variables", "extensions"]) if (body[key]) body[key] = JSON.parse(body[key]);
  }
  const response = await fetch(input, init);
  requests.push({
    method,
    operationName: body?.operationName ?? null,
    hasQuery: Boolean(body?.query),
    persistedHash: body?.extensions?.persistedQuery?.sha256Hash ?? null,
    status: response.status,
    contentType: response.headers.get("content-type"),
    accept: (init.headers && (init.headers.accept ?? init.headers.Accept)) ?? null,
    errorCodes: await response.clone().json().then(
      (answer) => (answer.errors ?? []).map((e) => e.extensions?.code ?? e.message), () => ["<not JSON>"]),
  });
  return response;
}

// graphql-ws's defaults give up on a restart: `shouldRetry` defaults to isLikeCloseEvent,
// so the first reconnect attempt that meets a refused port (an error event, not a close
// event) errors every subscription, and `retryAttempts` defaults to 5. A real app retries
// forever on any failure, with a capped backoff (kept short here so a test restart is quick).
export const retryOptions = {
  retryAttempts: Infinity,
  shouldRetry: () => true,
  retryWait: (retries) => new Promise((resolve) => setTimeout(resolve, Math.min(100 * 2 ** retries, 1000))),
};

// The first root field of a subscription result: the event.
export function eventOf(data) {
  return data ? Object.values(data)[0] : undefined;
}

// recordingFetch for clients that also stream subscriptions over HTTP (Apollo's multipart
// protocol): a streamed answer (multipart/mixed, text/event-stream) stays open for the
// subscription's life, so its body is not read (recordingFetch would wait for its end);
// it is recorded once its headers arrive, with `streamed: true` and no errorCodes. Other
// answers are recorded as recordingFetch records them.
const STREAMED = /^(multipart\/mixed|text\/event-stream)/i;
export async function recordingStreamFetch(input, init = {}) {
  const url = new URL(typeof input === "string" ? input : input.url);
  const method = init.method ?? "GET";
  const body = typeof init.body === "string" ? JSON.parse(init.body)
    : Object.fromEntries([...url.searchParams].map(([key, value]) =>
      [key, ["variables", "extensions"].includes(key) ? JSON.parse(value) : value]));
  const response = await fetch(input, init);
  const streamed = STREAMED.test(response.headers.get("content-type") ?? "");
  requests.push({
    method,
    operationName: body?.operationName ?? null,
    hasQuery: Boolean(body?.query),
    persistedHash: body?.extensions?.persistedQuery?.sha256Hash ?? null,
    status: response.status,
    contentType: response.headers.get("content-type"),
    accept: headerOf(init.headers, "accept"),
    streamed,
    errorCodes: streamed ? null : await response.clone().json().then(
      (answer) => (answer.errors ?? []).map((e) => e.extensions?.code ?? e.message), () => ["<not JSON>"]),
  });
  return response;
}

// A request header as a client passed it: a plain object (any case) or a Headers.
function headerOf(headers, name) {
  if (!headers) return null;
  if (typeof headers.get === "function") return headers.get(name);
  const key = Object.keys(headers).find((candidate) => candidate.toLowerCase() === name);
  return key === undefined ? null : headers[key];
}
