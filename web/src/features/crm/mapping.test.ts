import { describe, expect, it } from "vitest";

import { ApiError } from "@/lib/api";

import { autoMap, exportBody, formErrors, isResultColumn, normalizeName, objectOf, runProgress, validateDraft, type ColumnLike, type ExportDraft } from "./mapping";

const col = (id: string, name: string, type = "text"): ColumnLike => ({ id, name, type });

const contacts = objectOf("hubspot", "contacts")!;
const companies = objectOf("hubspot", "companies")!;
const lead = objectOf("salesforce", "Lead")!;
const account = objectOf("salesforce", "Account")!;

describe("autoMap", () => {
  it("maps people columns to HubSpot contact properties by name, the key first", () => {
    const columns = [col("c1", "First Name"), col("c2", "last_name"), col("c3", "Job title"), col("c4", "Company"), col("c5", "Email", "email")];
    expect(autoMap(contacts, columns)).toEqual([
      { property: "email", columnId: "c5" },
      { property: "firstname", columnId: "c1" },
      { property: "lastname", columnId: "c2" },
      { property: "jobtitle", columnId: "c3" },
      { property: "company", columnId: "c4" },
    ]);
  });

  it("maps an email-typed column to the key when no column is named like it", () => {
    const columns = [col("a", "Name"), col("b", "Work address", "email"), col("c", "Notes", "email")];
    const mapped = autoMap(contacts, columns);
    expect(mapped[0]).toEqual({ property: "email", columnId: "b" });
    expect(mapped.filter((m) => m.property === "email")).toHaveLength(1);
  });

  it("prefers a column named like the property over one of the right type", () => {
    const columns = [col("typed", "Personal", "email"), col("named", "Work email", "text")];
    expect(autoMap(contacts, columns)[0]).toEqual({ property: "email", columnId: "named" });
  });

  it("maps domain and company name for HubSpot companies, a url column to the domain", () => {
    expect(autoMap(companies, [col("n", "Company name"), col("d", "Domain", "url"), col("i", "Industry")])).toEqual([
      { property: "domain", columnId: "d" },
      { property: "name", columnId: "n" },
      { property: "industry", columnId: "i" },
    ]);
    expect(autoMap(companies, [col("n", "Account"), col("u", "Homepage link", "url")])[0]).toEqual({ property: "domain", columnId: "u" });
  });

  it("uses Salesforce API names (Lead: Email key, FirstName, Title, Company; Account: Website key)", () => {
    const columns = [col("e", "E-mail", "email"), col("f", "Given name"), col("l", "Surname"), col("t", "Title"), col("co", "Organization"), col("w", "Website", "url")];
    expect(autoMap(lead, columns).map((m) => m.property)).toEqual(["Email", "FirstName", "LastName", "Title", "Company", "Website"]);
    expect(autoMap(account, columns).map((m) => [m.property, m.columnId])).toEqual([
      ["Website", "w"],
      ["Name", "co"],
    ]);
  });

  it("never maps a column twice nor an earlier export's result columns", () => {
    const columns = [col("r1", "HubSpot contacts id"), col("r2", "HubSpot contacts status"), col("w", "Website", "url")];
    const mapped = autoMap(contacts, columns);
    expect(mapped).toEqual([{ property: "website", columnId: "w" }]);
    expect(new Set(mapped.map((m) => m.columnId)).size).toBe(mapped.length);
  });

  it("maps nothing when nothing matches", () => {
    expect(autoMap(contacts, [col("x", "Score", "number"), col("y", "Notes")])).toEqual([]);
  });
});

describe("names", () => {
  it("normalizes case, spaces and punctuation", () => {
    expect(normalizeName("First-Name ")).toBe("firstname");
    expect(normalizeName("job_title")).toBe("jobtitle");
  });
  it("knows result columns", () => {
    expect(isResultColumn("Salesforce Lead error")).toBe(true);
    expect(isResultColumn("HubSpot contacts id")).toBe(true);
    expect(isResultColumn("Email status")).toBe(false);
  });
});

describe("validateDraft", () => {
  const columns = [col("c1", "Email", "email"), col("c2", "First name")];
  const draft = (over: Partial<ExportDraft> = {}): ExportDraft => ({
    connectionId: "conn",
    tableId: "t",
    objectType: "contacts",
    keyProperty: "email",
    mapping: [
      { columnId: "c1", property: "email" },
      { columnId: "c2", property: "firstname" },
    ],
    ...over,
  });

  it("accepts a complete draft", () => {
    expect(validateDraft(draft(), "hubspot", columns)).toEqual({});
  });

  it("names each problem by the path the API uses", () => {
    const problems = validateDraft(
      draft({
        keyProperty: "email",
        mapping: [
          { columnId: "", property: "firstname" },
          { columnId: "c2", property: "FirstName" },
          { columnId: "c1", property: "1bad" },
        ],
      }),
      "hubspot",
      columns,
    );
    expect(problems).toEqual({
      "mapping.0.column_id": "Pick a column.",
      "mapping.1.property": "Mapped twice.",
      "mapping.2.property": "Letters, digits and _ only, starting with a letter.",
      key_property: "No column is mapped to the key “email”.",
    });
  });

  it("wants a connection, a known object and at least one mapping", () => {
    const problems = validateDraft(draft({ connectionId: "", mapping: [] }), undefined, columns);
    expect(Object.keys(problems).sort()).toEqual(["connection_id", "key_property", "mapping"]);
    expect(validateDraft(draft({ objectType: "deals" }), "hubspot", columns).object_type).toBeDefined();
  });

  it("matches the key case-insensitively, as the API does", () => {
    expect(validateDraft(draft({ keyProperty: "EMAIL" }), "hubspot", columns)).toEqual({});
  });
});

describe("exportBody and server errors", () => {
  it("trims property names", () => {
    const body = exportBody({ connectionId: "k", tableId: "t", objectType: "Lead", keyProperty: " Email ", mapping: [{ columnId: "c", property: " Email " }] });
    expect(body).toEqual({ table_id: "t", connection_id: "k", object_type: "Lead", key_property: "Email", mapping: [{ column_id: "c", property: "Email" }] });
  });

  it("puts 422 details next to the fields that show them and lists the rest", () => {
    const error = new ApiError(
      422,
      "invalid_mapping",
      "The export's mapping is not valid.",
      [
        { field: "mapping.1.column_id", message: "no such column in the table" },
        { field: "body.key_property", message: "no column is mapped to the upsert key 'email'" },
        { field: "body.mapping.0.extra", message: "Extra inputs are not permitted" },
      ],
      "req-1",
    );
    const shown = new Set(["mapping.1.column_id", "key_property"]);
    const out = formErrors(error, (path) => shown.has(path));
    expect(out.byPath).toEqual({ "mapping.1.column_id": "no such column in the table", key_property: "no column is mapped to the upsert key 'email'" });
    expect(out.general).toEqual(["The export's mapping is not valid.", "mapping.0.extra: Extra inputs are not permitted"]);
  });

  it("shows a 409's message at the top", () => {
    const error = new ApiError(409, "result_column_conflict", "The table has a column 'HubSpot contacts id' that is not text; rename it to export.", null, null);
    expect(formErrors(error, () => true)).toEqual({ byPath: {}, general: [error.message] });
    expect(formErrors(new Error("x"), () => true)).toEqual({ byPath: {}, general: [] });
  });
});

describe("runProgress", () => {
  it("counts pushed, failed and skipped rows of the run", () => {
    expect(runProgress({ row_count: 10, pushed_count: 3, failed_count: 1, skipped_count: 1 })).toBe(0.5);
    expect(runProgress({ row_count: 0, pushed_count: 0, failed_count: 0, skipped_count: 0 })).toBe(1);
  });
});
