import { lazy, type ComponentType, type LazyExoticComponent } from "react";

/**
 * A named export of a module loaded on first render, in its own chunk: `lazyNamed(() =>
 * import("./dialogs"), "AddColumnDialog")`. Render it inside a <Suspense>. Keeps what a screen
 * shows on first paint apart from what only a click opens (bench/web.py counts the difference).
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function lazyNamed<M extends Record<K, ComponentType<any>>, K extends keyof M>(load: () => Promise<M>, name: K): LazyExoticComponent<M[K]> {
  return lazy(() => load().then((m) => ({ default: m[name] })));
}
