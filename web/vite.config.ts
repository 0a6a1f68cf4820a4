/// <reference types="vitest/config" />
import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

// The gateway serves `dist/` at `/` and proxies `/api/*`; in development Vite does the proxying.
const gateway = process.env.PARLEY_GATEWAY_URL ?? "http://127.0.0.1:8000";

export default defineConfig({
  plugins: [react()],
  build: {
    outDir: "dist",
    emptyOutDir: true,
    sourcemap: false,
    // Keep every asset a file: the CSP allows `data:` images but not `data:` fonts or scripts.
    assetsInlineLimit: 0,
    chunkSizeWarningLimit: 600,
  },
  server: {
    proxy: {
      "/api": { target: gateway, changeOrigin: false },
      "/.well-known": { target: gateway },
      "/dev/mail": { target: gateway },
    },
  },
  test: {
    environment: "jsdom",
    setupFiles: ["./src/test/setup.ts"],
    include: ["src/**/*.test.{ts,tsx}"],
    restoreMocks: true,
    unstubGlobals: true,
    testTimeout: 10_000,
  },
});
