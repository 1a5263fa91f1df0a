// The shape every "can this be served?" answer has, in its own file so that the secret caches and the
// servability rules can share it without importing each other.

/** Why a machine gets no answer; the same words become the status condition reason. */
export type UnservableReason =
  /** The config does not ask for this (e.g. no ignitionSecretRef): a 404 for the machine, not a config error. */
  | "NotConfigured"
  | "SecretNotFound"
  | "SecretKeyMissing"
  | "IgnitionInvalid"
  | "ButaneTranslationFailed"
  | "IPXEScriptInvalid"
  /** Butane still being translated on a worker: requests wait for it; a diagnosis made meanwhile says so. */
  | "IgnitionPending"
  /** A custom iPXE script still being parsed on a worker: likewise. */
  | "IPXEScriptPending"
  /** Switch ZTP payloads (boot/ztp/payload.ts): a template that does not parse, a JSON sonic-ztp cannot run, … */
  | "ZTPTemplateInvalid"
  | "ZTPJSONInvalid"
  | "ProvisioningScriptInvalid"
  | "StartupConfigInvalid"
  | "ONIEUpdaterInvalid"
  /** A newer version of a switch payload is broken; the last valid one is still served. */
  | "ZTPPayloadInvalid";

interface Unservable {
  ok: false;
  /** What the boot endpoint answers: 404 for something missing, 500 for something present but broken. */
  status: 404 | 500 | 503;
  reason: UnservableReason;
  /** One line, used verbatim as the HTTP body, the status condition message and the `validate`/`explain` text. */
  message: string;
}

export type Servable<T extends object> = ({ ok: true } & T) | Unservable;

export function unservable(status: 404 | 500 | 503, reason: UnservableReason, message: string): Unservable {
  return { ok: false, status, reason, message };
}
