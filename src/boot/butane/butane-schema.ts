/**
 * The Butane YAML schema for one variant/version, as documented in Butane's `docs/config-<variant>-v1_<n>.md`.
 * Every key a document may use is listed here; anything else is an "unused key" warning (and dropped), as in Butane.
 */
import type { ButaneSpec } from "./spec.ts";

export type FieldType =
  | { kind: "string" }
  | { kind: "int" }
  | { kind: "bool" }
  | { kind: "list"; item: FieldType }
  /** pointer: a Go pointer-to-struct field (nil when absent), which Butane's unused-key walk skips. */
  | { kind: "object"; fields: ObjectSpec; pointer?: boolean };

export type ObjectSpec = Readonly<Record<string, FieldType>>;

const str: FieldType = { kind: "string" };
const int: FieldType = { kind: "int" };
const bool: FieldType = { kind: "bool" };
const list = (item: FieldType): FieldType => ({ kind: "list", item });
const object = (fields: ObjectSpec, pointer = false): FieldType => (pointer ? { kind: "object", fields, pointer } : { kind: "object", fields });

/** Keeps only the entries whose condition holds, so version gates read as a flat list. */
function fields(entries: ReadonlyArray<readonly [string, FieldType, boolean?]>): ObjectSpec {
  const result: Record<string, FieldType> = {};
  for (const [name, type, enabled] of entries) {
    if (enabled !== false) result[name] = type;
  }
  return result;
}

export function butaneSchema(spec: ButaneSpec): ObjectSpec {
  const b = spec.ignitionMinor;

  const verification = object({ hash: str });
  const httpHeaders = list(object({ name: str, value: str }));

  /** Resource (file contents, append, key files, merged configs, CAs). `inline`-only contents came in 1.0 for files. */
  const resource = (kind: "file" | "config" | "ca" | "keyFile"): FieldType =>
    object(
      fields([
        ["source", str],
        ["inline", str, kind === "file" || b >= 1],
        ["local", str, b >= 1],
        ["compression", str, kind === "file" || b >= 1],
        ["http_headers", httpHeaders, b >= 1],
        ["verification", verification],
      ]),
    );

  const nodeOwner = object({ id: int, name: str });

  const ignition = object(
    fields([
      ["config", object({ merge: list(resource("config")), replace: resource("config") })],
      ["timeouts", object({ http_response_headers: int, http_total: int })],
      ["security", object({ tls: object({ certificate_authorities: list(resource("ca")) }) })],
      ["proxy", object({ http_proxy: str, https_proxy: str, no_proxy: list(str) }), b >= 1],
    ]),
  );

  const partition = object(
    fields([
      ["label", str],
      ["number", int],
      ["size_mib", int],
      ["start_mib", int],
      ["type_guid", str],
      ["guid", str],
      ["wipe_partition_entry", bool],
      ["should_exist", bool],
      ["resize", bool, b >= 2],
    ]),
  );

  const tang = object(
    fields([
      ["url", str],
      ["thumbprint", str],
      ["advertisement", str, b >= 4],
    ]),
  );
  // Butane 1.2/1.3 (base v0_3) declare clevis and its custom section as pointers.
  const clevis = object(
    {
      tang: list(tang),
      tpm2: bool,
      threshold: int,
      custom: object({ pin: str, config: str, needs_network: bool }, b === 2),
    },
    b === 2,
  );

  const storage = object(
    fields([
      ["disks", list(object({ device: str, wipe_table: bool, partitions: list(partition) }))],
      ["raid", list(object({ name: str, level: str, devices: list(str), spares: int, options: list(str) }))],
      [
        "filesystems",
        list(
          object(
            fields([
              ["device", str],
              ["format", str],
              ["path", str],
              ["wipe_filesystem", bool],
              ["label", str],
              ["uuid", str],
              ["options", list(str)],
              ["mount_options", list(str), b >= 1],
              ["with_mount_unit", bool, b >= 1],
            ]),
          ),
        ),
      ],
      [
        "files",
        list(
          object({
            path: str,
            overwrite: bool,
            contents: resource("file"),
            append: list(resource("file")),
            mode: int,
            user: nodeOwner,
            group: nodeOwner,
          }),
        ),
      ],
      ["directories", list(object({ path: str, overwrite: bool, mode: int, user: nodeOwner, group: nodeOwner }))],
      ["links", list(object({ path: str, overwrite: bool, user: nodeOwner, group: nodeOwner, target: str, hard: bool }))],
      [
        "luks",
        list(
          object(
            fields([
              ["name", str],
              ["device", str],
              ["key_file", resource("keyFile")],
              ["label", str],
              ["uuid", str],
              ["options", list(str)],
              ["wipe_volume", bool],
              ["clevis", clevis],
              ["discard", bool, b >= 4],
              ["open_options", list(str), b >= 4],
              ["cex", object({ enabled: bool }), b >= 5],
            ]),
          ),
        ),
        b >= 2,
      ],
      [
        "trees",
        list(
          object(
            fields([
              ["local", str],
              ["path", str],
              ["user", nodeOwner, b >= 6],
              ["group", nodeOwner, b >= 6],
              ["file_mode", int, b >= 6],
              ["dir_mode", int, b >= 6],
            ]),
          ),
        ),
        b >= 1,
      ],
    ]),
  );

  const systemd = object({
    units: list(
      object(
        fields([
          ["name", str],
          ["enabled", bool],
          ["mask", bool],
          ["contents", str],
          ["contents_local", str, b >= 4],
          [
            "dropins",
            list(
              object(
                fields([
                  ["name", str],
                  ["contents", str],
                  ["contents_local", str, b >= 4],
                ]),
              ),
            ),
          ],
        ]),
      ),
    ),
  });

  const passwd = object({
    users: list(
      object(
        fields([
          ["name", str],
          ["password_hash", str],
          ["ssh_authorized_keys", list(str)],
          ["ssh_authorized_keys_local", list(str), b >= 4],
          ["uid", int],
          ["gecos", str],
          ["home_dir", str],
          ["no_create_home", bool],
          ["primary_group", str],
          ["groups", list(str)],
          ["no_user_group", bool],
          ["no_log_init", bool],
          ["shell", str],
          ["should_exist", bool, b >= 2],
          ["system", bool],
        ]),
      ),
    ),
    groups: list(
      object(
        fields([
          ["name", str],
          ["gid", int],
          ["password_hash", str],
          ["should_exist", bool, b >= 2],
          ["system", bool],
        ]),
      ),
    ),
  });

  const bootDevice = object({
    layout: str,
    luks: object(
      fields([
        ["tang", list(tang)],
        ["tpm2", bool],
        ["threshold", int],
        ["discard", bool, spec.bootDeviceDiscard],
        ["device", str, spec.bootDeviceS390x],
        ["cex", object({ enabled: bool }), spec.bootDeviceS390x],
      ]),
    ),
    mirror: object({ devices: list(str) }),
  });

  return fields([
    ["variant", str],
    ["version", str],
    ["ignition", ignition],
    ["storage", storage],
    ["systemd", systemd],
    ["passwd", passwd],
    ["kernel_arguments", object({ should_exist: list(str), should_not_exist: list(str) }), b >= 3],
    ["boot_device", bootDevice, spec.bootDevice],
    ["grub", object({ users: list(object({ name: str, password_hash: str })) }), spec.grub],
  ]);
}
