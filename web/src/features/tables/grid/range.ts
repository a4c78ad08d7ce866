/** A rectangle of cells, by displayed row index and displayed column position. */
export interface CellPos {
  row: number;
  col: number;
}
export interface Range {
  top: number;
  bottom: number;
  left: number;
  right: number;
}

/**
 * AG Grid Community has no range selection, so the grid keeps its own: an anchor (where the
 * selection started) and a focus (the focused cell). Shift+arrows, shift+click and a mouse drag
 * move the focus and keep the anchor; anything else moves both.
 */
export function rangeOf(anchor: CellPos | null, focus: CellPos | null): Range | null {
  if (!focus) return null;
  const a = anchor ?? focus;
  return {
    top: Math.min(a.row, focus.row),
    bottom: Math.max(a.row, focus.row),
    left: Math.min(a.col, focus.col),
    right: Math.max(a.col, focus.col),
  };
}

export function inRange(range: Range | null, row: number, col: number): boolean {
  return range !== null && row >= range.top && row <= range.bottom && col >= range.left && col <= range.right;
}

export function rangeSize(range: Range | null): number {
  return range ? (range.bottom - range.top + 1) * (range.right - range.left + 1) : 0;
}

/**
 * Where a paste lands: a block copied from a spreadsheet goes from the range's top-left; a single
 * value pasted onto a larger range fills it (as Excel does).
 */
export function pasteTargets(range: Range, data: string[][]): { row: number; col: number; text: string }[] {
  const out: { row: number; col: number; text: string }[] = [];
  const single = data.length === 1 && data[0]?.length === 1;
  if (single) {
    const text = data[0]?.[0] ?? "";
    for (let r = range.top; r <= range.bottom; r++) for (let c = range.left; c <= range.right; c++) out.push({ row: r, col: c, text });
    return out;
  }
  data.forEach((cells, i) => cells.forEach((text, j) => out.push({ row: range.top + i, col: range.left + j, text })));
  return out;
}
