import { describe, expect, it } from "vitest";

import type { Column } from "../api/tables";
import { useEditHistory } from "../stores/edit-history";
import { pasteTargets, rangeOf } from "./range";
import { parseTsv, toFilterTree, toTsv, toView } from "./view";

function col(id: string, type: Column["type"]): Column {
  return { id, type, name: id, kind: "data", hidden: false, position: 0, options: {}, config: {}, table_id: "t", created_at: "", updated_at: "" };
}
const columns = [col("name", "text"), col("n", "number"), col("d", "date"), col("t", "datetime"), col("ok", "checkbox")];

describe("the grid's filter model as the rows API's filter tree", () => {
  it("maps one condition per column and ANDs the columns", () => {
    const tree = toFilterTree(
      {
        name: { filterType: "text", type: "contains", filter: "acme" },
        n: { filterType: "number", type: "greaterThanOrEqual", filter: 10 },
      },
      columns,
    );
    expect(tree).toEqual({
      conjunction: "and",
      conditions: [
        { column_id: "name", operator: "contains", value: "acme" },
        { column_id: "n", operator: "gte", value: 10 },
      ],
    });
  });

  it("keeps a column's two conditions joined the way the user chose", () => {
    const tree = toFilterTree({ name: { filterType: "text", operator: "OR", conditions: [{ type: "startsWith", filter: "a" }, { type: "blank" }] } }, columns);
    expect(tree.conditions).toEqual([
      {
        conjunction: "or",
        conditions: [
          { column_id: "name", operator: "starts_with", value: "a" },
          { column_id: "name", operator: "is_empty", value: null },
        ],
      },
    ]);
  });

  it("maps ranges, dates, datetimes and checkboxes", () => {
    const tree = toFilterTree(
      {
        n: { filterType: "number", type: "inRange", filter: 1, filterTo: 5 },
        d: { filterType: "date", type: "lessThan", dateFrom: "2024-03-01 00:00:00" },
        t: { filterType: "date", type: "greaterThan", dateFrom: "2024-03-01 10:30:00" },
        ok: { filterType: "text", type: "isFalse" },
      },
      columns,
    );
    expect(tree.conditions).toEqual([
      { column_id: "n", operator: "between", value: [1, 5] },
      { column_id: "d", operator: "lt", value: "2024-03-01" },
      { column_id: "t", operator: "gt", value: "2024-03-01T10:30:00" },
      { column_id: "ok", operator: "eq", value: false },
    ]);
  });

  it("drops incomplete conditions and unknown columns instead of sending a bad filter", () => {
    const tree = toFilterTree(
      { name: { type: "contains", filter: "" }, n: { type: "inRange", filter: 3 }, gone: { type: "contains", filter: "x" } },
      columns,
    );
    expect(tree.conditions).toEqual([]);
    expect(toView({}, [], "  ", columns)).toEqual({ filter: null, sort: [], q: null });
  });

  it("turns the sort model into at most five keys, in order", () => {
    const sort = ["a", "b", "c", "d", "e", "f"].map((colId) => ({ colId, sort: "desc" as const }));
    expect(toView({}, sort, "x", columns).sort).toHaveLength(5);
    expect(toView({}, [{ colId: "n", sort: "asc" }], "", columns).sort).toEqual([{ column_id: "n", direction: "asc" }]);
  });
});

describe("TSV from and to Excel and Sheets", () => {
  it("reads tabs, CRLF lines and quoted cells with tabs, newlines and quotes", () => {
    expect(parseTsv('a\tb\r\n"x\ty"\t"line1\nline2"\r\n"say ""hi"""\t')).toEqual([
      ["a", "b"],
      ["x\ty", "line1\nline2"],
      ['say "hi"', ""],
    ]);
  });

  it("round-trips", () => {
    const cells = [
      ["plain", 'quo"te'],
      ["tab\there", "new\nline"],
    ];
    expect(parseTsv(toTsv(cells))).toEqual(cells);
  });
});

describe("the cell range", () => {
  it("spans anchor and focus in any direction", () => {
    expect(rangeOf({ row: 5, col: 3 }, { row: 2, col: 1 })).toEqual({ top: 2, bottom: 5, left: 1, right: 3 });
  });

  it("pastes a block from the top-left, and fills the range with a single value", () => {
    const range = { top: 1, bottom: 2, left: 0, right: 1 };
    expect(pasteTargets(range, [["a", "b", "c"]])).toEqual([
      { row: 1, col: 0, text: "a" },
      { row: 1, col: 1, text: "b" },
      { row: 1, col: 2, text: "c" },
    ]);
    expect(pasteTargets(range, [["x"]])).toHaveLength(4);
  });
});

describe("undo and redo of the user's own edits", () => {
  it("undoes an action as a whole and redoes it; a new edit clears redo", () => {
    const h = useEditHistory.getState();
    h.reset("t1");
    h.record("t1", [
      { rowId: 1, columnId: "c", before: "a", after: "b" },
      { rowId: 2, columnId: "c", before: null, after: "b" },
    ]);
    const undo = useEditHistory.getState().takeUndo();
    expect(undo).toEqual([
      { rowId: 1, columnId: "c", before: "b", after: "a" },
      { rowId: 2, columnId: "c", before: "b", after: null },
    ]);
    expect(useEditHistory.getState().takeUndo()).toBeNull();
    expect(useEditHistory.getState().takeRedo()?.[0]?.after).toBe("b");
    useEditHistory.getState().takeUndo();
    useEditHistory.getState().record("t1", [{ rowId: 3, columnId: "c", before: 1, after: 2 }]);
    expect(useEditHistory.getState().redo).toEqual([]);
  });

  it("starts over in another table", () => {
    useEditHistory.getState().record("t1", [{ rowId: 1, columnId: "c", before: 1, after: 2 }]);
    useEditHistory.getState().record("t2", [{ rowId: 1, columnId: "c", before: 3, after: 4 }]);
    expect(useEditHistory.getState().undo).toHaveLength(1);
    expect(useEditHistory.getState().tableId).toBe("t2");
  });
});
