// Prints "N passed, N failed[, N skipped]" from a JUnit report (the line CI recognises) and exits non-zero when a
// test failed or no test ran at all.
const path = process.argv[2];
if (!path) throw new Error("usage: junit-summary.ts REPORT.xml");
const file = Bun.file(path);
if (!(await file.exists())) {
  console.log("0 passed, 1 failed");
  console.error(`no JUnit report at ${path}: the test runner did not finish`);
  process.exit(1);
}
const xml = await file.text();
let passed = 0;
let failed = 0;
let skipped = 0;
const failures: string[] = [];
for (const match of xml.matchAll(/<testcase\b([^>]*?)(\/>|>([\s\S]*?)<\/testcase>)/g)) {
  const attributes = match[1] ?? "";
  const body = match[3] ?? "";
  if (/<(failure|error)\b/.test(body)) {
    failed++;
    const name = /name="([^"]*)"/.exec(attributes)?.[1] ?? "?";
    const className = /classname="([^"]*)"/.exec(attributes)?.[1] ?? "";
    failures.push(`${className} > ${name}`);
  } else if (/<skipped\b/.test(body)) skipped++;
  else passed++;
}
if (failures.length > 0) console.log(`failed tests:\n${failures.map((f) => `  - ${f}`).join("\n")}`);
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ""}`);
process.exit(failed > 0 || passed === 0 ? 1 : 0);

export {};
