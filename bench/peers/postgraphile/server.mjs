// PostGraphile 5 serving teaminbox's PostgreSQL database, for bench.inbox.
//
// Stock Amber preset, production settings: no GraphiQL, no watch mode, no EXPLAIN in
// responses, NODE_ENV=production (set by bench/inbox/postgraphile.py). It connects as the
// role in DATABASE_URL (the bench passes the postgres superuser) with no JWT and no
// row-level security: PostGraphile does no per-request authentication of its own.
//
// One change from stock: PgIndexBehaviorsPlugin is disabled, so every column can be
// used in `condition` and `orderBy` (the plugin only allows columns that lead an
// index, which hides `status`, `assigneeId` and `lastActivityAt`; the queries still
// use the real indexes). This is PostGraphile 4's `--no-ignore-indexes` in V5.
//
// Usage: node server.mjs  (env: DATABASE_URL, PORT, HOST=127.0.0.1, POOL_SIZE=10)
// GET /healthz answers 200 once the schema is built.
import { createServer } from "node:http";

import { postgraphile } from "postgraphile";
import { makePgService } from "postgraphile/adaptors/pg";
import { grafserv } from "postgraphile/grafserv/node";
import { PostGraphileAmberPreset } from "postgraphile/presets/amber";

const connectionString = process.env.DATABASE_URL;
const port = Number(process.env.PORT ?? 5678);
const host = process.env.HOST ?? "127.0.0.1";
const poolSize = Number(process.env.POOL_SIZE ?? 10);
if (!connectionString) {
  console.error("DATABASE_URL is required");
  process.exit(2);
}

/** @type {GraphileConfig.Preset} */
const preset = {
  extends: [PostGraphileAmberPreset],
  disablePlugins: ["PgIndexBehaviorsPlugin"],
  pgServices: [
    makePgService({
      connectionString,
      schemas: ["public"],
      poolConfig: { max: poolSize },
    }),
  ],
  grafserv: {
    host,
    port,
    graphqlPath: "/graphql",
    graphiql: false,
    watch: false,
    dangerouslyAllowAllCORSRequests: false,
  },
  grafast: { explain: false },
};

const pgl = postgraphile(preset);
const serv = pgl.createServ(grafserv);
await pgl.getSchemaResult(); // build (introspect) the schema before answering /healthz
const handler = serv.createHandler();

const server = createServer((req, res) => {
  handler(req, res, () => {
    if (req.url === "/healthz") {
      res.writeHead(200, { "content-type": "text/plain" });
      res.end("ok");
    } else {
      res.writeHead(404, { "content-type": "text/plain" });
      res.end("not found");
    }
  });
});
server.keepAliveTimeout = 65_000;
server.listen(port, host, () => {
  console.log(`postgraphile ${host}:${port} pool=${poolSize} ready`);
});

for (const signal of ["SIGTERM", "SIGINT"]) {
  process.on(signal, () => {
    server.close();
    pgl.release().finally(() => process.exit(0));
    setTimeout(() => process.exit(0), 3000).unref();
  });
}
