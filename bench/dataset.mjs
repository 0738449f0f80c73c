// The folder the cache benchmark saves and restores: `files` files totalling
// `bytes` bytes, generated deterministically (AES-256-CTR keystream with a
// fixed key as the random source), so every run and every machine gets the
// same bytes. A mix, by size: ~40% random bytes (incompressible, like images
// or archives) and ~60% text of words drawn from a skewed vocabulary (like
// source files and package metadata), which zstd -3 compresses about 3×.
import { createCipheriv } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

class Random {
  constructor(seed) {
    const key = Buffer.alloc(32);
    key.write(seed);
    this.cipher = createCipheriv("aes-256-ctr", key, Buffer.alloc(16));
    this.pool = Buffer.alloc(0);
    this.at = 0;
  }

  bytes(n) {
    return this.cipher.update(Buffer.alloc(n));
  }

  /** Uniform integer in [0, 2^32). */
  u32() {
    if (this.at + 4 > this.pool.length) {
      this.pool = this.bytes(1 << 16);
      this.at = 0;
    }
    const v = this.pool.readUInt32LE(this.at);
    this.at += 4;
    return v;
  }

  /** Uniform in [0, 1). */
  float() {
    return this.u32() / 2 ** 32;
  }
}

const LETTERS = "etaoinshrdlucmfwypvbgkjqxz_";
const SYMBOLS = ["(", ")", "{", "}", ";", ",", ".", "=", ":", "\"", "=>", "0", "1", "42", "const", "return", "function", "import", "export", "if"];

function vocabulary(random, size) {
  const words = [];
  for (let i = 0; i < size; i++) {
    if (i < SYMBOLS.length) {
      words.push(SYMBOLS[i]);
      continue;
    }
    const length = 2 + (random.u32() % 11);
    let w = "";
    // Skewed letter choice (min of two draws) gives English-like letter frequencies.
    for (let j = 0; j < length; j++) w += LETTERS[Math.min(random.u32() % LETTERS.length, random.u32() % LETTERS.length)];
    words.push(w);
  }
  return words.map((w) => Buffer.from(w));
}

function textFile(random, words, size) {
  const out = Buffer.alloc(size);
  let at = 0;
  let column = 0;
  const draws = random.bytes(Math.ceil(size / 2) * 4 + 8);
  let d = 0;
  while (at < size) {
    // Skewed word choice: the smaller of two 12-bit draws (frequent words are frequent).
    const a = draws.readUInt16LE(d) & 0xfff;
    const b = draws.readUInt16LE(d + 2) & 0xfff;
    d = (d + 4) % (draws.length - 4);
    const word = words[Math.min(a, b) % words.length];
    at += word.copy(out, at);
    column += word.length + 1;
    if (at >= size) break;
    if (column > 60 + (a & 31)) {
      out[at++] = 0x0a;
      column = 0;
      for (let k = 0; k < (b & 3) * 2 && at < size; k++) out[at++] = 0x20;
    } else out[at++] = 0x20;
  }
  return out;
}

/** Writes the folder `<dir>/data`; returns {files, bytes, binaryBytes}. */
export function generateDataset(dir, { files, bytes, seed = "slipway-bench-v1" }) {
  const random = new Random(seed);
  const words = vocabulary(random, 4096);
  // File sizes: log-normal (a few large, many small), scaled to the total.
  const weights = Array.from({ length: files }, () => {
    const u = Math.max(random.float(), 1e-12);
    const v = random.float();
    return Math.exp(1.1 * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v));
  });
  const sum = weights.reduce((s, w) => s + w, 0);
  const sizes = weights.map((w) => Math.max(1, Math.floor((w / sum) * bytes)));
  sizes[sizes.length - 1] += bytes - sizes.reduce((s, n) => s + n, 0);

  const root = join(dir, "data");
  const perDir = 100;
  let binaryBytes = 0;
  for (let i = 0; i < files; i++) {
    const group = Math.floor(i / perDir);
    const sub = join(root, `p${String(Math.floor(group / 10)).padStart(3, "0")}`, `d${group % 10}`);
    if (i % perDir === 0) mkdirSync(sub, { recursive: true });
    const size = sizes[i];
    const binary = random.u32() % 10 < 4;
    const content = binary ? random.bytes(size) : textFile(random, words, size);
    if (binary) binaryBytes += size;
    writeFileSync(join(sub, `f${String(i).padStart(5, "0")}${binary ? ".bin" : ".txt"}`), content);
  }
  return { files, bytes, binaryBytes };
}
