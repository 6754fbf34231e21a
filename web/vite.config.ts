/// <reference types="vitest/config" />
// The studio and the local GraphiQL page are two entries of one build, so `weft` embeds both
// from one directory. `WEFT_WEB_OUT_DIR` lets `api/build.rs` build into Cargo's OUT_DIR, so no
// bundle is ever written into the source tree by a Rust build.
import { defineConfig } from "vite";
import react from "@vitejs/plugin-react";
import { resolve } from "node:path";

const backend = process.env.WEFT_DEV_BACKEND ?? "http://127.0.0.1:8080";

export default defineConfig({
  plugins: [react()],
  build: {
    outDir: process.env.WEFT_WEB_OUT_DIR ?? "dist",
    emptyOutDir: true,
    sourcemap: false,
    chunkSizeWarningLimit: 4096,
    rolldownOptions: {
      // GraphiQL's React Compiler directives ("use no memo") are dropped harmlessly by bundling.
      onLog(level, log, handler) {
        if (log.code === "MODULE_LEVEL_DIRECTIVE") return;
        handler(level, log);
      },
      input: {
        studio: resolve(import.meta.dirname, "index.html"),
        graphiql: resolve(import.meta.dirname, "graphiql.html"),
      },
    },
  },
  server: {
    proxy: {
      "/graphql/ws": { target: backend.replace(/^http/, "ws"), ws: true },
      "/graphql": { target: backend, bypass: (req) => (req.method === "GET" ? "/graphiql.html" : undefined) },
    },
  },
  test: {
    environment: "jsdom",
    include: ["src/**/*.test.{ts,tsx}"],
    setupFiles: ["src/test/setup.ts"],
  },
});
