// Writes a one-shot UEFI boot entry into a copy of OVMF's variable store, so OVMF's own HTTP Boot fetches an https://
// URL. Why: QEMU's user-mode DHCP (libslirp) marks its offer as an HTTP Boot offer (vendor class "HTTPClient") only
// when the boot file starts with "http://"; with an "https://" boot file OVMF sees a plain DHCP offer without a boot
// URI and retries DHCP forever (measured: "Start HTTP Boot over IPv4....." and nothing else). A boot option whose
// device path ends in Uri(https://…) is EDK2's "home network" HTTP Boot (what its HTTP Boot configuration page
// writes): DHCP for the address only, the URI from the option. BootNext makes the firmware take it once, first.
//
// Pure byte manipulation of the authenticated variable store in OVMF_VARS*.fd (EDK2's on-flash format: firmware
// volume header, VARIABLE_STORE_HEADER, then AUTHENTICATED_VARIABLE_HEADER + name + data records, each header
// 4-byte aligned; on x64 the data follows the name unpadded).

/** gEfiAuthenticatedVariableGuid as its bytes lie on flash: the variable store format OVMF's NV store uses. */
const AUTHENTICATED_STORE_GUID = "782cf3aa-7b94-9a43-a180-2e144ec37792";
/** EFI_GLOBAL_VARIABLE (8BE4DF61-93CA-11D2-AA0D-00E098032B8C) in on-disk byte order. */
const EFI_GLOBAL_VARIABLE_BYTES = [0x61, 0xdf, 0xe4, 0x8b, 0xca, 0x93, 0xd2, 0x11, 0xaa, 0x0d, 0x00, 0xe0, 0x98, 0x03, 0x2b, 0x8c];
const FV_SIGNATURE = "_FVH";
const VARIABLE_START_ID = 0x55aa;
/** VAR_ADDED: the state of a live variable record. */
const VAR_ADDED = 0x3f;
const VARIABLE_STORE_HEADER_SIZE = 28;
const AUTHENTICATED_VARIABLE_HEADER_SIZE = 60;
/** EFI_VARIABLE_NON_VOLATILE | BOOTSERVICE_ACCESS | RUNTIME_ACCESS, as the boot manager writes Boot#### itself. */
const BOOT_VARIABLE_ATTRIBUTES = 0x7;
const LOAD_OPTION_ACTIVE = 0x1;

const align4 = (value: number): number => (value + 3) & ~3;

function ucs2z(text: string): Uint8Array {
  const bytes = new Uint8Array((text.length + 1) * 2);
  const view = new DataView(bytes.buffer);
  for (let index = 0; index < text.length; index++) view.setUint16(index * 2, text.charCodeAt(index), true);
  return bytes;
}

function guidText(bytes: Uint8Array, offset: number): string {
  const hex = Array.from(bytes.subarray(offset, offset + 16), (byte) => byte.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

function devicePathNode(type: number, subType: number, body: Uint8Array): Uint8Array {
  const node = new Uint8Array(4 + body.length);
  node.set([type, subType], 0);
  new DataView(node.buffer).setUint16(2, node.length, true);
  node.set(body, 4);
  return node;
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/** Where the NIC is, as OVMF names it: PciRoot(0x0)/Pci(pciDevice,0x0)/MAC(mac). */
export interface NicLocation {
  pciDevice: number;
  mac: string;
}

/**
 * The device path EDK2's HTTP Boot configuration page writes: PciRoot/Pci/MAC/IPv4(DHCP)/Uri(uri)/End — the NIC's
 * HTTP Boot LoadFile handle, with the URI the firmware is to fetch.
 */
export function httpBootDevicePath(nic: NicLocation, uri: string): Uint8Array {
  const acpi = new Uint8Array(8);
  new DataView(acpi.buffer).setUint32(0, 0x0a0341d0, true); // EISA PNP0A03 (PCI root bridge), UID 0
  const mac = new Uint8Array(33);
  mac.set(
    nic.mac.split(":").map((part) => Number.parseInt(part, 16)),
    0,
  );
  mac[32] = 1; // IfType: Ethernet
  // LocalIp, RemoteIp, ports, protocol TCP (6), StaticIpAddress FALSE (DHCP), gateway, mask.
  const ipv4 = new Uint8Array(23);
  new DataView(ipv4.buffer).setUint16(12, 6, true);
  return concat([
    devicePathNode(0x02, 0x01, acpi),
    devicePathNode(0x01, 0x01, new Uint8Array([0, nic.pciDevice])),
    devicePathNode(0x03, 0x0b, mac),
    devicePathNode(0x03, 0x0c, ipv4),
    devicePathNode(0x03, 0x18, new TextEncoder().encode(uri)),
    new Uint8Array([0x7f, 0xff, 0x04, 0x00]),
  ]);
}

/** EFI_LOAD_OPTION (active) with this description and device path. */
export function loadOption(description: string, devicePath: Uint8Array): Uint8Array {
  const name = ucs2z(description);
  const option = new Uint8Array(6 + name.length + devicePath.length);
  const view = new DataView(option.buffer);
  view.setUint32(0, LOAD_OPTION_ACTIVE, true);
  view.setUint16(4, devicePath.length, true);
  option.set(name, 6);
  option.set(devicePath, 6 + name.length);
  return option;
}

function variableRecord(name: string, data: Uint8Array): Uint8Array {
  const nameBytes = ucs2z(name);
  // x64 EDK2 packs data right after the name (VariableFormat.h ALIGNMENT is 1); only headers are 4-byte aligned.
  const dataOffset = AUTHENTICATED_VARIABLE_HEADER_SIZE + nameBytes.length;
  const record = new Uint8Array(align4(dataOffset + data.length)).fill(0xff);
  const view = new DataView(record.buffer);
  view.setUint16(0, VARIABLE_START_ID, true);
  view.setUint8(2, VAR_ADDED);
  view.setUint8(3, 0);
  view.setUint32(4, BOOT_VARIABLE_ATTRIBUTES, true);
  // MonotonicCount, TimeStamp, PubKeyIndex: zero for a variable that is not time-authenticated.
  record.fill(0, 8, 36);
  view.setUint32(36, nameBytes.length, true);
  view.setUint32(40, data.length, true);
  record.set(EFI_GLOBAL_VARIABLE_BYTES, 44);
  record.set(nameBytes, AUTHENTICATED_VARIABLE_HEADER_SIZE);
  record.set(data, dataOffset);
  return record;
}

/** Offset of the first free byte of the variable store (after the last record), and the store's end. */
function storeBounds(store: Uint8Array): { free: number; end: number } {
  const view = new DataView(store.buffer, store.byteOffset, store.byteLength);
  if (new TextDecoder().decode(store.subarray(0x28, 0x2c)) !== FV_SIGNATURE) throw new Error("not a firmware volume (no _FVH signature)");
  const storeHeader = view.getUint16(0x30, true);
  if (guidText(store, storeHeader) !== AUTHENTICATED_STORE_GUID) throw new Error("variable store is not in the authenticated format");
  const end = storeHeader + view.getUint32(storeHeader + 16, true);
  let offset = align4(storeHeader + VARIABLE_STORE_HEADER_SIZE);
  while (offset + AUTHENTICATED_VARIABLE_HEADER_SIZE <= end && view.getUint16(offset, true) === VARIABLE_START_ID) {
    const nameSize = view.getUint32(offset + 36, true);
    const dataSize = view.getUint32(offset + 40, true);
    offset = align4(offset + AUTHENTICATED_VARIABLE_HEADER_SIZE + nameSize + dataSize);
  }
  return { free: offset, end };
}

/**
 * A copy of `store` with Boot<number> = a URI boot option and BootNext = <number>: the firmware boots that URI once,
 * before its BootOrder (BootNext is consumed on use).
 */
export function withOneShotBoot(store: Uint8Array, devicePath: Uint8Array, description = "boot-operator e2e HTTPS Boot", bootNumber = 0x0100): Uint8Array {
  const optionName = `Boot${bootNumber.toString(16).toUpperCase().padStart(4, "0")}`;
  const bootNext = new Uint8Array(2);
  new DataView(bootNext.buffer).setUint16(0, bootNumber, true);
  const records = [variableRecord(optionName, loadOption(description, devicePath)), variableRecord("BootNext", bootNext)];
  const { free, end } = storeBounds(store);
  const size = records.reduce((sum, record) => sum + record.length, 0);
  if (free + size > end) throw new Error("no room left in the variable store");
  const copy = new Uint8Array(store);
  let offset = free;
  for (const record of records) {
    if (copy.subarray(offset, offset + record.length).some((byte) => byte !== 0xff)) throw new Error("variable store free space is not erased");
    copy.set(record, offset);
    offset += record.length;
  }
  return copy;
}
