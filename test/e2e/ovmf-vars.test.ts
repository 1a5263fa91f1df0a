// Unit tests (no QEMU) for the OVMF variable store writer behind the uefi-https boots: records where EDK2 looks
// for them (x64: data right after the name, headers 4-byte aligned), the load option's device path, refusals.
import { describe, expect, test } from "bun:test";
import { httpBootDevicePath, loadOption, withOneShotBoot } from "./ovmf-vars.ts";

const FV_HEADER_LENGTH = 0x48;
const STORE_SIZE = 0x1000;
const AUTH_STORE_GUID = [0x78, 0x2c, 0xf3, 0xaa, 0x7b, 0x94, 0x9a, 0x43, 0xa1, 0x80, 0x2e, 0x14, 0x4e, 0xc3, 0x77, 0x92];

/** An erased store laid out like OVMF_VARS_4M.fd: FV header, authenticated VARIABLE_STORE_HEADER, 0xFF. */
function emptyStore(storeGuid: number[] = AUTH_STORE_GUID): Uint8Array {
  const bytes = new Uint8Array(FV_HEADER_LENGTH + STORE_SIZE).fill(0xff);
  bytes.fill(0, 0, FV_HEADER_LENGTH);
  bytes.set(new TextEncoder().encode("_FVH"), 0x28);
  const view = new DataView(bytes.buffer);
  view.setUint16(0x30, FV_HEADER_LENGTH, true);
  bytes.set(storeGuid, FV_HEADER_LENGTH);
  view.setUint32(FV_HEADER_LENGTH + 16, STORE_SIZE, true);
  bytes.set([0x5a, 0xfe, 0, 0, 0, 0, 0, 0], FV_HEADER_LENGTH + 20);
  return bytes;
}

interface ParsedVariable {
  offset: number;
  state: number;
  attributes: number;
  name: string;
  data: Uint8Array;
}

/** Walks the records the way EDK2's variable driver does on x64. */
function parseVariables(store: Uint8Array): ParsedVariable[] {
  const view = new DataView(store.buffer, store.byteOffset, store.byteLength);
  const variables: ParsedVariable[] = [];
  let offset = (FV_HEADER_LENGTH + 28 + 3) & ~3;
  while (view.getUint16(offset, true) === 0x55aa) {
    const nameSize = view.getUint32(offset + 36, true);
    const dataSize = view.getUint32(offset + 40, true);
    const nameStart = offset + 60;
    const name = new TextDecoder("utf-16le").decode(store.subarray(nameStart, nameStart + nameSize - 2));
    const data = store.subarray(nameStart + nameSize, nameStart + nameSize + dataSize);
    variables.push({ offset, state: view.getUint8(offset + 2), attributes: view.getUint32(offset + 4, true), name, data });
    offset = (nameStart + nameSize + dataSize + 3) & ~3;
  }
  return variables;
}

const URI = "https://10.0.2.2:8443/uki/test.efi";
const NIC = { pciDevice: 2, mac: "52:54:00:12:34:56" };

describe("withOneShotBoot", () => {
  test("writes Boot0100 and BootNext=0x0100 as live NV+BS+RT records, the data right after the names", () => {
    const path = httpBootDevicePath(NIC, URI);
    const store = withOneShotBoot(emptyStore(), path);
    const variables = parseVariables(store);
    expect(variables.map((variable) => [variable.name, variable.state, variable.attributes])).toEqual([
      ["Boot0100", 0x3f, 7],
      ["BootNext", 0x3f, 7],
    ]);
    const [boot, next] = variables;
    expect(boot?.offset).toBe(0x64);
    expect(Array.from(boot?.data ?? [])).toEqual(Array.from(loadOption("boot-operator e2e HTTPS Boot", path)));
    expect(Array.from(next?.data ?? [])).toEqual([0x00, 0x01]);
    // Every header starts 4-byte aligned, and nothing else in the store changed.
    expect(variables.every((variable) => variable.offset % 4 === 0)).toBe(true);
    expect(Array.from(store.subarray(0, 0x64))).toEqual(Array.from(emptyStore().subarray(0, 0x64)));
  });

  test("appends after records already in the store instead of overwriting them", () => {
    const once = withOneShotBoot(emptyStore(), httpBootDevicePath(NIC, URI));
    const twice = withOneShotBoot(once, httpBootDevicePath(NIC, `${URI}?again`), "second", 0x0101);
    expect(parseVariables(twice).map((variable) => variable.name)).toEqual(["Boot0100", "BootNext", "Boot0101", "BootNext"]);
  });

  test("refuses a store that is not a firmware volume or not in the authenticated format", () => {
    const path = httpBootDevicePath(NIC, URI);
    expect(() => withOneShotBoot(new Uint8Array(0x200), path)).toThrow(/_FVH/);
    expect(() => withOneShotBoot(emptyStore(new Array(16).fill(0x11)), path)).toThrow(/authenticated/);
  });
});

describe("httpBootDevicePath", () => {
  test("PciRoot(0x0)/Pci(0x2,0x0)/MAC(…,0x1)/IPv4(DHCP, TCP)/Uri(…)/End, each node's length right", () => {
    const path = httpBootDevicePath(NIC, URI);
    const nodes: { type: number; subType: number; body: Uint8Array }[] = [];
    for (let offset = 0; offset < path.length; ) {
      const length = (path[offset + 2] ?? 0) | ((path[offset + 3] ?? 0) << 8);
      nodes.push({ type: path[offset] ?? -1, subType: path[offset + 1] ?? -1, body: path.subarray(offset + 4, offset + length) });
      offset += length;
    }
    expect(nodes.map((node) => [node.type, node.subType])).toEqual([
      [0x02, 0x01],
      [0x01, 0x01],
      [0x03, 0x0b],
      [0x03, 0x0c],
      [0x03, 0x18],
      [0x7f, 0xff],
    ]);
    expect(Array.from(nodes[1]?.body ?? [])).toEqual([0, 2]);
    expect(Array.from(nodes[2]?.body.subarray(0, 6) ?? [])).toEqual([0x52, 0x54, 0x00, 0x12, 0x34, 0x56]);
    expect(nodes[2]?.body[32]).toBe(1);
    expect(new TextDecoder().decode(nodes[4]?.body)).toBe(URI);
  });
});
