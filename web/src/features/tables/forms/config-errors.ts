/**
 * A column's 422 as messages per field path. The API names each problem with a path into the
 * request (`config.waterfall`, `config.inputs.domain`, `config.only_if.conditions.0`,
 * `config.expression` with `line`/`column`/`offset` for formulas: docs/columns.md); the forms
 * look their fields up here, a field's own path or anything under it.
 */
import { isApiError } from "@/lib/api";

export interface ConfigProblem {
  field: string;
  message: string;
  line?: number;
  column?: number;
  offset?: number;
  [key: string]: unknown;
}

export interface ConfigErrors {
  /** message per path (the first one when a path has several) */
  byPath: Record<string, string>;
  problems: ConfigProblem[];
  /** the envelope's message, for the top of the form */
  message: string | null;
  code: string | null;
}

const NONE: ConfigErrors = { byPath: {}, problems: [], message: null, code: null };

/** The problems of an API error (422 details), or nothing for any other value. */
export function configErrors(error: unknown): ConfigErrors {
  if (!isApiError(error)) return NONE;
  const problems: ConfigProblem[] = [];
  if (Array.isArray(error.details)) {
    for (const item of error.details as unknown[]) {
      if (item && typeof item === "object" && "field" in item && "message" in item) {
        const raw = item as Record<string, unknown>;
        problems.push({ ...raw, field: String(raw.field).replace(/^body\./, ""), message: String(raw.message) });
      }
    }
  }
  const byPath: Record<string, string> = {};
  for (const p of problems) byPath[p.field] ??= p.message;
  return { byPath, problems, message: error.message, code: error.code };
}

/** The message for `path` itself, or else the first one under it (`config.inputs` finds `config.inputs.domain`). */
export function errorAt(errors: Record<string, string>, path: string): string | undefined {
  if (errors[path]) return errors[path];
  const under = Object.keys(errors).find((k) => k.startsWith(`${path}.`));
  return under ? errors[under] : undefined;
}

/** Problems no field of the form shows (so the form lists them at the top instead of losing them). */
export function unplaced(errors: Record<string, string>, shown: string[]): string[] {
  return Object.entries(errors)
    .filter(([path]) => !shown.some((s) => path === s || path.startsWith(`${s}.`)))
    .map(([path, message]) => `${path}: ${message}`);
}
