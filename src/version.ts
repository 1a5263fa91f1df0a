import packageJson from "../package.json" with { type: "json" };

declare const BUILD_COMMIT: string | undefined;

export const VERSION: string = packageJson.version;
/** Set by scripts/build.ts with --define; "dev" when running from source. */
export const COMMIT: string = typeof BUILD_COMMIT === "string" ? BUILD_COMMIT : "dev";
