/// <reference types="vitest/config" />
import tailwindcss from "@tailwindcss/vite";
import react from "@vitejs/plugin-react";
import { fileURLToPath, URL } from "node:url";
import { defineConfig } from "vite";

// `npm run dev` proxies the API of a server you started (MORKET_API, default the `make run` port),
// so the dev server is same-origin like production and the refresh cookie works unchanged.
const api = process.env.MORKET_API ?? "http://127.0.0.1:8000";

export default defineConfig({
  plugins: [react(), tailwindcss()],
  resolve: { alias: { "@": fileURLToPath(new URL("./src", import.meta.url)) } },
  server: { proxy: { "/api": { target: api, changeOrigin: false } } },
  build: {
    sourcemap: false,
    chunkSizeWarningLimit: 1100,
    // Pages and dialogs are split by their dynamic imports (app/router.tsx, lib/lazy.ts). The big
    // libraries get chunks of their own, so a release that changes only the app's code leaves the
    // browser's cached copy of AG Grid (~1 MB) and React valid. bench/web.py prints the grid page's total.
    rolldownOptions: {
      output: {
        codeSplitting: {
          groups: [
            { name: "ag-grid", test: /node_modules[\\/](ag-grid-community|ag-grid-react|ag-stack)[\\/]/, priority: 1 },
            { name: "react", test: /node_modules[\\/](react|react-dom|scheduler|react-router|react-router-dom|cookie|set-cookie-parser)[\\/]/, priority: 2 },
          ],
        },
      },
    },
  },
  test: { environment: "jsdom", include: ["src/**/*.test.ts", "src/**/*.test.tsx"] },
});
