#!/usr/bin/env bun
// boot-operator: network-boot appliance for bare-metal fleets. Entry point of the compiled binary.
import { basename } from "node:path";
import { type CommandName, helpFor, parseArgs, UsageError } from "./cli/flags.ts";
import { explainOptionsSchema, resolveServeOptions, validateFlags } from "./cli/options.ts";
import { COMMIT, VERSION } from "./version.ts";

const COMMANDS: Record<CommandName, { summary: string; usage: string }> = {
  serve: {
    summary: "Serve iPXE scripts, Ignition, /httpboot answers and UKI files to network-booting machines.",
    usage: "boot-operator serve [--source dir:PATH|kube|embedded:samples] [--uki-dir DIR] [--public-url URL] [flags]",
  },
  validate: {
    summary: "Check a directory of resources and print every problem (exit 1 on errors).",
    usage: "boot-operator validate DIR [--ipxe-template FILE]",
  },
  explain: {
    summary: "Show which config a machine would be served on each endpoint, and why.",
    usage: "boot-operator explain [--source dir:PATH] [--uuid UUID] [--mac MAC] [--ip IP] [--token TOKEN --ignition-access bound --token-key-file FILE]",
  },
  version: { summary: "Print the version.", usage: "boot-operator version" },
};

const TOP_HELP = `boot-operator ${VERSION}: network-boot appliance for bare-metal fleets (boot.ironcore.dev API)

Usage: boot-operator <command> [flags]

Commands:
${Object.entries(COMMANDS)
  .map(([name, command]) => `  ${name.padEnd(9)} ${command.summary}`)
  .join("\n")}

Run "boot-operator <command> --help" for the command's flags. Every flag can also be set as
BOOT_OPERATOR_<FLAG> in the environment (e.g. BOOT_OPERATOR_PUBLIC_URL).
`;

async function main(argv: string[]): Promise<number> {
  const [first, ...rest] = argv;
  // Started the way the Go operator's Deployments start its manager: as /manager (the image links it to this
  // binary), or with flags but no command (`--leader-elect …`). That is `serve` with the Go manager's defaults
  // (--source kube, probes on :8081, …).
  const goManager = first === undefined ? basename(process.argv0) === "manager" : first.startsWith("-") && !["--help", "-h", "--version"].includes(first);
  if (!goManager && (first === undefined || first === "help" || first === "--help" || first === "-h")) {
    process.stdout.write(TOP_HELP);
    return first === undefined ? 2 : 0;
  }
  if (first === "--version") {
    process.stdout.write(`boot-operator ${VERSION} (${COMMIT})\n`);
    return 0;
  }
  if (!goManager && first !== undefined && !(first in COMMANDS)) {
    process.stderr.write(`boot-operator: unknown command "${first}"\n\n${TOP_HELP}`);
    return 2;
  }
  const command = goManager ? "serve" : (first as CommandName);
  const parsed = parseArgs(command, goManager ? argv : rest, process.env, { goManager });
  const { flags, positionals } = parsed;
  if (flags.help === "true") {
    process.stdout.write(helpFor(command, COMMANDS[command].summary, COMMANDS[command].usage));
    return 0;
  }
  switch (command) {
    case "version":
      process.stdout.write(`boot-operator ${VERSION} (${COMMIT})\n`);
      return 0;
    case "serve": {
      if (positionals.length > 0) throw new UsageError(`serve takes no arguments (got ${positionals.join(" ")})`);
      const options = resolveServeOptions(parsed, process.env, goManager);
      if (options.source.type === "kube") {
        const { runKubeServe } = await import("./cli/serve-kube.ts");
        await runKubeServe(options);
      } else {
        const { runServe } = await import("./cli/serve.ts");
        await runServe(options);
      }
      return -1; // keep running; shutdown exits the process
    }
    case "validate": {
      const directory = positionals[0];
      if (!directory || positionals.length > 1) throw new UsageError("validate takes exactly one directory");
      const { validateDirectory } = await import("./cli/validate.ts");
      const report = await validateDirectory(directory, flags["ipxe-template"]);
      for (const line of report.errors) process.stdout.write(`error: ${line}\n`);
      for (const line of report.warnings) process.stdout.write(`warning: ${line}\n`);
      process.stdout.write(`${report.summary}\n`);
      return report.errors.length > 0 ? 1 : 0;
    }
    case "explain": {
      const options = validateFlags(explainOptionsSchema, flags);
      if (options.source.type === "kube") throw new UsageError("explain reads dir:PATH or embedded:samples; for kube, use kubectl get and the config's status");
      const { loadDirectoryOnce } = await import("./sources/files/directory-source.ts");
      const { EmbeddedSource } = await import("./sources/files/embedded-source.ts");
      const { BootStore } = await import("./boot/store.ts");
      const { explainMachine } = await import("./cli/explain.ts");
      const store = new BootStore();
      if (options.source.type === "dir") store.apply(await loadDirectoryOnce(options.source.directory));
      else await new EmbeddedSource().start((update) => store.apply(update));
      for (const line of explainMachine(store, options)) process.stdout.write(`${line}\n`);
      return 0;
    }
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exit(code);
  },
  (error: unknown) => {
    if (error instanceof UsageError) {
      process.stderr.write(`boot-operator: ${error.message}\n`);
      process.exit(2);
    }
    process.stderr.write(`boot-operator: ${(error as Error).message ?? String(error)}\n`);
    process.exit(1);
  },
);
