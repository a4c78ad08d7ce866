import { Fragment } from "react";

/** Decode the HTML entities of an escaped text without ever parsing it as markup. */
function decode(text: string): string {
  return text
    .replace(/&lt;/g, "<")
    .replace(/&gt;/g, ">")
    .replace(/&quot;/g, '"')
    .replace(/&#x27;|&#39;/g, "'")
    .replace(/&amp;/g, "&");
}

/**
 * A snippet from the search API: HTML-escaped text with `<mark>` around matches. It is split on
 * the marks and rendered as React text (no innerHTML), so a cell's own markup can never run.
 */
function segments(html: string): { text: string; marked: boolean }[] {
  const found: { text: string; marked: boolean }[] = [];
  let marked = false;
  for (const part of html.split(/(<mark>|<\/mark>)/)) {
    if (part === "<mark>") marked = true;
    else if (part === "</mark>") marked = false;
    else if (part) found.push({ text: decode(part), marked });
  }
  return found;
}

export function Highlighted({ html, fallback }: { html: string | undefined; fallback?: string | null }) {
  if (!html) return <>{fallback ?? ""}</>;
  return (
    <>
      {segments(html).map(({ text, marked }, i) =>
        marked ? (
          <mark key={i} className="rounded-sm bg-amber-200/80 px-0.5 text-zinc-900">
            {text}
          </mark>
        ) : (
          <Fragment key={i}>{text}</Fragment>
        ),
      )}
    </>
  );
}
