// Builds dist/boot-operator: one self-contained executable (bun build --compile), with the commit baked in.
import { $ } from "bun";

// BOOT_OPERATOR_BUILD_COMMIT: the commit when there is no .git (the Dockerfile's build stage).
const commit = process.env.BOOT_OPERATOR_BUILD_COMMIT || (await $`git rev-parse --short HEAD`.nothrow().quiet().text()).trim() || "unknown";
const dirty = (await $`git status --porcelain -- src package.json`.nothrow().quiet().text()).trim() !== "";
const outfile = process.argv[2] ?? "dist/boot-operator";
// BOOT_OPERATOR_BUILD_TARGET: another platform (bun-linux-arm64, bun-linux-x64, …); default: this machine's.
const targetArgs = process.env.BOOT_OPERATOR_BUILD_TARGET ? ["--target", process.env.BOOT_OPERATOR_BUILD_TARGET] : [];
// Worker modules are separate entry points: Bun bundles each into the executable under /$bunfs/root/<path in src>
// (see workerEntry in src/worker/pool.ts), and nothing finds them there unless they are listed here.
const workerEntries = ["src/sources/files/parse-worker.ts", "src/boot/butane/translate-worker.ts", "src/boot/ipxe-template-worker.ts"];
const started = performance.now();
await $`bun build src/main.ts ${workerEntries} --compile ${targetArgs} --minify --bytecode --define ${`BUILD_COMMIT=${JSON.stringify(commit + (dirty ? "-dirty" : ""))}`} --outfile ${outfile}`;
console.log(`built ${outfile} (${commit}${dirty ? "-dirty" : ""}) in ${Math.round(performance.now() - started)} ms`);
