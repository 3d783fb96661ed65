// Vite builds the UI into ui/dist, which the Tauri binary embeds (tauri.conf.json
// `build.frontendDist`). Everything the page loads is local: the CSP allows 'self' only.
import { defineConfig } from 'vite';
import { svelte } from '@sveltejs/vite-plugin-svelte';

export default defineConfig({
  plugins: [svelte()],
  clearScreen: false,
  server: { port: 1420, strictPort: true },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    // WebKitGTK 2.40+ and current WebView2/WKWebView all handle ES2022.
    target: 'es2022',
    // Inline `data:` assets are allowed for images only; keep everything else as files.
    assetsInlineLimit: 0,
  },
});
