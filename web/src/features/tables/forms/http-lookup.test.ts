import { describe, expect, it } from "vitest";

import { ApiError } from "@/lib/api";

import type { Column } from "../api/tables";
import { configErrors, unplaced } from "./config-errors";
import { emptyHttpDraft, httpConfig, httpDraftOf, placeHttpErrors, templateRefs, validateHttp, type HttpDraft } from "./http";
import { emptyLookupDraft, guessMatch, lookupColumnType, lookupConfig, lookupDraftOf, matchableColumns, pickTable, validateLookup } from "./lookup";

function col(id: string, name: string, kind: Column["kind"] = "data", type: Column["type"] = "text"): Column {
  return { id, name, type, kind, hidden: false, position: 0, options: {}, config: {}, table_id: "t", created_at: "", updated_at: "" };
}
const names = ["Domain", "Company", "First name"];

function draft(over: Partial<HttpDraft> = {}): HttpDraft {
  return { ...emptyHttpDraft(), url: "https://api.example.com/companies/{{Domain}}", ...over };
}

describe("the HTTP column form", () => {
  it("accepts a plain GET and sends the config the API takes", () => {
    const d = draft({ extract: "$.data.employees", type: "number" });
    expect(validateHttp(d, names)).toEqual({});
    expect(httpConfig(d)).toEqual({
      method: "GET",
      url: "https://api.example.com/companies/{{Domain}}",
      headers: {},
      body: null,
      extract: "$.data.employees",
      rate_limit_per_second: 5,
      timeout_s: 10,
      auto_run: false,
      write_policy: "fill_empty",
    });
  });

  it("refuses what the server would, under the server's paths", () => {
    expect(validateHttp(draft({ url: "" }), names)).toHaveProperty("config.url");
    expect(validateHttp(draft({ url: "ftp://x/{{Domain}}" }), names)["config.url"]).toMatch(/http/);
    expect(validateHttp(draft({ url: "https://x/{{Nope}}" }), names)["config.url"]).toBe("No column named “Nope”.");
    // references are matched without regard to case or spaces, as the server does
    expect(validateHttp(draft({ url: "https://x/{{ domain }}" }), names)).toEqual({});
    expect(validateHttp(draft({ body: '{"a": 1}' }), names)["config.body"]).toMatch(/GET request has no body/);
    expect(validateHttp(draft({ method: "POST", body: "{nope" }), names)["config.body"]).toMatch(/not valid JSON/);
    expect(validateHttp(draft({ method: "POST", body: '{"d": "{{Dom}}"}' }), names)["config.body"]).toMatch(/Dom/);
    expect(validateHttp(draft({ extract: "data.x" }), names)).toHaveProperty("config.extract");
    expect(validateHttp(draft({ rateLimit: "51" }), names)).toHaveProperty("config.rate_limit_per_second");
    expect(validateHttp(draft({ timeout: "0.1" }), names)).toHaveProperty("config.timeout_s");
    expect(validateHttp(draft({ auth: { kind: "bearer", secret: "", header: "" } }), names)).toHaveProperty("auth");
    const twice = draft({ headers: [{ name: "Accept", value: "a" }, { name: "accept", value: "b" }, { name: "Bad name", value: "" }] });
    expect(validateHttp(twice, names)).toMatchObject({ "headers.1": "This header is set twice.", "headers.2": expect.stringMatching(/no spaces/) });
    expect(templateRefs("{{secret:key}} {{ Domain }}")).toEqual(["Domain"]);
  });

  it("writes the auth choice as a vault reference in a header, and reads it back", () => {
    const bearer = draft({ method: "POST", body: '{"domain": "{{Domain}}"}', headers: [{ name: "Accept", value: "application/json" }], auth: { kind: "bearer", secret: "clearbit", header: "X-Api-Key" } });
    const config = httpConfig(bearer);
    expect(config.headers).toEqual({ Authorization: "Bearer {{secret:clearbit}}", Accept: "application/json" });
    expect(config.body).toEqual({ domain: "{{Domain}}" });
    const back = httpDraftOf({ ...config, refs: { Domain: "c1" } }, "number");
    expect(back.auth).toEqual({ kind: "bearer", secret: "clearbit", header: "X-Api-Key" });
    expect(back.headers).toEqual([{ name: "Accept", value: "application/json" }]);
    expect(httpConfig(back)).toEqual(config); // the form saves back what it read

    const keyed = httpConfig(draft({ auth: { kind: "header", secret: "k", header: "X-Api-Key" } }));
    expect(keyed.headers).toEqual({ "X-Api-Key": "{{secret:k}}" });
    expect(httpDraftOf(keyed, "text").auth).toEqual({ kind: "header", secret: "k", header: "X-Api-Key" });
    // A header the choices cannot express stays a header, verbatim.
    const odd = httpDraftOf({ url: "https://x", headers: { Authorization: "Token {{secret:k}}" } }, "text");
    expect(odd.auth.kind).toBe("none");
    expect(httpConfig(odd).headers).toEqual({ Authorization: "Token {{secret:k}}" });
  });

  it("puts the server's header problems on the auth field or the header row", () => {
    const d = draft({ headers: [{ name: "X-Trace", value: "{{Domain}}\n" }], auth: { kind: "bearer", secret: "gone", header: "" } });
    const error = new ApiError(422, "invalid_column_config", "The column's settings are not valid.", [
      { field: "config.headers.Authorization", message: "no 'http' credential named 'gone' in the vault" },
      { field: "config.headers.X-Trace", message: "a header value is one line of text" },
      { field: "config", message: "{{Nope}}: no such column in this table" },
    ], "req");
    const placed = placeHttpErrors(d, configErrors(error).byPath);
    expect(placed).toMatchObject({ auth: expect.stringMatching(/gone/), "headers.0": expect.stringMatching(/one line/) });
    // a problem no field shows is listed, not dropped
    expect(unplaced(placed, ["config.url", "auth", "headers"])).toEqual(["config: {{Nope}}: no such column in this table"]);
  });
});

describe("the lookup column form", () => {
  const mine = [col("m1", "Email"), col("m2", "Domain"), col("m3", "Score", "formula")];
  const theirs = [col("t1", "Name"), col("t2", "domain"), col("t3", "Employees", "data", "number")];

  it("needs the table, both keys and the returned column", () => {
    expect(Object.keys(validateLookup(emptyLookupDraft())).sort()).toEqual(["config.match.column_id", "config.table_id"]);
    const picked = { ...emptyLookupDraft(), tableId: "other" };
    expect(Object.keys(validateLookup(picked)).sort()).toEqual(["config.match.column_id", "config.match.target_column_id", "config.return_column_id"]);
    const full = { ...picked, matchColumnId: "m2", targetColumnId: "t2", returnColumnId: "t3" };
    expect(validateLookup(full)).toEqual({});
    expect(validateLookup({ ...full, mode: "list", limit: "101" })).toHaveProperty("config.limit");
  });

  it("never matches on a formula or another lookup", () => {
    expect(matchableColumns(mine).map((c) => c.id)).toEqual(["m1", "m2"]);
  });

  it("guesses the key by name once the other table's columns arrive, and keeps a choice", () => {
    const picked = pickTable({ ...emptyLookupDraft(), returnColumnId: "x", targetColumnId: "y" }, "other");
    expect(picked).toMatchObject({ tableId: "other", targetColumnId: "", returnColumnId: "" });
    expect(guessMatch(picked, mine, theirs)).toMatchObject({ matchColumnId: "m2", targetColumnId: "t2" });
    const chosen = { ...picked, matchColumnId: "m1" };
    expect(guessMatch(chosen, mine, theirs)).toBe(chosen); // no "Email" there: nothing guessed
    const done = { ...picked, matchColumnId: "m2", targetColumnId: "t1" };
    expect(guessMatch(done, mine, theirs)).toBe(done);
  });

  it("types the column after what comes back, and round-trips the config", () => {
    const d = { ...emptyLookupDraft(), tableId: "other", matchColumnId: "m2", targetColumnId: "t2", returnColumnId: "t3" };
    expect(lookupColumnType(d, theirs)).toBe("number");
    expect(lookupColumnType({ ...d, mode: "list" }, theirs)).toBe("json");
    const config = lookupConfig(d);
    expect(config).toEqual({ table_id: "other", match: { column_id: "m2", target_column_id: "t2" }, return_column_id: "t3", mode: "first" });
    expect(lookupDraftOf(config)).toEqual(d);
    const list = lookupConfig({ ...d, mode: "list", limit: "5", onlyIf: { conjunction: "and", conditions: [{ column_id: "m1", operator: "is_not_empty" }] } });
    expect(list).toMatchObject({ mode: "list", limit: 5, only_if: { conjunction: "and" } });
    expect(lookupConfig(lookupDraftOf(list))).toEqual(list);
  });
});
