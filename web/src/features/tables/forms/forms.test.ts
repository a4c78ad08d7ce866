import { beforeEach, describe, expect, it } from "vitest";

import { ApiError } from "@/lib/api";

import type { Column } from "../api/tables";
import { stateText } from "../grid/cell-state";
import { useRuns } from "../stores/runs";
import { aiConfig, aiDraftOf, emptyAiDraft, validateAi } from "./ai";
import { configErrors, errorAt, unplaced } from "./config-errors";
import {
  addProvider,
  autoMap,
  catalogFields,
  emptyDraft,
  fromConfig,
  inputKeys,
  moveProvider,
  outputChoices,
  providersFor,
  removeProvider,
  toConfig,
  validateDraft,
  type Provider,
} from "./enrichment";
import { insertAt, offsetOf, pointAt, promptRefs } from "./formula";
import { availableScopes, insufficientMessage, parseBudget, runRequest } from "./run";

function provider(slug: string, cost: number, inputs: Record<string, string[][]>): Provider {
  return { slug, name: slug[0]?.toUpperCase() + slug.slice(1), description: "", website: "", credit_cost: cost, supplies: Object.keys(inputs), required_inputs: inputs, operations: [], rate_limits: [], rate_limit_notes: "" };
}
const PERSON = [["domain", "first_name", "last_name"], ["linkedin_url"]];
const apollo = provider("apollo", 1, { email: PERSON, job_title: PERSON });
const hunter = provider("hunter", 1, { email: [["domain", "first_name", "last_name"], ["company_name", "full_name"]], email_status: [["email"]] });
const pricey = provider("pricey", 5, { email: [["email"]] });
const openai = provider("openai", 1, { ai_answer: [["prompt"]] });
const catalog = [pricey, hunter, apollo, openai];

function col(id: string, name: string, kind: Column["kind"] = "data"): Column {
  return { id, name, type: "text", kind, hidden: false, position: 0, options: {}, config: {}, table_id: "t", created_at: "", updated_at: "" };
}
const columns = [col("c1", "First name"), col("c2", "Last name"), col("c3", "Company domain"), col("c4", "Notes")];

describe("the waterfall builder", () => {
  it("offers a field's providers cheapest first, and no AI field among enrichment fields", () => {
    expect(providersFor("email", catalog).map((p) => p.slug)).toEqual(["apollo", "hunter", "pricey"]);
    expect(catalogFields(catalog)).toEqual(["email", "email_status", "job_title"]);
  });

  it("adds once, removes, and reorders within bounds", () => {
    let w = addProvider([], "apollo");
    w = addProvider(w, "hunter");
    expect(addProvider(w, "apollo")).toEqual(["apollo", "hunter"]);
    expect(moveProvider(w, 1, -1)).toEqual(["hunter", "apollo"]);
    expect(moveProvider(w, 0, -1)).toBe(w);
    expect(moveProvider(w, 1, 1)).toBe(w);
    expect(removeProvider(w, 0)).toEqual(["hunter"]);
  });

  it("lists the inputs the chosen providers read, most shared first", () => {
    const draft = { ...emptyDraft(), field: "email", waterfall: ["apollo", "hunter"] };
    const keys = inputKeys(draft, catalog);
    expect(keys.slice(0, 3).sort()).toEqual(["domain", "first_name", "last_name"]);
    expect(keys).toContain("linkedin_url");
    expect(keys).toContain("company_name");
  });

  it("maps inputs from column names without replacing what the user chose", () => {
    const draft = { ...emptyDraft(), field: "email", waterfall: ["apollo"], inputs: { first_name: "c4" } };
    const inputs = autoMap(draft, catalog, columns);
    expect(inputs).toMatchObject({ first_name: "c4", last_name: "c2", domain: "c3", linkedin_url: "" });
  });

  it("needs a field, a provider, and one provider's inputs for every field", () => {
    expect(validateDraft(emptyDraft(), catalog)).toMatchObject({ "config.field": expect.any(String), "config.waterfall": expect.any(String) });
    const unmapped = { ...emptyDraft(), field: "email", waterfall: ["apollo", "hunter"], inputs: { domain: "c3", first_name: "c1" } };
    expect(Object.keys(validateDraft(unmapped, catalog))).toEqual(["config.inputs"]);
    const mapped = { ...unmapped, inputs: { ...unmapped.inputs, last_name: "c2" } };
    expect(validateDraft(mapped, catalog)).toEqual({});
    // an output field none of the waterfall can be given inputs for
    const status = { ...mapped, outputs: [{ field: "email_status", name: "Status" }] };
    expect(Object.keys(validateDraft(status, catalog))).toEqual(["config.inputs"]);
  });

  it("refuses output columns without a name or with a taken one", () => {
    const draft = { ...emptyDraft(), field: "email", waterfall: ["apollo"], inputs: { linkedin_url: "c4" }, outputs: [{ field: "job_title", name: "Notes" }, { field: "job_title", name: " " }] };
    const errors = validateDraft(draft, catalog, columns.map((c) => c.name));
    expect(errors["outputs.0"]).toMatch(/already/);
    expect(errors["outputs.1"]).toMatch(/Name/);
  });

  it("offers as outputs what the waterfall supplies besides the column's field", () => {
    expect(outputChoices({ ...emptyDraft(), field: "email", waterfall: ["apollo", "hunter"] }, catalog)).toEqual(["email_status", "job_title"]);
  });

  it("builds the API's config: unmapped inputs dropped, only-if only with conditions", () => {
    const draft = { ...emptyDraft(), field: "email", waterfall: ["apollo", "hunter"], inputs: { domain: "c3", linkedin_url: "" }, onlyIf: { conjunction: "and" as const, conditions: [] } };
    expect(toConfig(draft, { job_title: "c9" })).toEqual({ field: "email", waterfall: ["apollo", "hunter"], inputs: { domain: "c3" }, outputs: { job_title: "c9" }, auto_run: false, write_policy: "fill_empty" });
    const onlyIf = { conjunction: "and" as const, conditions: [{ column_id: "c3", operator: "is_not_empty" as const, value: null }] };
    expect(toConfig({ ...draft, onlyIf }).only_if).toEqual(onlyIf);
  });
});

describe("the server's 422 next to the fields", () => {
  const error = new ApiError(422, "invalid_column_config", "The column's configuration is not valid.", [
    { field: "config.inputs.domain", message: "no such column in this table" },
    { field: "config.only_if.conditions.0.value", message: "not a number" },
    { field: "body.name", message: "too long" },
  ], "req-1");

  it("keys messages by path and finds them under a prefix", () => {
    const { byPath, code } = configErrors(error);
    expect(code).toBe("invalid_column_config");
    expect(byPath.name).toBe("too long");
    expect(errorAt(byPath, "config.inputs")).toBe("no such column in this table");
    expect(errorAt(byPath, "config.waterfall")).toBeUndefined();
    expect(unplaced(byPath, ["name", "config.inputs"])).toEqual(["config.only_if.conditions.0.value: not a number"]);
  });

  it("is empty for anything that is not an API error", () => {
    expect(configErrors(new Error("boom")).byPath).toEqual({});
    expect(configErrors(null).message).toBeNull();
  });
});

describe("formula and prompt editing", () => {
  it("inserts a reference over the selection and puts the caret after it", () => {
    expect(insertAt("LOWER()", 6, 6, "{First}")).toEqual({ text: "LOWER({First})", caret: 13 });
    expect(insertAt("a XX b", 2, 4, "{C}")).toEqual({ text: "a {C} b", caret: 5 });
    expect(insertAt("ab", 99, 99, "{C}").text).toBe("ab{C}");
  });

  it("turns a 422's line and column into an offset and points at it", () => {
    const text = 'IF({A} = "x",\n  1 +, 2)';
    const offset = offsetOf(text, 2, 6);
    expect(offset).toBe(text.indexOf(",", text.indexOf("\n")));
    expect(pointAt(text, offset)).toEqual({ line: "  1 +, 2)", marker: "     ^" });
    expect(offsetOf(text, undefined, 3)).toBeNull();
    expect(pointAt(text, null)).toBeNull();
  });

  it("reads a prompt's column references", () => {
    expect(promptRefs("Is {{ Company }} in {{Country}}? {{Company}}")).toEqual(["Company", "Country"]);
  });

  it("checks an AI column: prompt refs exist, choices, json fields", () => {
    const draft = { ...emptyAiDraft(), prompt: "Industry of {{Company}}?", outputType: "choice" as const, choices: "SaaS\n" };
    const errors = validateAi(draft, ["Company domain"]);
    expect(errors["config.prompt"]).toMatch(/Company/);
    expect(errors["config.output.choices"]).toBeDefined();
    const ok = { ...draft, choices: "SaaS\nRetail\nSaaS", prompt: "Industry of {{company domain}}?" };
    expect(validateAi(ok, ["Company domain"])).toEqual({});
    expect(aiConfig(ok)).toMatchObject({ output: { type: "choice", choices: ["SaaS", "Retail"] }, model: "gpt-4o-mini" });
    const json = { ...emptyAiDraft(), prompt: "x", outputType: "json" as const, fields: [{ name: "size", columnId: "" }] };
    expect(validateAi(json, [])["config.output.fields.0"]).toBeDefined();
  });
});

describe("what a run covers", () => {
  const filter = { conjunction: "and" as const, conditions: [{ column_id: "c3", operator: "is_not_empty" as const, value: null }] };

  it("offers the selection and the filter only when there are some", () => {
    expect(availableScopes({ selectedIds: [], filter: null })).toEqual(["all", "empty"]);
    expect(availableScopes({ selectedIds: [3], filter })).toEqual(["all", "empty", "selected", "filter"]);
  });

  it("builds the runs API's body per scope", () => {
    const ctx = { selectedIds: [4, 5], filter };
    expect(runRequest(["k"], "all", ctx, null)).toEqual({ column_ids: ["k"], only_empty: false });
    expect(runRequest(["k"], "empty", ctx, 50)).toEqual({ column_ids: ["k"], only_empty: true, budget: 50 });
    expect(runRequest(["k"], "selected", ctx, null)).toEqual({ column_ids: ["k"], only_empty: false, row_ids: [4, 5] });
    expect(runRequest(["k"], "filter", ctx, null)).toEqual({ column_ids: ["k"], only_empty: false, filter });
  });

  it("parses a budget", () => {
    expect(parseBudget("")).toEqual({ budget: null, error: null });
    expect(parseBudget(" 120 ")).toEqual({ budget: 120, error: null });
    expect(parseBudget("1.5").error).not.toBeNull();
    expect(parseBudget("0").error).not.toBeNull();
  });

  it("says what a refused run needs and what the workspace has", () => {
    expect(insufficientMessage({ estimated: 400, available: 12 })).toMatch(/400 credits.*12 available/);
  });
});

describe("the runs store", () => {
  beforeEach(() => useRuns.setState({ runs: [] }));

  it("keeps the newest first, once per job, and forgets dismissed ones", () => {
    const { add, dismiss } = useRuns.getState();
    add([{ jobId: "a", tableId: "t", columnName: "Email", rows: 10 }]);
    add([{ jobId: "b", tableId: "t", columnName: "Title", rows: 5 }, { jobId: "a", tableId: "t", columnName: "Email", rows: 10 }]);
    expect(useRuns.getState().runs.map((r) => r.jobId)).toEqual(["b", "a"]);
    dismiss("b");
    expect(useRuns.getState().runs.map((r) => r.jobId)).toEqual(["a"]);
  });
});

describe("a computed cell's state, as the tooltip and screen readers say it", () => {
  it("names the state, who found it, and why it failed", () => {
    expect(stateText({ state: "done", provider: "apollo", cached: true })).toBe("Found by apollo (cached)");
    expect(stateText({ state: "error", reason: "no provider could answer" })).toBe("Error: no provider could answer");
    expect(stateText({ state: "skipped", reason: "budget" })).toBe("Skipped (budget reached): budget");
    expect(stateText({ state: "something_new" })).toBe("something_new");
  });
});

describe("a computed column's settings, edited", () => {
  it("reads a stored config back into the form and writes the same config again", () => {
    const enrichment = {
      field: "email",
      waterfall: ["apollo", "hunter"],
      inputs: { first_name: "c1", domain: "c2" },
      outputs: { job_title: "c9" },
      auto_run: true,
      write_policy: "overwrite",
      only_if: { conjunction: "and", conditions: [{ column_id: "c3", operator: "is_not_empty" }] },
    };
    const columns = [{ id: "c9", name: "Title" }] as Column[];
    const draft = fromConfig(enrichment, columns);
    expect(draft.outputs).toEqual([{ field: "job_title", name: "Title" }]);
    expect(toConfig(draft, { job_title: "c9" })).toEqual(enrichment);

    const ai = { prompt: "Is {{Company}} B2B?", model: "gpt-4o", output: { type: "choice", choices: ["yes", "no"] }, auto_run: false, write_policy: "fill_empty" };
    expect(aiConfig(aiDraftOf(ai))).toEqual(ai);
    const json = { ...ai, output: { type: "json", fields: { score: "c4" } } };
    expect(aiConfig(aiDraftOf(json))).toEqual(json);
    // The server's own keys (parts, refs) are not sent back: it recomputes them from the prompt.
    expect(aiConfig(aiDraftOf({ ...ai, parts: ["x"], refs: ["c1"] }))).toEqual(ai);
  });
});
