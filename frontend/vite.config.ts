import tailwindcss from "@tailwindcss/vite";
import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

// The SPA is built into dist/public, which deploykitd serves with an index.html fallback.
export default defineConfig({
  root: import.meta.dirname,
  plugins: [react(), tailwindcss()],
  build: {
    outDir: "../dist/public",
    emptyOutDir: true,
    chunkSizeWarningLimit: 700,
  },
  server: {
    port: 5173,
    proxy: {
      "/api": { target: process.env.DEPLOYKIT_API_URL ?? "http://127.0.0.1:8080", ws: true, changeOrigin: false },
    },
  },
});
