#!/usr/bin/env node
// Thin shim: the CLI lives in dist/ (built from src/ by `npm run build`).
import '../dist/cli/main.js';
