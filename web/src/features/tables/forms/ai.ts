/**
 * The AI column form's rules: the output schema (text, number, yes/no, one of a list, or JSON
 * whose fields go to columns) and the config the API takes (kind `ai`, docs/web.md). The kind is
 * being built on the server in parallel: until it is, the server answers 422
 * `kind_not_available` and the form shows that message.
 */
export type AiOutputType = "text" | "number" | "boolean" | "choice" | "json";

export interface AiDraft {
  prompt: string;
  model: string;
  outputType: AiOutputType;
  /** one choice per line */
  choices: string;
  /** JSON output: field name -> column id that receives it */
  fields: { name: string; columnId: string }[];
  autoRun: boolean;
  writePolicy: "fill_empty" | "overwrite";
}

export const AI_MODELS = ["gpt-4o-mini", "gpt-4o", "gpt-4.1-mini"];

export function emptyAiDraft(): AiDraft {
  return { prompt: "", model: AI_MODELS[0] as string, outputType: "text", choices: "", fields: [], autoRun: false, writePolicy: "fill_empty" };
}

export const splitLines = (text: string) => [...new Set(text.split("\n").map((s) => s.trim()).filter(Boolean))];

/** The column type that holds an answer of this output type. */
export function aiColumnType(output: AiOutputType): "long_text" | "number" | "checkbox" | "single_select" | "json" {
  return output === "number" ? "number" : output === "boolean" ? "checkbox" : output === "choice" ? "single_select" : output === "json" ? "json" : "long_text";
}

export function validateAi(draft: AiDraft, columnNames: string[]): Record<string, string> {
  const errors: Record<string, string> = {};
  if (!draft.prompt.trim()) errors["config.prompt"] = "Write the prompt.";
  const known = new Set(columnNames.map((n) => n.toLowerCase()));
  const unknown = [...draft.prompt.matchAll(/\{\{\s*([^{}]+?)\s*\}\}/g)].map((m) => m[1] as string).filter((n) => !known.has(n.toLowerCase()));
  if (unknown.length) errors["config.prompt"] = `No column named ${unknown.map((n) => `“${n}”`).join(", ")}.`;
  if (!draft.model.trim()) errors["config.model"] = "Pick a model.";
  if (draft.outputType === "choice" && splitLines(draft.choices).length < 2) errors["config.output.choices"] = "Give at least two choices, one per line.";
  if (draft.outputType === "json") {
    draft.fields.forEach((f, i) => {
      if (!f.name.trim()) errors[`config.output.fields.${i}`] = "Name the field.";
      else if (!f.columnId) errors[`config.output.fields.${i}`] = "Pick the column that receives it.";
    });
    const names = draft.fields.map((f) => f.name.trim());
    if (new Set(names).size !== names.length) errors["config.output.fields"] = "Each field once.";
  }
  return errors;
}

export function aiConfig(draft: AiDraft): Record<string, unknown> {
  const output: Record<string, unknown> = { type: draft.outputType };
  if (draft.outputType === "choice") output.choices = splitLines(draft.choices);
  if (draft.outputType === "json") output.fields = Object.fromEntries(draft.fields.map((f) => [f.name.trim(), f.columnId]));
  return { prompt: draft.prompt, model: draft.model.trim(), output, auto_run: draft.autoRun, write_policy: draft.writePolicy };
}

/** A stored AI column's config back into a draft (for editing its settings). */
export function aiDraftOf(config: Record<string, unknown>): AiDraft {
  const output = (config.output ?? {}) as { type?: AiOutputType; choices?: string[]; fields?: Record<string, string> };
  return {
    prompt: typeof config.prompt === "string" ? config.prompt : "",
    model: typeof config.model === "string" ? config.model : (AI_MODELS[0] as string),
    outputType: output.type ?? "text",
    choices: (output.choices ?? []).join("\n"),
    fields: Object.entries(output.fields ?? {}).map(([name, columnId]) => ({ name, columnId })),
    autoRun: config.auto_run === true,
    writePolicy: config.write_policy === "overwrite" ? "overwrite" : "fill_empty",
  };
}
