/**
 * The enrichment column form's rules, kept out of React so they can be tested alone: which
 * providers the catalog offers for a field, the waterfall builder (add, reorder, remove), which
 * inputs the chosen providers read and whether the mapping satisfies at least one of them, and
 * the config the API takes (docs/columns.md). The server validates again and its 422 details
 * (paths such as `config.inputs.domain`) land next to the same fields (forms/config-errors.ts).
 */
import type { Schemas } from "@/lib/api";

import type { Column, ColumnType, FilterGroup } from "../api/tables";

export type Provider = Schemas["ProviderOut"];
export type WritePolicy = "fill_empty" | "overwrite";

/** Fields other column kinds own: the AI column is where `ai_answer` comes from. */
const NOT_ENRICHMENT = new Set(["ai_answer"]);

export interface EnrichmentDraft {
  field: string;
  waterfall: string[];
  /** provider input key -> column id ("" = not mapped) */
  inputs: Record<string, string>;
  /** further fields of the same call -> the name of the new column that receives each */
  outputs: { field: string; name: string }[];
  onlyIf: FilterGroup | null;
  autoRun: boolean;
  writePolicy: WritePolicy;
}

export function emptyDraft(): EnrichmentDraft {
  return { field: "", waterfall: [], inputs: {}, outputs: [], onlyIf: null, autoRun: false, writePolicy: "fill_empty" };
}

/** Every field some provider supplies, sorted, without the kinds of other columns. */
export function catalogFields(providers: Provider[]): string[] {
  return [...new Set(providers.flatMap((p) => p.supplies))].filter((f) => !NOT_ENRICHMENT.has(f)).sort();
}

/** The providers of a field, cheapest first (the registry's own default order). */
export function providersFor(field: string, providers: Provider[]): Provider[] {
  return providers
    .filter((p) => p.supplies.includes(field))
    .sort((a, b) => a.credit_cost - b.credit_cost || a.slug.localeCompare(b.slug));
}

export function addProvider(waterfall: string[], slug: string): string[] {
  return waterfall.includes(slug) ? waterfall : [...waterfall, slug];
}

export function removeProvider(waterfall: string[], index: number): string[] {
  return waterfall.filter((_, i) => i !== index);
}

/** Move one step up (-1) or down (+1); out-of-range moves change nothing. */
export function moveProvider(waterfall: string[], index: number, step: -1 | 1): string[] {
  const to = index + step;
  if (index < 0 || index >= waterfall.length || to < 0 || to >= waterfall.length) return waterfall;
  const next = [...waterfall];
  [next[index], next[to]] = [next[to] as string, next[index] as string];
  return next;
}

/** A provider's input alternatives for a field (any one list of keys suffices). */
export function alternativesOf(provider: Provider | undefined, field: string): string[][] {
  return provider?.required_inputs[field] ?? [];
}

/** Does the mapping give this provider everything one of its alternatives needs? */
export function satisfied(alternatives: string[][], inputs: Record<string, string>): boolean {
  return alternatives.some((keys) => keys.every((k) => Boolean(inputs[k])));
}

/** The fields one call fills: the column's own, then its outputs. */
export function draftFields(draft: EnrichmentDraft): string[] {
  return [...new Set([draft.field, ...draft.outputs.map((o) => o.field)].filter(Boolean))];
}

/**
 * The input keys the waterfall's providers read for the column's fields, in a stable order
 * (the most common ones first: what a person is most likely to have in a table).
 */
export function inputKeys(draft: EnrichmentDraft, providers: Provider[]): string[] {
  const bySlug = new Map(providers.map((p) => [p.slug, p]));
  const counts = new Map<string, number>();
  for (const field of draftFields(draft))
    for (const slug of draft.waterfall)
      for (const alt of alternativesOf(bySlug.get(slug), field)) for (const key of alt) counts.set(key, (counts.get(key) ?? 0) + 1);
  return [...counts.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).map(([k]) => k);
}

/** Fields the waterfall's providers can also fill from the same call (offered as outputs). */
export function outputChoices(draft: EnrichmentDraft, providers: Provider[]): string[] {
  const bySlug = new Map(providers.map((p) => [p.slug, p]));
  const out = new Set<string>();
  for (const slug of draft.waterfall) for (const f of bySlug.get(slug)?.supplies ?? []) out.add(f);
  out.delete(draft.field);
  for (const f of NOT_ENRICHMENT) out.delete(f);
  return [...out].sort();
}

const normalize = (s: string) => s.toLowerCase().replace(/[^a-z0-9]/g, "");
const ALIASES: Record<string, string[]> = {
  domain: ["domain", "companydomain", "website", "companywebsite", "url"],
  first_name: ["firstname", "first", "givenname"],
  last_name: ["lastname", "last", "surname", "familyname"],
  full_name: ["fullname", "name"],
  name: ["fullname", "name"],
  company_name: ["companyname", "company", "organization", "organisation"],
  organization_name: ["companyname", "company", "organization", "organisation"],
  linkedin_url: ["linkedinurl", "linkedin"],
  email: ["email", "workemail", "emailaddress"],
};

/** A column whose name says it holds this input (`First name` for `first_name`), or "". */
export function guessColumn(key: string, columns: Column[], exclude: ReadonlySet<string> = new Set()): string {
  const wanted = ALIASES[key] ?? [normalize(key)];
  for (const alias of wanted) {
    const hit = columns.find((c) => !exclude.has(c.id) && normalize(c.name) === alias);
    if (hit) return hit.id;
  }
  return "";
}

/** Fill inputs nobody mapped yet with the columns their names suggest; mapped ones are kept. */
export function autoMap(draft: EnrichmentDraft, providers: Provider[], columns: Column[]): Record<string, string> {
  const next = { ...draft.inputs };
  for (const key of inputKeys(draft, providers)) if (!next[key]) next[key] = guessColumn(key, columns);
  return next;
}

/** A sensible column type for a field (the user can still pick another). */
export function typeForField(field: string): ColumnType {
  if (field === "email") return "email";
  if (field === "phone") return "phone";
  if (field.endsWith("_url")) return "url";
  if (field === "employee_count" || field === "founded_year" || field === "email_score" || field.endsWith("_count")) return "number";
  if (field === "company_description") return "long_text";
  if (field === "emails" || field === "phones" || field === "social_links" || field === "technologies" || field === "job_titles") return "json";
  return "text";
}

export const fieldLabel = (field: string) => field.replace(/_/g, " ").replace(/^./, (c) => c.toUpperCase());

/**
 * What is wrong before anything is sent, keyed by the same paths the server's 422 uses, so one
 * component shows both. Empty when the draft can be saved.
 */
export function validateDraft(draft: EnrichmentDraft, providers: Provider[], existingNames: string[] = []): Record<string, string> {
  const errors: Record<string, string> = {};
  if (!draft.field) errors["config.field"] = "Pick what this column finds.";
  if (!draft.waterfall.length) errors["config.waterfall"] = "Add at least one provider.";
  const bySlug = new Map(providers.map((p) => [p.slug, p]));
  if (draft.field && draft.waterfall.length) {
    for (const field of draftFields(draft)) {
      const ok = draft.waterfall.some((slug) => satisfied(alternativesOf(bySlug.get(slug), field), draft.inputs));
      if (!ok) {
        errors["config.inputs"] = `Map the inputs one provider needs for ${fieldLabel(field).toLowerCase()} (see “needs” under each provider).`;
        break;
      }
    }
  }
  const taken = new Set(existingNames.map((n) => n.trim().toLowerCase()));
  draft.outputs.forEach((o, i) => {
    const name = o.name.trim();
    if (!o.field) errors[`outputs.${i}`] = "Pick a field.";
    else if (!name) errors[`outputs.${i}`] = "Name the column that receives it.";
    else if (taken.has(name.toLowerCase())) errors[`outputs.${i}`] = "A column already has this name.";
    else taken.add(name.toLowerCase());
  });
  return errors;
}

/** The config the API stores, given the ids of the output columns (created first, as data columns). */
export function toConfig(draft: EnrichmentDraft, outputIds: Record<string, string> = {}): Record<string, unknown> {
  const inputs = Object.fromEntries(Object.entries(draft.inputs).filter(([, v]) => Boolean(v)));
  const config: Record<string, unknown> = {
    field: draft.field,
    waterfall: draft.waterfall,
    inputs,
    outputs: outputIds,
    auto_run: draft.autoRun,
    write_policy: draft.writePolicy,
  };
  if (draft.onlyIf?.conditions?.length) config.only_if = draft.onlyIf;
  return config;
}

/** A stored column's config back into a draft (for editing). */
export function fromConfig(config: Record<string, unknown>, columns: Column[]): EnrichmentDraft {
  const byId = new Map(columns.map((c) => [c.id, c.name]));
  const outputs = Object.entries((config.outputs as Record<string, string> | undefined) ?? {}).map(([field, id]) => ({ field, name: byId.get(id) ?? field }));
  return {
    field: typeof config.field === "string" ? config.field : "",
    waterfall: Array.isArray(config.waterfall) ? (config.waterfall as string[]) : [],
    inputs: { ...((config.inputs as Record<string, string> | undefined) ?? {}) },
    outputs,
    onlyIf: (config.only_if as FilterGroup | undefined) ?? null,
    autoRun: config.auto_run === true,
    writePolicy: config.write_policy === "overwrite" ? "overwrite" : "fill_empty",
  };
}
