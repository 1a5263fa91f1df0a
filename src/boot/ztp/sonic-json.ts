// Checks a SONiC ZTP JSON the way sonic-ztp reads it (sonic-net/sonic-ztp, HLD doc/ztp/ztp.md): one top-level "ztp"
// object; inside it sections (objects, run in lexical order) and a few settings; wherever a "url" or "dynamic-url"
// appears it must be one sonic-ztp can download. Every problem names its JSON path, so `validate` and the status
// point at the line to fix. Pure.

interface JsonProblem {
  /** JSONPath of the offending value, e.g. $.ztp["01-configdb-json"].url.source */
  path: string;
  message: string;
}

const SECTION_STATES = ["BOOT", "IN-PROGRESS", "SUCCESS", "FAILED", "SUSPEND", "DISABLED"];
const BOOLEAN_KEYS = ["ignore-result", "halt-on-failure", "reboot-on-success", "reboot-on-failure", "restart-ztp-no-config", "restart-ztp-on-failure"];
const DYNAMIC_IDENTIFIERS = ["hostname", "hostname-fqdn", "serial-number", "product-name", "sonic-version"];
/** Keys of the "ztp" object that are settings, not sections. */
const ZTP_SETTINGS = new Set([
  "ztp-json-source",
  "ztp-json-version",
  "restart-ztp-no-config",
  "restart-ztp-on-failure",
  "config-fallback",
  "status",
  "timestamp",
]);
const URL_SOURCE = /^(https?|tftp|ftp|file|scp|sftp):\/\/\S+$|^\/\S+$/;

function child(path: string, key: string): string {
  return /^[A-Za-z_][A-Za-z0-9_]*$/.test(key) ? `${path}.${key}` : `${path}[${JSON.stringify(key)}]`;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function checkUrl(value: unknown, path: string, problems: JsonProblem[]): void {
  if (typeof value === "string") {
    if (!URL_SOURCE.test(value)) problems.push({ path, message: "must be a URL sonic-ztp can download (http, https, tftp, ftp, file, scp, sftp)" });
    return;
  }
  if (!isObject(value)) {
    problems.push({ path, message: "must be a URL string or an object with a source" });
    return;
  }
  const source = value.source;
  if (typeof source !== "string") problems.push({ path: child(path, "source"), message: "is required and must be a URL string" });
  else if (!URL_SOURCE.test(source))
    problems.push({ path: child(path, "source"), message: "must be a URL sonic-ztp can download (http, https, tftp, ftp, file, scp, sftp)" });
  for (const key of ["secure", "encrypted", "include-http-headers"]) {
    if (key in value && typeof value[key] !== "boolean") problems.push({ path: child(path, key), message: "must be true or false" });
  }
  if ("timeout" in value && !(typeof value.timeout === "number" && Number.isInteger(value.timeout) && value.timeout > 0)) {
    problems.push({ path: child(path, "timeout"), message: "must be a positive whole number of seconds" });
  }
  for (const key of ["destination", "curl-arguments"]) {
    if (key in value && typeof value[key] !== "string") problems.push({ path: child(path, key), message: "must be a string" });
  }
}

function checkDynamicUrl(value: unknown, path: string, problems: JsonProblem[]): void {
  if (!isObject(value) || !isObject(value.source)) {
    problems.push({ path: isObject(value) ? child(path, "source") : path, message: "must be an object with a source {prefix, identifier, suffix}" });
    return;
  }
  const identifier = value.source.identifier;
  const identifierPath = child(child(path, "source"), "identifier");
  if (typeof identifier === "string") {
    if (!DYNAMIC_IDENTIFIERS.includes(identifier))
      problems.push({ path: identifierPath, message: `must be one of ${DYNAMIC_IDENTIFIERS.join(", ")} or {"url": …}` });
  } else if (isObject(identifier) && "url" in identifier) checkUrl(identifier.url, child(identifierPath, "url"), problems);
  else problems.push({ path: identifierPath, message: `is required: one of ${DYNAMIC_IDENTIFIERS.join(", ")} or {"url": …}` });
}

/** Every url / dynamic-url below `value`, wherever a plugin nests them (firmware.install.url, plugin.url, …). */
function checkUrlsBelow(value: unknown, path: string, problems: JsonProblem[], depth = 0): void {
  if (!isObject(value) || depth > 16) return;
  for (const [key, nested] of Object.entries(value)) {
    const nestedPath = child(path, key);
    if (key === "url") checkUrl(nested, nestedPath, problems);
    else if (key === "dynamic-url") checkDynamicUrl(nested, nestedPath, problems);
    else checkUrlsBelow(nested, nestedPath, problems, depth + 1);
  }
}

function checkSection(section: unknown, path: string, problems: JsonProblem[]): void {
  if (!isObject(section)) {
    problems.push({ path, message: "a section must be an object" });
    return;
  }
  if ("status" in section && !SECTION_STATES.includes(String(section.status))) {
    problems.push({ path: child(path, "status"), message: `must be one of ${SECTION_STATES.join(", ")}` });
  }
  for (const key of BOOLEAN_KEYS) {
    if (key in section && typeof section[key] !== "boolean") problems.push({ path: child(path, key), message: "must be true or false" });
  }
  checkUrlsBelow(section, path, problems);
}

/** Problems of a rendered SONiC ZTP JSON; empty when sonic-ztp can run it. */
export function validateSonicZtpJson(text: string): JsonProblem[] {
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch (error) {
    return [{ path: "$", message: `not JSON: ${(error as Error).message}` }];
  }
  if (!isObject(document)) return [{ path: "$", message: 'must be an object with a top-level "ztp" object' }];
  const ztp = document.ztp;
  if (!isObject(ztp)) return [{ path: "$.ztp", message: "is required and must be an object (sonic-ztp reads nothing else)" }];
  const problems: JsonProblem[] = [];
  const sections = Object.keys(ztp).filter((key) => !ZTP_SETTINGS.has(key));
  if (sections.length === 0) problems.push({ path: "$.ztp", message: "has no sections: sonic-ztp would have nothing to do" });
  if ("ztp-json-version" in ztp && typeof ztp["ztp-json-version"] !== "string") {
    problems.push({ path: child("$.ztp", "ztp-json-version"), message: 'must be a string such as "1.0"' });
  }
  for (const key of ["restart-ztp-no-config", "restart-ztp-on-failure", "config-fallback"]) {
    if (key in ztp && typeof ztp[key] !== "boolean") problems.push({ path: child("$.ztp", key), message: "must be true or false" });
  }
  for (const key of sections) checkSection(ztp[key], child("$.ztp", key), problems);
  return problems;
}
