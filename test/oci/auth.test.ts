// The bearer-token flow for real: docker-registry with `auth: token:` trusting a JWT-issuing token server, and
// blob downloads redirected to a separate "CDN" server (the registry's redirect storage middleware).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { parseDockerConfigJson } from "../../src/oci/auth.ts";
import { OciClient, type UpstreamRequestEvent } from "../../src/oci/client.ts";
import { computeDigest } from "../../src/oci/digest.ts";
import { OciError } from "../../src/oci/errors.ts";
import { parseRedirectHostList } from "../../src/oci/redirects.ts";
import { pushOciIndexImage, pushPxeOnlyImage, pushUkiOnlyImage, READER_USER, RegistryHarness, type TestImage } from "../harness/registry.ts";
import { eventually } from "../harness/wait.ts";

let registry: RegistryHarness;
let publicImage: TestImage;
let privateImage: TestImage;

beforeAll(async () => {
  registry = await RegistryHarness.start({ tokenAuth: {}, cdn: true });
  publicImage = await pushOciIndexImage(registry, "boot/public", "v1");
  privateImage = await pushPxeOnlyImage(registry, "private/pxe", "v1");
});

afterAll(async () => {
  await registry?.stop();
});

function dockerConfigFor(host: string, username: string, password: string): Uint8Array {
  return new TextEncoder().encode(JSON.stringify({ auths: { [host]: { auth: Buffer.from(`${username}:${password}`).toString("base64") } } }));
}

function client(options: ConstructorParameters<typeof OciClient>[0] = {}): { client: OciClient; events: UpstreamRequestEvent[] } {
  const events: UpstreamRequestEvent[] = [];
  return {
    client: new OciClient({
      plainHttpRegistries: [registry.host],
      onUpstreamRequest: (event) => events.push(event),
      redirects: { hosts: parseRedirectHostList(registry.cdnHost ?? "") },
      ...options,
    }),
    events,
  };
}

async function errorOf(promise: Promise<unknown>): Promise<OciError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof OciError) return error;
    throw error;
  }
  throw new Error("expected an OciError");
}

describe("anonymous bearer tokens", () => {
  test("the registry demands a token, the client fetches one from the realm and reuses it", async () => {
    const unauthenticated = await fetch(`${registry.url}/v2/boot/public/manifests/v1`);
    await unauthenticated.body?.cancel();
    expect(unauthenticated.status).toBe(401);
    expect(unauthenticated.headers.get("www-authenticate")).toContain(`realm="${registry.tokenServerUrl}"`);

    const before = registry.requests.token.length;
    const { client: oci, events } = client();
    const resolved = await oci.resolveBootImage(publicImage.reference, { architecture: "amd64" });
    expect(resolved.manifestDigest).toBe(publicImage.byArchitecture.amd64?.digest ?? "");
    const blob = await oci.fetchBlob(resolved, resolved.kernel?.digest ?? "");
    expect(computeDigest(new Uint8Array(await blob.arrayBuffer()))).toBe(resolved.kernel?.digest ?? "");
    await oci.resolveBootImage(publicImage.reference, { architecture: "arm64" });

    const tokenRequests = registry.requests.token.slice(before);
    expect(tokenRequests).toEqual([{ scopes: ["repository:boot/public:pull"], user: undefined, granted: [{ name: "boot/public", actions: ["pull"] }] }]);
    // One 401 to learn the realm; every later request carries the cached token.
    expect(events.filter((event) => event.status === 401)).toHaveLength(1);
  });

  test("a second repository on the same registry gets its token without another 401", async () => {
    const other = await pushUkiOnlyImage(registry, "boot/other", "v1");
    const { client: oci, events } = client();
    await oci.resolveBootImage(publicImage.reference, { architecture: "amd64" });
    await oci.resolveBootImage(other.reference, { architecture: "amd64" });
    expect(events.filter((event) => event.status === 401)).toHaveLength(1);
    expect(events.filter((event) => event.kind === "token")).toHaveLength(2);
  });

  test("a private repository is refused without credentials", async () => {
    const error = await errorOf(client().client.resolveBootImage(privateImage.reference, { architecture: "amd64" }));
    expect(error.code).toBe("UNAUTHORIZED");
    expect(error.message).toContain("refused anonymous access to private/pxe");
  });
});

describe("pull credentials from a dockerconfigjson Secret", () => {
  test("are sent to the token server and open the private repository", async () => {
    const credentials = parseDockerConfigJson(dockerConfigFor(registry.host, READER_USER.username, READER_USER.password));
    const before = registry.requests.token.length;
    const resolved = await client({ credentials }).client.resolveBootImage(privateImage.reference, { architecture: "amd64" });
    expect(resolved.kernel?.digest).toBe(privateImage.byArchitecture.amd64?.layers.kernel?.digest ?? "");
    expect(registry.requests.token.slice(before).map((request) => request.user)).toEqual(["reader"]);
  });

  test("credentials can be replaced on a running client", async () => {
    const { client: oci } = client();
    const refused = await errorOf(oci.resolveBootImage(privateImage.reference, { architecture: "arm64" }));
    expect(refused.code).toBe("UNAUTHORIZED");
    oci.setCredentials(parseDockerConfigJson(dockerConfigFor(registry.host, READER_USER.username, READER_USER.password)));
    const resolved = await oci.resolveBootImage(privateImage.reference, { architecture: "arm64" });
    expect(resolved.initrd?.digest).toBe(privateImage.byArchitecture.arm64?.layers.initrd?.digest ?? "");
  });

  test("wrong credentials are UNAUTHORIZED at the token server", async () => {
    const credentials = parseDockerConfigJson(dockerConfigFor(registry.host, READER_USER.username, "wrong"));
    const error = await errorOf(client({ credentials }).client.resolveBootImage(privateImage.reference, { architecture: "amd64" }));
    expect(error.code).toBe("UNAUTHORIZED");
    expect(error.message).toContain("refused the configured credentials");
  });
});

describe("token lifetime", () => {
  test("a token is reused until expires_in runs out, then fetched again", async () => {
    const shortLived = await RegistryHarness.start({ tokenAuth: { ttlSeconds: 1 } });
    try {
      const image = await pushUkiOnlyImage(shortLived, "boot/short", "v1");
      const events: UpstreamRequestEvent[] = [];
      const oci = new OciClient({ plainHttpRegistries: [shortLived.host], onUpstreamRequest: (event) => events.push(event) });
      const resolved = await oci.resolveBootImage(image.reference, { architecture: "amd64" });
      const head = async (): Promise<number> => {
        const response = await oci.fetchBlob(resolved, resolved.uki?.digest ?? "", { method: "HEAD" });
        await response.body?.cancel();
        return response.status;
      };
      expect(await head()).toBe(200);
      expect(shortLived.requests.token).toHaveLength(1);
      await eventually(async () => (await head()) === 200 && shortLived.requests.token.length > 1, "a second token once expires_in ran out", {
        timeoutMs: 5_000,
        intervalMs: 50,
      });
      expect(shortLived.requests.token).toHaveLength(2);
      // Refreshed before the registry would have refused it: no second 401.
      expect(events.filter((event) => event.status === 401)).toHaveLength(1);
    } finally {
      await shortLived.stop();
    }
  });
});

describe("redirects to a blob CDN", () => {
  test("are followed, and the registry token never reaches the CDN", async () => {
    const { client: oci, events } = client();
    const resolved = await oci.resolveBootImage(publicImage.reference, { architecture: "arm64" });
    const uki = resolved.uki;
    if (!uki) throw new Error("no UKI");
    const cdnBefore = registry.requests.cdn.length;
    const response = await oci.fetchBlob(resolved, uki.digest);
    expect(response.status).toBe(200);
    expect(computeDigest(new Uint8Array(await response.arrayBuffer()))).toBe(uki.digest);
    const blobEvents = events.filter((event) => event.kind === "blob");
    expect(blobEvents.map((event) => event.status)).toEqual([307, 200]);
    expect(new URL(blobEvents[1]?.url ?? "").port).not.toBe(new URL(registry.url).port);
    const cdnRequests = registry.requests.cdn.slice(cdnBefore);
    expect(cdnRequests).toHaveLength(1);
    expect(cdnRequests[0]?.authorization).toBeNull();
  });

  test("Range survives the redirect", async () => {
    const { client: oci } = client();
    const resolved = await oci.resolveBootImage(publicImage.reference, { architecture: "amd64" });
    const kernel = publicImage.byArchitecture.amd64?.layers.kernel;
    if (!kernel) throw new Error("no kernel");
    const response = await oci.fetchBlob(resolved, kernel.digest, { range: "bytes=1000-1999" });
    expect(response.status).toBe(206);
    expect(new Uint8Array(await response.arrayBuffer())).toEqual(kernel.bytes.slice(1000, 2000));
  });
});
