#!/usr/bin/env node
// The `openspine` command. OpenSpine runs on Node.js 24 (it runs the TypeScript sources directly);
// when started by an older Node, it hands over to the Node 24 that the `node` package installs.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const cli = fileURLToPath(new URL('../src/cli/main.ts', import.meta.url));
const major = Number(process.versions.node.split('.')[0]);

if (major >= 24) {
  await import(cli);
} else {
  const node24 = fileURLToPath(new URL('../node_modules/node/bin/node', import.meta.url));
  const child = spawn(node24, [cli, ...process.argv.slice(2)], { stdio: 'inherit' });
  child.on('error', () => {
    console.error(`openspine needs Node.js 24; run 'npm ci' in ${fileURLToPath(new URL('..', import.meta.url))} to install it`);
    process.exit(1);
  });
  for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal));
  child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
}
