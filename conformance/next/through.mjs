// through.mjs MODE CLIENT [ARGS...] URL
//
// Client command for `conformance client` that puts Portcullis between the
// client under test and the suite's per-scenario test server: the suite
// appends the test server's URL (URL); this starts a fresh `portcullis serve`
// routing /mcp/up to it, runs CLIENT ARGS... against the gateway's route
// instead, stops the gateway and exits with the client's status. One gateway
// per scenario, because the suite runs scenarios in parallel, each on its own
// port. MODE:
//   plain        allow-all gateway, no identity.oauth (the caller's
//                Authorization header is removed before the upstream)
//   transparent  for auth/* scenarios, identity.oauth + upstream_auth.type:
//                transparent: the upstream stays the OAuth resource server;
//                the gateway reads its authorization server from the
//                upstream's protected-resource metadata, as a client would;
//                other scenarios run as plain
//   rs           resource-server mode for the auth/* scenarios it applies to
//                (RS_SCENARIOS): the gateway is the resource server, its
//                identity.oauth naming the scenario's authorization server,
//                which this wrapper reads from the test server's metadata
//                first (what an operator configures), so the client's
//                discovery, registration and authorization run against the
//                gateway's challenge and metadata; other scenarios run as in
//                transparent mode
import { spawn } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), "../..");
const [mode, ...rest] = process.argv.slice(2);
const upstream = rest.pop();
if (!["plain", "transparent", "rs"].includes(mode) || rest.length === 0 || !/^https?:\/\//.test(upstream ?? "")) {
  console.error("usage: node through.mjs plain|transparent|rs CLIENT [ARGS...] URL");
  process.exit(2);
}

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

// RS_SCENARIOS: the auth/* scenarios that test the client against the
// resource's challenge and metadata and the authorization server, which in
// resource-server mode are the gateway's and the configured server. Not
// here: the ones about what the upstream resource server itself says or
// does (resource-mismatch: its metadata; authorization-server-migration,
// scope-step-up, scope-retry-limit: its changing challenges), which the
// gateway replaces in this mode, and the flows without a user
// (client-credentials-*, wif-*, enterprise-managed-authorization) and DPoP
// (dpop*), which the Go SDK client does not complete directly either.
const RS_SCENARIOS = new Set([
  "auth/metadata-default", "auth/metadata-var1", "auth/metadata-var2", "auth/metadata-var3",
  "auth/metadata-issuer-mismatch", "auth/basic-cimd", "auth/pre-registration",
  "auth/token-endpoint-auth-basic", "auth/token-endpoint-auth-post", "auth/token-endpoint-auth-none",
  "auth/iss-normalized", "auth/iss-not-advertised", "auth/iss-supported", "auth/iss-supported-missing",
  "auth/iss-unexpected", "auth/iss-wrong-issuer", "auth/offline-access-not-supported", "auth/offline-access-scope",
  "auth/scope-from-scopes-supported", "auth/scope-from-www-authenticate", "auth/scope-omitted-when-undefined",
]);

// authServerOf finds the test server's authorization server the way a
// client does: its challenge's resource_metadata, else the path-inserted
// and root metadata URLs (RFC 9728 §3).
async function authServerOf(url) {
  const u = new URL(url);
  const candidates = [];
  const r = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", accept: "application/json, text/event-stream" },
    body: JSON.stringify({ jsonrpc: "2.0", id: 0, method: "ping" }),
  });
  const m = /resource_metadata="([^"]+)"/.exec(r.headers.get("www-authenticate") ?? "");
  if (m) candidates.push(m[1]);
  candidates.push(`${u.origin}/.well-known/oauth-protected-resource${u.pathname.replace(/\/$/, "")}`);
  candidates.push(`${u.origin}/.well-known/oauth-protected-resource`);
  for (const c of candidates) {
    const res = await fetch(c);
    if (!res.ok) continue;
    const as = (await res.json()).authorization_servers?.[0];
    if (typeof as === "string") return as;
  }
  throw new Error(`no authorization server in the metadata of ${url}`);
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "portcullis-through-"));

// placeholderJWKS writes a JWKS holding a fresh public key whose private
// key nobody has, for an identity.oauth that must accept no token.
function placeholderJWKS() {
  const { publicKey } = crypto.generateKeyPairSync("ec", { namedCurve: "P-256" });
  const jwk = { ...publicKey.export({ format: "jwk" }), kid: "placeholder", alg: "ES256", use: "sig" };
  const file = path.join(dir, "jwks.json");
  fs.writeFileSync(file, JSON.stringify({ keys: [jwk] }));
  return JSON.stringify(file);
}

const scenario = process.env.MCP_CONFORMANCE_SCENARIO ?? "";
let oauth = ""; // identity.oauth (and the route's upstream_auth), with RESOURCE for the gateway's URL
if (mode === "rs" && RS_SCENARIOS.has(scenario)) {
  // The suite's tokens are opaque and its servers offer no introspection,
  // so the gateway can check none of them (a placeholder JWKS: it refuses
  // every token, fail closed); the scenarios' later checks then differ.
  let as;
  try {
    as = await authServerOf(upstream);
  } catch (e) {
    console.error(`through.mjs: rs mode: ${e.message}`);
    fs.rmSync(dir, { recursive: true, force: true });
    process.exit(1);
  }
  oauth = `identity:
  oauth:
    resource: RESOURCE
    authorization_servers: [${JSON.stringify(as)}]
    jwks_file: ${placeholderJWKS()}
`;
} else if (mode !== "plain" && scenario.startsWith("auth/")) {
  // A transparent route finds the upstream's authorization server and its
  // keys itself, from the upstream's metadata (the resource_metadata of its
  // challenge first): that is what is under test, so nothing is looked up
  // here. identity.oauth still needs an issuer and keys for the gateway's
  // own (resource-server) routes, of which there are none here: a reserved
  // .invalid issuer and a placeholder JWKS. A client that falls back to the
  // root metadata is sent to that issuer, not to the upstream's
  // authorization server, as in a real deployment whose own issuer is not
  // the upstream's.
  oauth = `    upstream_auth: {type: transparent}
identity:
  oauth:
    resource: RESOURCE
    authorization_servers: ["https://gateway-issuer.invalid"]
    jwks_file: ${placeholderJWKS()}
`;
}

// startGateway starts portcullis on a free port and resolves once it
// listens. The port is picked before the gateway binds it (its URL is in the
// config), so a parallel scenario may take it first: then it retries.
async function startGateway() {
  const log = path.join(dir, "portcullis.log");
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const config = `listen: {proxy: 127.0.0.1:${port}, extproc: 127.0.0.1:0}
servers:
  - name: up
    url: ${upstream}
    tools: {allow: ["*"]}
${oauth.replace("RESOURCE", base)}`;
    const cfgFile = path.join(dir, "portcullis.yaml");
    fs.writeFileSync(cfgFile, config);
    const fd = fs.openSync(log, "w");
    const gw = spawn(path.join(root, "bin/portcullis"), ["serve", "--config", cfgFile], { stdio: ["ignore", "pipe", fd] });
    let out = "";
    const timer = setTimeout(() => gw.kill(), 60000);
    const ok = await new Promise((resolve) => {
      gw.stdout.on("data", (b) => {
        out += b;
        fs.writeSync(fd, b);
        if (out.includes("data plane listening on")) resolve(true);
      });
      gw.on("exit", () => resolve(false));
    });
    clearTimeout(timer);
    if (ok) return { gw, base };
    const text = fs.readFileSync(log, "utf8");
    if (attempt < 5 && text.includes("address already in use")) continue;
    throw new Error(`portcullis exited before listening; config:\n${config}\nlog: ${text}`);
  }
}

// Slots bound how many gateways run at once: the suite starts every
// scenario in parallel, and dozens of gateways starting together on a small
// machine take longer than the scenarios' timeouts. A slot is a directory
// (mkdir is atomic) holding the owner's pid; a dead owner's slot is reused.
const SLOTS = Number(process.env.THROUGH_SLOTS ?? 4);
const slotDir = path.join(os.tmpdir(), `portcullis-through-slots-${process.getuid?.() ?? 0}`);
async function acquireSlot() {
  fs.mkdirSync(slotDir, { recursive: true });
  for (;;) {
    for (let i = 0; i < SLOTS; i++) {
      const d = path.join(slotDir, String(i));
      try {
        fs.mkdirSync(d);
        fs.writeFileSync(path.join(d, "pid"), String(process.pid));
        return d;
      } catch {
        let owner = 0;
        try {
          owner = Number(fs.readFileSync(path.join(d, "pid"), "utf8"));
        } catch {
          continue; // being created right now
        }
        try {
          process.kill(owner, 0);
        } catch {
          fs.rmSync(d, { recursive: true, force: true }); // owner gone
        }
      }
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

let code = 1;
let gw;
const slot = await acquireSlot();
try {
  const started = await startGateway();
  gw = started.gw;
  const client = spawn(rest[0], [...rest.slice(1), `${started.base}/mcp/up`], { stdio: "inherit" });
  code = await new Promise((resolve) => client.on("exit", (c, sig) => resolve(c ?? (sig ? 1 : 0))));
  if (code !== 0) {
    // The scenario's stderr.txt then shows the gateway's side too.
    const tail = fs.readFileSync(path.join(dir, "portcullis.log"), "utf8").split("\n").slice(-15).join("\n");
    console.error(`through.mjs: client exited ${code}; gateway log:\n${tail}`);
  }
} catch (e) {
  console.error(`through.mjs: ${e.message}`);
} finally {
  if (gw && gw.exitCode === null) {
    const exited = new Promise((resolve) => gw.on("exit", resolve));
    gw.kill();
    await exited;
  }
  fs.rmSync(slot, { recursive: true, force: true });
  if (process.env.KEEP) console.error(`through.mjs: gateway files kept in ${dir}`);
  else fs.rmSync(dir, { recursive: true, force: true });
}
process.exit(code);
