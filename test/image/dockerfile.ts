/**
 * The Dockerfile and .dockerignore as the image tests read them: instructions and stages, ARG substitution,
 * COPY lines, Docker's ignore rules, and the repository's package.json and lock file they are checked
 * against.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../helpers/gateway.js';

/** The production install, exactly as the Dockerfile's deps stage must run it. */
export const INSTALL_COMMAND = 'npm ci --omit=dev --ignore-scripts --no-audit --no-fund';
/** Where the runtime base image keeps node (distroless: not on PATH). */
export const IMAGE_NODE = '/nodejs/bin/node';
/** The development dependencies that must never reach the image, named in case package.json loses them. */
export const NEVER_IN_IMAGE = ['typescript', 'tsx', 'oidc-provider', 'eslint', '@types/node', 'playwright-core'];

/** The fields of package.json the tests read. */
export interface PackageJson {
  name: string;
  version: string;
  description: string;
  license: string;
  bin: Record<string, string>;
  scripts: Record<string, string>;
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
}
/** One package of package-lock.json, as far as the tests read it. */
export interface LockEntry {
  version?: string;
  dev?: boolean;
  optional?: boolean;
  devOptional?: boolean;
  hasInstallScript?: boolean;
  os?: string[];
  cpu?: string[];
}
/** The repository's package.json. */
export const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as PackageJson;
/** The repository's package-lock.json. */
export const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, LockEntry> };

// ---- reading the Dockerfile -------------------------------------------------------------------------------

/** One instruction, continuation lines joined. */
export interface Instruction {
  keyword: string;
  args: string;
  line: number;
}
/** One FROM and what follows it. */
export interface Stage {
  name: string;
  base: string;
  platform: string | undefined;
  instructions: Instruction[];
}
/** A parsed Dockerfile: the ARGs before the first FROM, and the stages. */
export interface Dockerfile {
  globalArgs: Instruction[];
  stages: Stage[];
}

/** Splits the Dockerfile into instructions and stages (comments and parser directives dropped). */
export function parseDockerfile(text: string): Dockerfile {
  const instructions: Instruction[] = [];
  let buffer = '';
  let start = 0;
  text.split('\n').forEach((raw, index) => {
    const line = raw.trimEnd();
    // Docker drops comment lines and empty lines, also inside a continuation.
    if (/^\s*#/.test(line) || line.trim() === '') return;
    if (buffer === '') start = index + 1;
    if (line.endsWith('\\')) {
      buffer += `${line.slice(0, -1)} `;
      return;
    }
    buffer += line;
    const match = /^\s*(\S+)\s*([\s\S]*)$/.exec(buffer);
    assert.ok(match, `Dockerfile line ${start}: cannot read ${buffer}`);
    instructions.push({ keyword: match[1].toUpperCase(), args: match[2].trim(), line: start });
    buffer = '';
  });
  assert.equal(buffer, '', 'the Dockerfile ends inside a continuation line');

  const dockerfile: Dockerfile = { globalArgs: [], stages: [] };
  for (const instruction of instructions) {
    if (instruction.keyword === 'FROM') {
      const words = splitWords(instruction.args);
      const platform = words[0]?.startsWith('--platform=') ? words.shift()?.slice('--platform='.length) : undefined;
      const [base, as, name] = words;
      assert.ok(base, `Dockerfile line ${instruction.line}: FROM without an image`);
      if (as !== undefined) assert.equal(as.toUpperCase(), 'AS', `Dockerfile line ${instruction.line}`);
      dockerfile.stages.push({ name: name ?? String(dockerfile.stages.length), base, platform, instructions: [] });
    } else if (dockerfile.stages.length === 0) {
      assert.equal(instruction.keyword, 'ARG', `Dockerfile line ${instruction.line}: only ARG may come before the first FROM`);
      dockerfile.globalArgs.push(instruction);
    } else {
      dockerfile.stages[dockerfile.stages.length - 1].instructions.push(instruction);
    }
  }
  return dockerfile;
}

/** Shell-like words: whitespace separates, quotes group (and are removed), a backslash escapes. */
export function splitWords(text: string): string[] {
  const words: string[] = [];
  let word = '';
  let inWord = false;
  let quote: '"' | "'" | undefined;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quote) {
      if (c === quote) quote = undefined;
      else if (c === '\\' && quote === '"' && i + 1 < text.length) word += text[++i];
      else word += c;
    } else if (c === '"' || c === "'") {
      quote = c;
      inWord = true;
    } else if (c === '\\' && i + 1 < text.length) {
      word += text[++i];
      inWord = true;
    } else if (/\s/.test(c)) {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
    } else {
      word += c;
      inWord = true;
    }
  }
  assert.equal(quote, undefined, `unclosed quote in: ${text}`);
  if (inWord) words.push(word);
  return words;
}

/** `key=value` words as a map (LABEL, ENV, ARG). */
export function keyValues(text: string): Map<string, string | undefined> {
  const map = new Map<string, string | undefined>();
  for (const word of splitWords(text)) {
    const eq = word.indexOf('=');
    if (eq === -1) map.set(word, undefined);
    else map.set(word.slice(0, eq), word.slice(eq + 1));
  }
  return map;
}

/** Replaces `${NAME}` and `$NAME` with the values in `vars`. */
export function substitute(text: string, vars: Map<string, string | undefined>): string {
  return text.replace(/\$\{(\w+)\}|\$(\w+)/g, (_all, braced: string | undefined, bare: string | undefined) => vars.get((braced ?? bare) as string) ?? '');
}

/** The ARG values a stage sees: its own defaults, or for a bare `ARG NAME` the global default. */
export function stageArgs(dockerfile: Dockerfile, stage: Stage): Map<string, string | undefined> {
  const globals = new Map<string, string | undefined>();
  for (const arg of dockerfile.globalArgs) for (const [key, value] of keyValues(arg.args)) globals.set(key, value);
  const vars = new Map<string, string | undefined>();
  for (const arg of of(stage, 'ARG')) {
    for (const [key, value] of keyValues(arg.args)) vars.set(key, value ?? globals.get(key));
  }
  return vars;
}

/** Every instruction of one kind in a stage. */
export function of(stage: Stage, keyword: string): Instruction[] {
  return stage.instructions.filter((instruction) => instruction.keyword === keyword);
}

/** The one instruction of a kind (several of ENTRYPOINT/CMD/USER/HEALTHCHECK: the last one counts, so insist on one). */
export function only(stage: Stage, keyword: string): Instruction {
  const found = of(stage, keyword);
  assert.equal(found.length, 1, `the ${stage.name} stage needs exactly one ${keyword}, has ${found.length}`);
  return found[0];
}

/** An exec-form (JSON array) argument list. */
export function execForm(instruction: Instruction): string[] {
  assert.ok(instruction.args.startsWith('['), `Dockerfile line ${instruction.line}: ${instruction.keyword} must use the exec (JSON) form`);
  const parsed = JSON.parse(instruction.args) as unknown;
  assert.ok(Array.isArray(parsed) && parsed.every((part) => typeof part === 'string'), `Dockerfile line ${instruction.line}: not a list of strings`);
  return parsed;
}

/** A RUN's command without its BuildKit flags (--mount=..., --network=...), which change nothing the test replays. */
export function runCommand(instruction: Instruction): string {
  return instruction.args.replace(/^(?:--\S+\s+)+/, '').replace(/\s+/g, ' ').trim();
}

/** A COPY's parts. */
export interface Copy {
  from: string | undefined;
  sources: string[];
  dest: string;
  line: number;
}
/** A COPY instruction's flags, sources and destination. */
export function parseCopy(instruction: Instruction): Copy {
  assert.ok(!instruction.args.startsWith('['), `Dockerfile line ${instruction.line}: use the plain form of COPY`);
  const words = splitWords(instruction.args);
  let from: string | undefined;
  while (words[0]?.startsWith('--')) {
    const flag = words.shift() as string;
    if (flag.startsWith('--from=')) from = flag.slice('--from='.length);
    else assert.ok(/^--(chmod|chown|link)\b/.test(flag), `Dockerfile line ${instruction.line}: the test does not replay COPY ${flag}`);
  }
  const dest = words.pop();
  assert.ok(dest !== undefined && words.length > 0, `Dockerfile line ${instruction.line}: COPY needs a source and a destination`);
  return { from, sources: words, dest, line: instruction.line };
}

// ---- the repository's Dockerfile --------------------------------------------------------------------------

/** The Dockerfile's text. */
export const dockerfileText = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
/** The repository's Dockerfile, parsed. */
export const dockerfile = parseDockerfile(dockerfileText);
/** The Dockerfile's stages by name. */
export const stageByName = new Map(dockerfile.stages.map((stage) => [stage.name, stage]));
/** The last stage: the image that ships. */
export const runtime = dockerfile.stages[dockerfile.stages.length - 1];
/** The runtime stage's COPY lines. */
export const runtimeCopies = of(runtime, 'COPY').map(parseCopy);
/** The stage whose node_modules the runtime stage takes. */
export const depsStage = (() => {
  const copy = runtimeCopies.find((c) => c.from !== undefined && c.sources.some((source) => source.endsWith('/node_modules')));
  assert.ok(copy?.from, 'the runtime stage must COPY node_modules from an install stage');
  const stage = stageByName.get(copy.from);
  assert.ok(stage, `no stage named ${copy.from}`);
  return stage;
})();
