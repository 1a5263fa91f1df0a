/** Diagnostics shared by every stage of the Butane translator. */

export type PathSegment = string | number;

export interface ButaneDiagnostic {
  severity: "error" | "warning";
  path: string;
  line?: number;
  column?: number;
  message: string;
}

export interface SourcePosition {
  line: number;
  column: number;
}

/** `storage.files.0.mode` — the dotted form Butane prints (without its `$.` prefix). */
function formatPath(path: readonly PathSegment[]): string {
  return path.map(String).join(".");
}

/**
 * Collects diagnostics for one translation. Positions are resolved lazily from the YAML source so that
 * stages after decoding (validation of the generated Ignition tree) can still point at a line.
 */
export class DiagnosticReport {
  readonly errors: ButaneDiagnostic[] = [];
  readonly warnings: ButaneDiagnostic[] = [];

  constructor(private readonly locate: (path: readonly PathSegment[]) => SourcePosition | undefined) {}

  error(path: readonly PathSegment[], message: string, position?: SourcePosition): void {
    this.errors.push(this.build("error", path, message, position));
  }

  warning(path: readonly PathSegment[], message: string, position?: SourcePosition): void {
    this.warnings.push(this.build("warning", path, message, position));
  }

  get hasErrors(): boolean {
    return this.errors.length > 0;
  }

  private build(severity: ButaneDiagnostic["severity"], path: readonly PathSegment[], message: string, position: SourcePosition | undefined): ButaneDiagnostic {
    const resolved = position ?? this.locate(path);
    const diagnostic: ButaneDiagnostic = { severity, path: formatPath(path), message };
    if (resolved) {
      diagnostic.line = resolved.line;
      diagnostic.column = resolved.column;
    }
    return diagnostic;
  }
}

export function formatButaneDiagnostic(diagnostic: ButaneDiagnostic): string {
  const where = diagnostic.path === "" ? "$" : diagnostic.path;
  const position =
    diagnostic.line === undefined
      ? ""
      : diagnostic.column === undefined
        ? ` (line ${diagnostic.line})`
        : ` (line ${diagnostic.line}, column ${diagnostic.column})`;
  return `${where}${position}: ${diagnostic.message}`;
}
