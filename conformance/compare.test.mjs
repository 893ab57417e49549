// Tests for compare.mjs (node --test conformance/compare.test.mjs); run by
// `make conformance` before the suites.
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

const script = path.join(import.meta.dirname, "compare.mjs");

const made = [];
after(() => { for (const d of made) fs.rmSync(d, { recursive: true, force: true }); });

// tree writes a result tree: {scenario: [[id, status], ...]}.
function tree(spec) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "compare-test-"));
  made.push(dir);
  for (const [scenario, checks] of Object.entries(spec)) {
    const d = path.join(dir, `${scenario.includes("/") ? "" : "server-"}${scenario}-2026-11-24T13-19-36-091Z`);
    fs.mkdirSync(d, { recursive: true });
    fs.writeFileSync(path.join(d, "checks.json"),
      JSON.stringify(checks.map(([id, status]) => ({ id, name: id, status, errorMessage: status === "FAILURE" ? "boom" : undefined }))));
  }
  return dir;
}

function compare(a, b, waive = "", expected = undefined, collapse = false) {
  const args = collapse ? [script, "--collapse", a, b] : [script, a, b];
  if (expected !== undefined) {
    const f = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "compare-test-")), "expected.txt");
    made.push(path.dirname(f));
    fs.writeFileSync(f, expected);
    args.push(f);
  }
  return spawnSync(process.execPath, args, { encoding: "utf8", env: { ...process.env, CONFORMANCE_WAIVE: waive } });
}

const cases = [
  { name: "identical", direct: { ping: [["ping", "SUCCESS"]], x: [["a", "FAILURE"]] }, through: { ping: [["ping", "SUCCESS"]], x: [["a", "FAILURE"]] }, code: 0, out: "OK:" },
  { name: "regression", direct: { ping: [["ping", "SUCCESS"]] }, through: { ping: [["ping", "FAILURE"]] }, code: 1, out: "server-ping/ping: SUCCESS directly, FAILURE through Portcullis — boom" },
  { name: "missing scenario", direct: { ping: [["ping", "SUCCESS"]] }, through: {}, code: 1, out: "MISSING" },
  { name: "duplicate ids counted separately", direct: { s: [["c", "SUCCESS"], ["c", "SUCCESS"]] }, through: { s: [["c", "SUCCESS"], ["c", "WARNING"]] }, code: 1, out: "server-s/c#2" },
  { name: "improvement is fine", direct: { s: [["c", "FAILURE"]] }, through: { s: [["c", "SUCCESS"]] }, code: 0, out: "pass only through Portcullis" },
  { name: "waived regression", waive: "server-ping/ping", direct: { ping: [["ping", "SUCCESS"]] }, through: { ping: [["ping", "FAILURE"]] }, code: 0, out: "WAIVED" },
  { name: "waiver for another check", waive: "server-ping/other", direct: { ping: [["ping", "SUCCESS"]] }, through: { ping: [["ping", "FAILURE"]] }, code: 1, out: "REGRESSIONS" },
  { name: "empty direct run", direct: {}, through: {}, code: 2, out: "" },
  { name: "nested client scenario", direct: { "auth/x": [["c", "SUCCESS"]] }, through: { "auth/x": [["c", "FAILURE"]] }, code: 1, out: "auth/x/c: SUCCESS directly" },
  { name: "expected difference", expected: "# why\nauth/x/c the gateway does it on purpose\n", direct: { "auth/x": [["c", "SUCCESS"]] }, through: { "auth/x": [["c", "FAILURE"]] }, code: 0, out: "auth/x/c (1): the gateway does it on purpose" },
  { name: "expected scenario wildcard", expected: "auth/x/* reason\n", direct: { "auth/x": [["c", "SUCCESS"], ["d", "SUCCESS"]] }, through: { "auth/x": [["c", "FAILURE"]] }, code: 0, out: "auth/x/* (2): reason" },
  { name: "expected check of every scenario", expected: "auth/*/c reason\n", direct: { "auth/x": [["c", "SUCCESS"]], "auth/y": [["c", "SUCCESS"]] }, through: { "auth/x": [["c", "FAILURE"]] }, code: 0, out: "auth/*/c (2): reason" },
  { name: "glob stays within a segment", expected: "auth/*/c reason\n", direct: { "auth/x": [["cc", "SUCCESS"]] }, through: {}, code: 1, out: "REGRESSIONS" },
  { name: "expected elsewhere, regression here", expected: "auth/y/* reason\n", direct: { "auth/x": [["c", "SUCCESS"]] }, through: { "auth/x": [["c", "FAILURE"]] }, code: 1, out: "did not occur" },
  { name: "collapse: fewer repeats through is fine", collapse: true, direct: { s: [["c", "SUCCESS"], ["c", "SUCCESS"]] }, through: { s: [["c", "SUCCESS"]] }, code: 0, out: "OK:" },
  { name: "collapse: worst occurrence decides", collapse: true, direct: { s: [["c", "SUCCESS"]] }, through: { s: [["c", "SUCCESS"], ["c", "FAILURE"]] }, code: 1, out: "server-s/c: SUCCESS directly, FAILURE" },
  { name: "expected entry without reason", expected: "auth/x/c\n", direct: { "auth/x": [["c", "SUCCESS"]] }, through: { "auth/x": [["c", "SUCCESS"]] }, code: 2, out: "has no reason" },
];

for (const c of cases) {
  test(c.name, () => {
    const r = compare(tree(c.direct), tree(c.through), c.waive, c.expected, c.collapse);
    assert.equal(r.status, c.code, r.stdout + r.stderr);
    assert.ok((r.stdout + r.stderr).includes(c.out), r.stdout + r.stderr);
  });
}

test("usage", () => {
  assert.equal(spawnSync(process.execPath, [script], { encoding: "utf8" }).status, 2);
});
