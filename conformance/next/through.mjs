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
//                its authorization server is read from the upstream's
//                protected-resource metadata, as a client would; other
//                scenarios run as plain
import { spawn } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), "../..");
const [mode, ...rest] = process.argv.slice(2);
const upstream = rest.pop();
if (!["plain", "transparent"].includes(mode) || rest.length === 0 || !/^https?:\/\//.test(upstream ?? "")) {
  console.error("usage: node through.mjs plain|transparent CLIENT [ARGS...] URL");
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

// getJSON fetches a JSON document, or null (absent, not JSON, unreachable);
// misses are noted for the "not found" message.
// transient counts misses that were no answer at all (timeout, refused
// connection): only those are worth retrying; an HTTP answer is final.
const misses = [];
let transient = 0;
const FETCH_TIMEOUT = 30000; // generous: a loaded machine, never the deciding factor
async function getJSON(url) {
  try {
    const r = await fetch(url, { signal: AbortSignal.timeout(FETCH_TIMEOUT) });
    if (r.ok) return await r.json();
    misses.push(`${url}: HTTP ${r.status}`);
  } catch (e) {
    misses.push(`${url}: ${e.message}`);
    transient++;
  }
  return null;
}

// upstreamAuthServer finds the test server's authorization server the way a
// client would: the resource_metadata of the upstream's 401 challenge, else
// RFC 9728 path-inserted then root metadata; then the AS's issuer and jwks_uri.
async function upstreamAuthServer(u) {
  const url = new URL(u);
  const prmURLs = [];
  try {
    const r = await fetch(u, {
      method: "POST", signal: AbortSignal.timeout(FETCH_TIMEOUT),
      headers: { "content-type": "application/json", accept: "application/json, text/event-stream" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "ping" }),
    });
    const m = /resource_metadata="([^"]+)"/.exec(r.headers.get("www-authenticate") ?? "");
    if (m) prmURLs.push(new URL(m[1], url));
  } catch (e) {
    misses.push(`POST ${u}: ${e.message}`); // the well-known locations below likely fail the same way
    transient++;
  }
  prmURLs.push(new URL(`/.well-known/oauth-protected-resource${url.pathname}`, url.origin));
  prmURLs.push(new URL("/.well-known/oauth-protected-resource", url.origin));
  for (const p of prmURLs) {
    const prm = await getJSON(p);
    const as = prm?.authorization_servers?.[0];
    if (!as) continue;
    const asu = new URL(as);
    const suffix = asu.pathname === "/" ? "" : asu.pathname;
    for (const q of [`/.well-known/oauth-authorization-server${suffix}`, `/.well-known/openid-configuration${suffix}`, `${suffix}/.well-known/openid-configuration`]) {
      const md = await getJSON(new URL(q, asu.origin));
      if (md) return { issuer: md.issuer ?? as, jwks: md.jwks_uri };
    }
    return { issuer: as };
  }
  return null;
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "portcullis-through-"));
let oauth = ""; // identity.oauth for transparent mode, with RESOURCE for the gateway's URL
if (mode === "transparent" && (process.env.MCP_CONFORMANCE_SCENARIO ?? "").startsWith("auth/")) {
  // The lookup is decided by the test server's answers, not by timing:
  // attempts that got no answer at all (timeouts, refused connections on a
  // loaded machine) are repeated until 120 s have passed; an attempt that
  // got HTTP answers is final. (Three attempts with 10 s timeouts used to
  // miss auth/metadata-var3, whose metadata is only named in the challenge,
  // under load.)
  let as = null;
  const deadline = Date.now() + 120000;
  for (let i = 0; !as; i++) {
    if (i > 0) await new Promise((r) => setTimeout(r, 500));
    misses.length = 0;
    transient = 0;
    as = await upstreamAuthServer(upstream);
    if (as || transient === 0 || Date.now() > deadline) break;
  }
  const issuer = as?.issuer ?? new URL(upstream).origin;
  console.error(`through.mjs: transparent mode, upstream authorization server ${issuer}${as ? "" : ` (not found: ${misses.join("; ")}; guessed)`}, jwks ${as?.jwks ?? "none"}`);
  let keys = `jwks_url: ${JSON.stringify(as?.jwks ?? "")}`;
  if (!as?.jwks || !(await getJSON(as.jwks))?.keys) {
    // Most of the suite's authorization servers issue opaque tokens and
    // offer neither a JWKS (some advertise a jwks_uri that answers 404) nor
    // introspection, so the gateway has no way to validate them. A JWKS
    // holding a fresh key nobody can sign with lets it start anyway, so
    // discovery and challenges still go through it and the run shows where
    // the flow stops.
    const { publicKey } = crypto.generateKeyPairSync("ec", { namedCurve: "P-256" });
    const jwk = { ...publicKey.export({ format: "jwk" }), kid: "placeholder", alg: "ES256", use: "sig" };
    fs.writeFileSync(path.join(dir, "jwks.json"), JSON.stringify({ keys: [jwk] }));
    keys = `jwks_file: ${JSON.stringify(path.join(dir, "jwks.json"))}`;
  }
  oauth = `    upstream_auth: {type: transparent}
identity:
  oauth:
    resource: RESOURCE
    authorization_servers: [${JSON.stringify(issuer)}]
    ${keys}
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
