// compare.mjs DIRECT_DIR THROUGH_DIR
//
// Compares two result trees written by `conformance server -o DIR` (one
// sub-directory per scenario, "<scenario>-<timestamp>/checks.json"). Prints
// the status tally of each run and every check that passed directly but not
// through Portcullis; exits 1 on any such regression, 2 on unusable input.
// CONFORMANCE_WAIVE="scenario/check,..." lists regressions to report as
// WAIVED instead of failing (a temporary escape hatch; each is printed).
import fs from "node:fs";
import path from "node:path";

const TS = /-\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}-\d{3}Z$/;

function load(dir) {
  const checks = new Map(); // "scenario/checkId#n" -> check
  let scenarios = 0;
  for (const ent of fs.readdirSync(dir, { withFileTypes: true })) {
    if (!ent.isDirectory()) continue;
    const file = path.join(dir, ent.name, "checks.json");
    if (!fs.existsSync(file)) continue;
    const scenario = ent.name.replace(TS, "");
    const list = JSON.parse(fs.readFileSync(file, "utf8"));
    if (!Array.isArray(list)) throw new Error(`${file}: not a JSON array`);
    scenarios++;
    const seen = new Map();
    for (const c of list) {
      const id = `${scenario}/${c.id ?? c.name}`;
      const n = (seen.get(id) ?? 0) + 1;
      seen.set(id, n);
      checks.set(n === 1 ? id : `${id}#${n}`, c);
    }
  }
  return { checks, scenarios };
}

function tally(run) {
  const t = {};
  for (const c of run.checks.values()) t[c.status] = (t[c.status] ?? 0) + 1;
  return `${run.scenarios} scenarios, ${run.checks.size} checks: ` +
    Object.entries(t).sort().map(([k, v]) => `${v} ${k}`).join(", ");
}

const [directDir, throughDir] = process.argv.slice(2);
if (!directDir || !throughDir) {
  console.error("usage: node compare.mjs DIRECT_DIR THROUGH_DIR");
  process.exit(2);
}
let direct, through;
try {
  direct = load(directDir);
  through = load(throughDir);
} catch (e) {
  console.error(`compare: ${e.message}`);
  process.exit(2);
}
if (direct.checks.size === 0) {
  console.error(`compare: no checks found in ${directDir}`);
  process.exit(2);
}
console.log(`direct:             ${tally(direct)}`);
console.log(`through Portcullis: ${tally(through)}`);

const waived = new Set((process.env.CONFORMANCE_WAIVE ?? "").split(",").map((s) => s.trim()).filter(Boolean));
const regressions = [];
const waivedHits = [];
const improvements = [];
for (const [id, c] of direct.checks) {
  const t = through.checks.get(id);
  if (c.status === "SUCCESS" && t?.status !== "SUCCESS") {
    const line = `  ${id}: SUCCESS directly, ${t ? t.status : "MISSING"} through Portcullis` +
      (t?.errorMessage ? ` — ${t.errorMessage}` : "");
    (waived.has(id) ? waivedHits : regressions).push(line);
  } else if (c.status !== "SUCCESS" && t?.status === "SUCCESS") {
    improvements.push(`  ${id}: ${c.status} directly, SUCCESS through Portcullis`);
  }
}
if (improvements.length) {
  console.log(`checks that pass only through Portcullis (${improvements.length}):`);
  for (const l of improvements) console.log(l);
}
if (waivedHits.length) {
  console.log(`WAIVED (CONFORMANCE_WAIVE) regressions (${waivedHits.length}):`);
  for (const l of waivedHits) console.log(l);
}
if (regressions.length) {
  console.log(`REGRESSIONS: ${regressions.length} check(s) pass directly but not through Portcullis:`);
  for (const l of regressions) console.log(l);
  process.exit(1);
}
console.log(waivedHits.length
  ? `OK with ${waivedHits.length} waived regression(s): every other check that passes directly also passes through Portcullis.`
  : "OK: every check that passes directly also passes through Portcullis.");
