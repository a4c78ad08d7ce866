/**
 * The CRM export form's rules, no React (tested by mapping.test.ts): the objects each CRM takes
 * and their upsert keys (the API's list, docs/crm.md), the properties we suggest, the automatic
 * mapping of a table's columns by name and type, the checks made before sending, and the API's
 * 422 details keyed by the same paths (`mapping.2.property`, `key_property`...).
 */
import { isApiError } from "@/lib/api";

export type Crm = "hubspot" | "salesforce";

export interface CrmProperty {
  name: string;
  label: string;
  /** normalized column names that mean this property ("firstname", "givenname"...) */
  aliases: string[];
  /** column types that mean this property when the name says nothing (an email column -> email) */
  types?: string[];
}

export interface CrmObject {
  name: string;
  label: string;
  key: string;
  properties: CrmProperty[];
}

export const CRM_LABEL: Record<Crm, string> = { hubspot: "HubSpot", salesforce: "Salesforce" };

const EMAIL = ["email", "emailaddress", "workemail", "businessemail", "mail"];
const FIRST = ["firstname", "first", "givenname", "forename"];
const LAST = ["lastname", "last", "surname", "familyname"];
const TITLE = ["title", "jobtitle", "position", "role"];
const COMPANY = ["company", "companyname", "organization", "organisation", "employer", "account", "accountname"];
const DOMAIN = ["domain", "companydomain", "websitedomain", "emaildomain"];
const WEBSITE = ["website", "url", "companyurl", "companywebsite", "homepage", "site"];
const PHONE = ["phone", "phonenumber", "telephone", "mobile", "mobilephone"];
const CITY = ["city", "town", "location"];
const COUNTRY = ["country", "countrycode"];
const INDUSTRY = ["industry", "sector"];
const EMPLOYEES = ["employees", "employeecount", "numberofemployees", "headcount", "companysize", "size"];
const LINKEDIN = ["linkedin", "linkedinurl", "linkedinprofile", "linkedinprofileurl"];

const p = (name: string, label: string, aliases: string[], types?: string[]): CrmProperty => ({ name, label, aliases, ...(types ? { types } : {}) });

export const CRM_OBJECTS: Record<Crm, CrmObject[]> = {
  hubspot: [
    {
      name: "contacts",
      label: "Contacts",
      key: "email",
      properties: [
        p("email", "Email", EMAIL, ["email"]),
        p("firstname", "First name", FIRST),
        p("lastname", "Last name", LAST),
        p("jobtitle", "Job title", TITLE),
        p("company", "Company name", COMPANY),
        p("website", "Website", [...WEBSITE, ...DOMAIN], ["url"]),
        p("phone", "Phone", PHONE, ["phone"]),
        p("city", "City", CITY),
        p("country", "Country", COUNTRY),
        p("hs_linkedin_url", "LinkedIn URL", LINKEDIN),
      ],
    },
    {
      name: "companies",
      label: "Companies",
      key: "domain",
      properties: [
        p("domain", "Domain", [...DOMAIN, ...WEBSITE], ["url"]),
        p("name", "Name", [...COMPANY, "name"]),
        p("industry", "Industry", INDUSTRY),
        p("numberofemployees", "Employees", EMPLOYEES),
        p("phone", "Phone", PHONE, ["phone"]),
        p("city", "City", CITY),
        p("country", "Country", COUNTRY),
        p("linkedin_company_page", "LinkedIn page", LINKEDIN),
      ],
    },
  ],
  salesforce: [
    {
      name: "Lead",
      label: "Leads",
      key: "Email",
      properties: [
        p("Email", "Email", EMAIL, ["email"]),
        p("FirstName", "First name", FIRST),
        p("LastName", "Last name", LAST),
        p("Title", "Title", TITLE),
        p("Company", "Company", COMPANY),
        p("Website", "Website", [...WEBSITE, ...DOMAIN], ["url"]),
        p("Phone", "Phone", PHONE, ["phone"]),
        p("City", "City", CITY),
        p("Country", "Country", COUNTRY),
        p("Industry", "Industry", INDUSTRY),
        p("NumberOfEmployees", "Employees", EMPLOYEES),
      ],
    },
    {
      name: "Contact",
      label: "Contacts",
      key: "Email",
      properties: [
        p("Email", "Email", EMAIL, ["email"]),
        p("FirstName", "First name", FIRST),
        p("LastName", "Last name", LAST),
        p("Title", "Title", TITLE),
        p("Phone", "Phone", PHONE, ["phone"]),
        p("MailingCity", "Mailing city", CITY),
        p("MailingCountry", "Mailing country", COUNTRY),
      ],
    },
    {
      name: "Account",
      label: "Accounts",
      key: "Website",
      properties: [
        p("Website", "Website", [...WEBSITE, ...DOMAIN], ["url"]),
        p("Name", "Account name", [...COMPANY, "name"]),
        p("Industry", "Industry", INDUSTRY),
        p("NumberOfEmployees", "Employees", EMPLOYEES),
        p("Phone", "Phone", PHONE, ["phone"]),
        p("BillingCity", "Billing city", CITY),
        p("BillingCountry", "Billing country", COUNTRY),
      ],
    },
  ],
};

export function objectOf(crm: Crm, objectType: string): CrmObject | undefined {
  return CRM_OBJECTS[crm].find((o) => o.name === objectType);
}

/** "First Name", "first_name", "First-name" -> "firstname". */
export function normalizeName(name: string): string {
  return name.toLowerCase().replace(/[^a-z0-9]/g, "");
}

export interface ColumnLike {
  id: string;
  name: string;
  type: string;
}

export interface MappingRow {
  columnId: string;
  property: string;
}

/** The columns an export writes back ("HubSpot contacts id/status/error"): never pushed themselves. */
export function isResultColumn(name: string): boolean {
  return /^(hubspot|salesforce) \S+ (id|status|error)$/i.test(name.trim());
}

/**
 * Columns mapped to the object's properties: by name first (a column named like a property or
 * one of its aliases), then by type for what is still unmapped (an email column -> the email
 * property). Each column and each property at most once; the key property first, the rest in
 * the table's column order. Result columns of earlier exports are left out.
 */
export function autoMap(object: CrmObject, columns: ColumnLike[]): MappingRow[] {
  const usable = columns.filter((c) => !isResultColumn(c.name));
  const taken = new Set<string>();
  const byProperty = new Map<string, string>();
  for (const prop of object.properties) {
    const names = new Set([normalizeName(prop.name), normalizeName(prop.label), ...prop.aliases]);
    const column = usable.find((c) => !taken.has(c.id) && names.has(normalizeName(c.name)));
    if (column) {
      byProperty.set(prop.name, column.id);
      taken.add(column.id);
    }
  }
  for (const prop of object.properties) {
    if (byProperty.has(prop.name) || !prop.types) continue;
    const column = usable.find((c) => !taken.has(c.id) && prop.types?.includes(c.type));
    if (column) {
      byProperty.set(prop.name, column.id);
      taken.add(column.id);
    }
  }
  const order = new Map(usable.map((c, i) => [c.id, i]));
  return [...byProperty.entries()]
    .map(([property, columnId]) => ({ property, columnId }))
    .sort((a, b) => {
      if (a.property === object.key) return -1;
      if (b.property === object.key) return 1;
      return (order.get(a.columnId) ?? 0) - (order.get(b.columnId) ?? 0);
    });
}

// The API's rule for CRM property names (crm/schemas.py PROPERTY_RE).
const PROPERTY_RE = /^[A-Za-z][A-Za-z0-9_]{0,99}$/;

export interface ExportDraft {
  connectionId: string;
  tableId: string;
  objectType: string;
  keyProperty: string;
  mapping: MappingRow[];
}

/** Problems the form can see before sending, keyed by the paths the API's 422 uses. */
export function validateDraft(draft: ExportDraft, crm: Crm | undefined, columns: ColumnLike[]): Record<string, string> {
  const problems: Record<string, string> = {};
  if (!draft.connectionId || !crm) problems.connection_id = "Pick a CRM connection.";
  if (!draft.tableId) problems.table_id = "Pick a table.";
  const object = crm ? objectOf(crm, draft.objectType) : undefined;
  if (crm && !object) problems.object_type = "Pick the kind of record to create or update.";
  const columnIds = new Set(columns.map((c) => c.id));
  const seen = new Map<string, number>();
  draft.mapping.forEach((row, index) => {
    if (!row.columnId || !columnIds.has(row.columnId)) problems[`mapping.${index}.column_id`] = "Pick a column.";
    const property = row.property.trim();
    if (!property) problems[`mapping.${index}.property`] = "Name the CRM property.";
    else if (!PROPERTY_RE.test(property)) problems[`mapping.${index}.property`] = "Letters, digits and _ only, starting with a letter.";
    else if (seen.has(property.toLowerCase())) problems[`mapping.${index}.property`] = "Mapped twice.";
    else seen.set(property.toLowerCase(), index);
  });
  if (draft.mapping.length === 0) problems.mapping = "Map at least one column.";
  const key = draft.keyProperty.trim();
  if (key && !seen.has(key.toLowerCase())) problems.key_property = `No column is mapped to the key “${key}”.`;
  if (!key) problems.key_property = "Pick the property records are matched on.";
  return problems;
}

/** The request body of POST /crm/exports. */
export function exportBody(draft: ExportDraft) {
  return {
    table_id: draft.tableId,
    connection_id: draft.connectionId,
    object_type: draft.objectType,
    key_property: draft.keyProperty.trim(),
    mapping: draft.mapping.map((row) => ({ column_id: row.columnId, property: row.property.trim() })),
  };
}

export interface FormErrors {
  byPath: Record<string, string>;
  /** the envelope's message, or problems no field shows, for the top of the form */
  general: string[];
}

/** An API error as messages per request path (`body.` dropped); paths no field shows go to `general`. */
export function formErrors(error: unknown, shownPaths: (path: string) => boolean): FormErrors {
  if (!isApiError(error)) return { byPath: {}, general: [] };
  const byPath: Record<string, string> = {};
  const general: string[] = [];
  if (Array.isArray(error.details)) {
    for (const item of error.details as unknown[]) {
      if (!item || typeof item !== "object" || !("field" in item) || !("message" in item)) continue;
      const field = String((item as { field: unknown }).field).replace(/^body\./, "");
      const message = String((item as { message: unknown }).message);
      if (shownPaths(field) && !(field in byPath)) byPath[field] = message;
      else general.push(`${field}: ${message}`);
    }
  }
  return { byPath, general: [error.message, ...general] };
}

export type RunStatus = "queued" | "running" | "completed" | "cancelled" | "failed";

export function isActive(status: RunStatus | undefined | null): boolean {
  return status === "queued" || status === "running";
}

/** Share of the run's rows settled (pushed, failed or skipped), 0..1. */
export function runProgress(run: { row_count: number; pushed_count: number; failed_count: number; skipped_count: number }): number {
  if (run.row_count <= 0) return 1;
  return Math.min(1, (run.pushed_count + run.failed_count + run.skipped_count) / run.row_count);
}
