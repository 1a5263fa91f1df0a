// Builds dist/boot-operator: one self-contained executable (bun build --compile), with the commit baked in.
import { $ } from "bun";

const commit = (await $`git rev-parse --short HEAD`.nothrow().quiet().text()).trim() || "unknown";
const dirty = (await $`git status --porcelain -- src package.json`.nothrow().quiet().text()).trim() !== "";
const outfile = process.argv[2] ?? "dist/boot-operator";
// Worker modules are separate entry points: Bun bundles each into the executable under /$bunfs/root/<path in src>
// (see workerEntry in src/worker/pool.ts), and nothing finds them there unless they are listed here.
const workerEntries = ["src/sources/files/parse-worker.ts", "src/boot/butane/translate-worker.ts", "src/boot/ipxe-template-worker.ts"];
const started = performance.now();
await $`bun build src/main.ts ${workerEntries} --compile --minify --bytecode --define ${`BUILD_COMMIT=${JSON.stringify(commit + (dirty ? "-dirty" : ""))}`} --outfile ${outfile}`;
console.log(`built ${outfile} (${commit}${dirty ? "-dirty" : ""}) in ${Math.round(performance.now() - started)} ms`);
